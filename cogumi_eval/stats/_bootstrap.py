"""Paired bootstrap of the difference between two runs: seeded, vectorised, cluster-aware.

Resampling n units with replacement gives each unit a Multinomial(n, 1/n)
count. Units with the same value are interchangeable, so the counts of each
distinct value are Multinomial(n, share of that value): eval scores take few
distinct values (a paired 0/1 difference takes three), so one resample costs
O(distinct values) instead of O(n). The distribution is the ordinary
bootstrap's exactly; only the random stream differs. With many distinct values
the resampled indices are drawn in blocks instead.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._intervals import as_values, check_confidence, cluster_codes
from ._paired import ALTERNATIVES, z_statistic
from ._results import Alternative, ConfidenceInterval, TestResult

# above this many distinct (cluster sum, cluster size) pairs, index resampling is cheaper
_MULTINOMIAL_MAX_CATEGORIES = 256
# resamples per block of index resampling (bounds memory at block x clusters)
_INDEX_BLOCK_CELLS = 4_000_000

ResampleMethod = Literal["auto", "multinomial", "indices"]


def bootstrap_differences(
    differences: ArrayLike,
    *,
    clusters: Sequence[Hashable] | ArrayLike | None = None,
    resamples: int = 10_000,
    seed: int | None = 0,
    method: ResampleMethod = "auto",
) -> NDArray[np.float64]:
    """Bootstrap distribution of the mean of ``differences`` (clusters resampled whole).

    Args:
        differences: one paired difference per observation.
        clusters: optional cluster label per observation; whole clusters are resampled.
        resamples: number of bootstrap resamples.
        seed: seed of numpy's default generator (None: fresh entropy).
        method: "multinomial" (counts per distinct value), "indices" (resampled
            indices), or "auto" (multinomial when there are few distinct values).
    """
    d = as_values(differences, "differences")
    if d.size == 0:
        raise ValueError("bootstrap needs at least one paired observation")
    if resamples < 1:
        raise ValueError(f"resamples must be positive, got {resamples}")
    if clusters is None:
        sums, sizes = d, np.ones_like(d)
    else:
        codes = cluster_codes(clusters, d.size)
        sums = np.bincount(codes, weights=d).astype(np.float64)
        sizes = np.bincount(codes).astype(np.float64)
    rng = np.random.default_rng(seed)
    units = sums.size
    distinct, counts = np.unique(np.column_stack([sums, sizes]), axis=0, return_counts=True)
    if method == "auto":
        method = "multinomial" if len(distinct) <= _MULTINOMIAL_MAX_CATEGORIES else "indices"
    if method == "multinomial":
        draws = rng.multinomial(units, counts / units, size=resamples).astype(np.float64)
        return (draws @ distinct[:, 0]) / (draws @ distinct[:, 1])
    if method != "indices":
        raise ValueError(f"method must be 'auto', 'multinomial' or 'indices', got {method!r}")
    means = np.empty(resamples, dtype=np.float64)
    block = max(1, _INDEX_BLOCK_CELLS // units)
    for start in range(0, resamples, block):
        stop = min(resamples, start + block)
        index = rng.integers(0, units, size=(stop - start, units))
        means[start:stop] = sums[index].sum(axis=1) / sizes[index].sum(axis=1)
    return means


def paired_bootstrap(
    candidate: ArrayLike,
    baseline: ArrayLike,
    *,
    clusters: Sequence[Hashable] | ArrayLike | None = None,
    null: float = 0.0,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int | None = 0,
    method: ResampleMethod = "auto",
) -> TestResult:
    """Paired percentile bootstrap of candidate − baseline for any per-sample metric.

    Works for every metric that is a mean of per-sample values: accuracy (0/1),
    tie or win rate (verdict indicators), preference score (win 1, tie ½, loss 0),
    pass@k estimates, consistency. The p-value inverts the percentile interval:
    for ``greater`` it is (1 + #{δ* ≤ null}) / (B + 1), so it is never below
    1 / (B + 1); ``less`` mirrors it and ``two-sided`` doubles the smaller tail.

    Args:
        candidate: candidate values, one per paired observation.
        baseline: baseline values on the same observations, same order.
        clusters: optional cluster label per observation (resampled whole).
        null: difference under H0 (``-margin`` for a non-inferiority margin).
        alternative: "two-sided", "greater" (H1: difference > null) or "less".
        confidence: level of the two-sided percentile interval.
        resamples: bootstrap resamples B.
        seed: seed for numpy's default generator; the same seed gives the same result.
        method: resampling implementation (see ``bootstrap_differences``).
    """
    check_confidence(confidence)
    c = as_values(candidate, "candidate")
    b = as_values(baseline, "baseline")
    if c.shape != b.shape:
        raise ValueError(f"candidate has {c.size} values, baseline {b.size}: pair them first")
    d = c - b
    deltas = bootstrap_differences(d, clusters=clusters, resamples=resamples, seed=seed, method=method)
    estimate = float(d.mean())
    at_or_below = int(np.count_nonzero(deltas <= null))
    at_or_above = int(np.count_nonzero(deltas >= null))
    p_greater = (1 + at_or_below) / (resamples + 1)
    p_less = (1 + at_or_above) / (resamples + 1)
    if alternative == "greater":
        pvalue = p_greater
    elif alternative == "less":
        pvalue = p_less
    elif alternative == "two-sided":
        pvalue = min(1.0, 2.0 * min(p_greater, p_less))
    else:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(deltas, [tail, 1.0 - tail])
    se = float(deltas.std(ddof=1)) if resamples > 1 else 0.0
    return TestResult(
        test="paired-bootstrap",
        estimate=estimate,
        se=se,
        interval=ConfidenceInterval(float(low), float(high), confidence),
        statistic=z_statistic(estimate - null, se),
        pvalue=pvalue,
        alternative=alternative,
        null=null,
        n=int(d.size),
        details={
            "resamples": resamples,
            "seed": seed,
            "candidate_mean": float(c.mean()),
            "baseline_mean": float(b.mean()),
            "interval_method": "percentile",
            "pvalue_greater": p_greater,
            "pvalue_less": p_less,
        },
    )
