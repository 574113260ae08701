"""Wilson, CLT and clustered intervals agree with statsmodels and Inspect to 1e-9."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from inspect_ai.scorer import SampleScore, Score, stderr
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from cogumi_eval.stats import bias_reduced_stderr, clt_interval, clustered_stderr, wilson_interval

TOL = 1e-9


@pytest.mark.parametrize(
    "successes,n", [(0, 10), (7, 10), (10, 10), (70, 100), (1, 1319), (9876, 14042)]
)
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_statsmodels(successes: int, n: int, confidence: float) -> None:
    low, high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    result = wilson_interval(successes, n, confidence=confidence)
    assert result.interval.low == pytest.approx(low, abs=TOL)
    assert result.interval.high == pytest.approx(high, abs=TOL)
    assert result.estimate == successes / n
    assert result.method == "wilson"


def test_clt_interval_matches_statsmodels_zconfint() -> None:
    values = np.random.default_rng(3).random(57)
    low, high = DescrStatsW(values).zconfint_mean(alpha=0.05)
    result = clt_interval(values)
    assert (result.interval.low, result.interval.high) == pytest.approx((low, high), abs=TOL)
    assert result.se == pytest.approx(values.std(ddof=1) / np.sqrt(values.size), abs=TOL)


def _clustered_data(seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    clusters = rng.integers(0, 12, size=300)
    # a per-cluster difficulty makes the scores correlated within a cluster
    difficulty = rng.random(12)
    values = (rng.random(300) < difficulty[clusters]).astype(float)
    return values, clusters


def test_clustered_stderr_matches_statsmodels_cluster_robust_ols() -> None:
    values, clusters = _clustered_data()
    fit = sm.OLS(values, np.ones_like(values)).fit(
        cov_type="cluster", cov_kwds={"groups": clusters}
    )
    assert clustered_stderr(values, clusters).se == pytest.approx(float(fit.bse[0]), abs=TOL)


def test_clustered_stderr_matches_inspect_stderr_cluster() -> None:
    values, clusters = _clustered_data(seed=8)
    scores = [
        SampleScore(score=Score(value=float(v)), sample_id=i, sample_metadata={"subject": int(c)})
        for i, (v, c) in enumerate(zip(values, clusters, strict=True))
    ]
    inspect_se = stderr(cluster="subject")(scores)
    assert clustered_stderr(values, clusters).se == pytest.approx(float(inspect_se), abs=TOL)


def test_clustered_stderr_without_correction_is_millers_double_sum() -> None:
    values, clusters = _clustered_data(seed=11)
    n, mean = values.size, values.mean()
    clt_part = np.sum((values - mean) ** 2) / n**2
    cross = (
        sum(
            (values[i] - mean) * (values[j] - mean)
            for i in range(n)
            for j in range(n)
            if i != j and clusters[i] == clusters[j]
        )
        / n**2
    )
    miller = np.sqrt(clt_part + cross)
    assert clustered_stderr(values, clusters, correction=False).se == pytest.approx(miller, abs=TOL)


def test_clustering_by_singleton_clusters_equals_the_plain_clt_stderr() -> None:
    values = np.random.default_rng(2).random(40)
    clustered = clustered_stderr(values, list(range(40))).se
    assert clustered == pytest.approx(values.std(ddof=1) / np.sqrt(40), abs=TOL)


def test_clt_interval_with_clusters_is_wider_when_clusters_correlate() -> None:
    values, clusters = _clustered_data()
    plain = clt_interval(values)
    clustered = clt_interval(values, clusters=clusters)
    assert clustered.method == "clt-clustered" and clustered.clusters == 12
    assert clustered.se > plain.se


def test_missing_cluster_label_is_an_error_naming_the_observation() -> None:
    with pytest.raises(ValueError, match="observation 1"):
        clustered_stderr([1.0, 0.0, 1.0], ["a", None, "b"])


def _variance_components(values: np.ndarray, clusters: np.ndarray) -> tuple[float, float]:
    """Textbook one-way ANOVA: sigma^2 = MSW, tau^2 = max(0, (MSB - MSW) / n0)."""
    labels = np.unique(clusters)
    groups = [values[clusters == label] for label in labels]
    n, k = values.size, labels.size
    msw = sum(float(((g - g.mean()) ** 2).sum()) for g in groups) / (n - k)
    msb = sum(g.size * (g.mean() - values.mean()) ** 2 for g in groups) / (k - 1)
    n0 = (n - sum(g.size**2 for g in groups) / n) / (k - 1)
    return msw, max(0.0, (msb - msw) / n0)


def _cr2_by_matrices(values: np.ndarray, clusters: np.ndarray) -> tuple[float, float]:
    """CR2 SE and Bell-McCaffrey df of a mean, written with n x n matrices as Imbens & Kolesar do.

    Regression on a constant: H = 11'/n, A_c = (I - H_cc)^(-1/2), V = sum_c (X_c' A_c u_c)^2 / n^2;
    column c of C is (I - H)[:, c] A_c X_c / n, and df = (tr C' O C)^2 / tr((C' O C)^2) with the
    working covariance O = sigma^2 I + tau^2 (1 within a cluster), both estimated by ANOVA.
    """
    n = values.size
    x = np.ones(n)
    residuals = values - values.mean()
    hat = np.full((n, n), 1.0 / n)
    within, between = _variance_components(values, clusters)
    omega = within * np.eye(n) + between * (clusters[:, None] == clusters[None, :])
    columns, variance = [], 0.0
    for label in np.unique(clusters):
        rows = np.flatnonzero(clusters == label)
        eigenvalues, vectors = np.linalg.eigh(np.eye(rows.size) - hat[np.ix_(rows, rows)])
        adjust = vectors @ np.diag(eigenvalues**-0.5) @ vectors.T
        variance += float(x[rows] @ adjust @ residuals[rows]) ** 2 / n**2
        columns.append((np.eye(n) - hat)[:, rows] @ adjust @ x[rows] / n)
    c = np.array(columns).T
    gram = c.T @ omega @ c
    return float(np.sqrt(variance)), float(np.trace(gram) ** 2 / np.trace(gram @ gram))


@pytest.mark.parametrize("between_sd", [0.0, 0.3])
def test_bias_reduced_stderr_and_df_match_the_matrix_definitions_for_unequal_clusters(
    between_sd: float,
) -> None:
    rng = np.random.default_rng(21)
    clusters = np.repeat(np.arange(7), [3, 5, 8, 13, 21, 34, 40])
    values = rng.random(clusters.size) + between_sd * rng.normal(size=7)[clusters]
    se, df = _cr2_by_matrices(values, clusters)
    result = bias_reduced_stderr(values, clusters)
    assert result.se == pytest.approx(se, abs=TOL)
    assert result.df == pytest.approx(df, rel=1e-9)
    assert result.method == "clustered-cr2" and result.clusters == 7


def test_bias_reduced_stderr_equals_cr1_with_g_minus_1_df_for_equal_clusters() -> None:
    clusters = np.repeat(np.arange(30), 4)
    rng = np.random.default_rng(4)
    values = rng.random(120) + rng.normal(size=30)[clusters]  # df stays C - 1 with a cluster effect
    result = bias_reduced_stderr(values, clusters)
    assert result.se == pytest.approx(clustered_stderr(values, clusters).se, abs=TOL)
    assert result.df == pytest.approx(29, abs=TOL)


def test_a_dominant_cluster_leaves_few_degrees_of_freedom() -> None:
    clusters = np.repeat(np.arange(10), [1000] + [10] * 9)
    result = bias_reduced_stderr(np.random.default_rng(1).random(clusters.size), clusters)
    assert result.df is not None and 1.0 < result.df < 3.0
