"""Paired bootstrap: exact bootstrap moments and tails within stated Monte-Carlo error.

Tolerances: with B resamples, a bootstrap tail probability p has Monte-Carlo
SE sqrt(p(1-p)/B) and the bootstrap SE has relative MC error about 1/sqrt(2B);
the tests allow 4 Monte-Carlo standard errors.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from cogumi_eval.stats import (
    bias_reduced_stderr,
    bootstrap_differences,
    paired_bootstrap,
    paired_difference,
    wild_cluster_t,
)

B = 20_000


def _runs(n: int, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    baseline = (rng.random(n) < 0.7).astype(float)
    candidate = np.where(rng.random(n) < 0.8, baseline, 1 - baseline)
    return candidate, baseline


@pytest.mark.parametrize("method", ["multinomial", "indices"])
def test_bootstrap_stderr_matches_the_exact_bootstrap_stderr(method: str) -> None:
    candidate, baseline = _runs(300)
    d = candidate - baseline
    exact = math.sqrt(d.var(ddof=0) / d.size)  # the bootstrap distribution's own SE
    result = paired_bootstrap(candidate, baseline, resamples=B, method=method)  # type: ignore[arg-type]
    assert result.se == pytest.approx(exact, rel=4 / math.sqrt(2 * B))


def _exact_tail(d: np.ndarray, threshold: float) -> float:
    """P(mean of a bootstrap resample <= threshold), by enumerating multinomial counts."""
    values, counts = np.unique(d, return_counts=True)
    n = d.size
    probabilities = counts / n
    total = 0.0
    for split in itertools.product(range(n + 1), repeat=len(values) - 1):
        last = n - sum(split)
        if last < 0:
            continue
        k = (*split, last)
        if np.dot(k, values) / n <= threshold + 1e-12:
            total += scipy_stats.multinomial.pmf(k, n, probabilities)
    return total


@pytest.mark.parametrize("method", ["multinomial", "indices"])
def test_bootstrap_pvalue_matches_the_exact_bootstrap_tail(method: str) -> None:
    candidate, baseline = _runs(14, seed=9)
    exact = _exact_tail(candidate - baseline, -0.1)
    result = paired_bootstrap(
        candidate, baseline, null=-0.1, alternative="greater", resamples=B, method=method
    )  # type: ignore[arg-type]
    assert result.pvalue == pytest.approx(exact, abs=4 * math.sqrt(exact * (1 - exact) / B) + 1 / B)


def test_bootstrap_interval_agrees_with_scipy_paired_percentile_bootstrap() -> None:
    candidate, baseline = _runs(400)
    reference = scipy_stats.bootstrap(
        (candidate, baseline),
        lambda c, b, axis: np.mean(c, axis=axis) - np.mean(b, axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=B,
        method="percentile",
        random_state=np.random.default_rng(1),
    ).confidence_interval
    result = paired_bootstrap(candidate, baseline, resamples=B)
    # the bootstrap mean lives on a 1/n grid; MC error of a 2.5% quantile is about one grid step
    assert result.interval.low == pytest.approx(reference.low, abs=2.5 / 400)
    assert result.interval.high == pytest.approx(reference.high, abs=2.5 / 400)


def test_same_seed_gives_the_same_result_and_another_seed_differs() -> None:
    candidate, baseline = _runs(200)
    first = paired_bootstrap(candidate, baseline, seed=7, resamples=2000)
    again = paired_bootstrap(candidate, baseline, seed=7, resamples=2000)
    other = paired_bootstrap(candidate, baseline, seed=8, resamples=2000)
    assert first == again
    assert first.se != other.se


def test_cluster_bootstrap_paths_agree_and_exceed_the_unit_bootstrap_for_correlated_clusters() -> (
    None
):
    rng = np.random.default_rng(12)
    cluster = np.repeat(np.arange(30), 10)
    shift = rng.normal(0, 0.4, 30)[cluster]  # a shared per-cluster change in the candidate
    baseline = (rng.random(300) < 0.6).astype(float)
    candidate = ((rng.random(300) + shift) < 0.6).astype(float)
    d = candidate - baseline
    multinomial = bootstrap_differences(d, clusters=cluster, resamples=B, method="multinomial").std(
        ddof=1
    )
    indices = bootstrap_differences(d, clusters=cluster, resamples=B, method="indices").std(ddof=1)
    units = bootstrap_differences(d, resamples=B).std(ddof=1)
    assert multinomial == pytest.approx(indices, rel=8 / math.sqrt(2 * B))
    assert multinomial > 1.2 * units


def test_bootstrap_works_for_a_tie_rate_from_verdict_indicators() -> None:
    baseline = np.array(["tie"] * 70 + ["win"] * 20 + ["loss"] * 10)
    candidate = np.array(["tie"] * 28 + ["win"] * 12 + ["loss"] * 60)
    result = paired_bootstrap(
        (candidate == "tie").astype(float),
        (baseline == "tie").astype(float),
        alternative="less",
        null=-0.05,
    )
    assert result.estimate == pytest.approx(-0.42)
    assert result.pvalue == pytest.approx(1 / (10_000 + 1))


def _clustered_runs(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    clusters = np.repeat(np.arange(6), [4, 6, 9, 12, 20, 30])
    baseline = (rng.random(clusters.size) < 0.6).astype(float)
    candidate = np.where(rng.random(clusters.size) < 0.75, baseline, 1 - baseline)
    return candidate, baseline, clusters


def _exact_wild_t(d: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """The statistic under every one of the 2^C sign patterns, from resampled data itself."""
    labels = np.unique(clusters)
    residual = d - d.mean()
    values = []
    for signs in itertools.product((-1.0, 1.0), repeat=labels.size):
        flipped = d.mean() + residual * np.array(signs)[np.searchsorted(labels, clusters)]
        se = bias_reduced_stderr(flipped, clusters).se
        values.append((flipped.mean() - d.mean()) / se if se > 0 else 0.0)
    return np.array(values)


def test_wild_cluster_t_matches_the_enumeration_of_all_sign_patterns() -> None:
    candidate, baseline, clusters = _clustered_runs()
    d = candidate - baseline
    exact = _exact_wild_t(d, clusters)
    drawn = wild_cluster_t(d, clusters, resamples=B, seed=1)
    for threshold in (-1.5, -0.5, 0.0, 1.0):
        share = float(np.mean(exact <= threshold + 1e-12))
        assert np.mean(drawn <= threshold + 1e-12) == pytest.approx(
            share, abs=4 * math.sqrt(share * (1 - share) / B) + 1e-9
        )


def test_clustered_bootstrap_pvalues_invert_its_bootstrap_t_interval() -> None:
    candidate, baseline, clusters = _clustered_runs(seed=5)
    first = paired_bootstrap(candidate, baseline, clusters=clusters, resamples=4000, seed=2)
    assert (
        first.test == "wild-cluster-bootstrap-t"
        and first.details["interval_method"] == "bootstrap-t, at least the t interval"
    )
    tail = (1 - first.interval.level) / 2
    below = paired_bootstrap(
        candidate,
        baseline,
        clusters=clusters,
        null=first.interval.low - 1e-6,
        resamples=4000,
        seed=2,
    )
    above = paired_bootstrap(
        candidate,
        baseline,
        clusters=clusters,
        null=first.interval.low + 1e-3,
        resamples=4000,
        seed=2,
    )
    assert below.details["pvalue_greater"] <= tail + 1 / 4001 < above.details["pvalue_greater"]


def test_clustered_bootstrap_studentizes_with_the_cr2_stderr() -> None:
    candidate, baseline, clusters = _clustered_runs(seed=7)
    result = paired_bootstrap(candidate, baseline, clusters=clusters, null=-0.1, resamples=1000)
    cr2 = bias_reduced_stderr(candidate - baseline, clusters)
    assert result.se == pytest.approx(cr2.se, abs=1e-12)
    assert result.statistic == pytest.approx((result.estimate + 0.1) / cr2.se, abs=1e-12)


@pytest.mark.parametrize("null", [-0.2, -0.05, 0.0, 0.05])
def test_clustered_bootstrap_is_never_lighter_tailed_than_the_cr2_t_test(null: float) -> None:
    candidate, baseline, clusters = _clustered_runs(seed=11)
    boot = paired_bootstrap(
        candidate, baseline, clusters=clusters, null=null, alternative="less", resamples=2000
    )
    t = paired_difference(candidate, baseline, clusters=clusters, null=null, alternative="less")
    assert boot.pvalue >= t.pvalue
    assert boot.interval.low <= t.interval.low and boot.interval.high >= t.interval.high
