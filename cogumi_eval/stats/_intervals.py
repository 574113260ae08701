"""Intervals for one run: Wilson for proportions, CLT (optionally clustered) for means.

Clustered standard errors follow Miller (2024, "Adding Error Bars to Evals",
appendix A) with the finite-cluster factor C / (C - 1) that Inspect's
``stderr(cluster=...)`` and statsmodels' cluster-robust OLS covariance both use.
Paired tests on clustered data use the bias-reduced (CR2) variance and a t
reference instead (``bias_reduced_stderr``): that is what holds their error rate.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as _scipy_stats

from ._results import ConfidenceInterval, Estimate, StandardError


def z_critical(confidence: float) -> float:
    """The two-sided normal critical value for ``confidence`` (1.959963... for 0.95)."""
    check_confidence(confidence)
    return float(_scipy_stats.norm.isf((1.0 - confidence) / 2.0))


def check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def as_values(values: ArrayLike, name: str = "values") -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values; drop unscored samples first")
    return array


def cluster_codes(clusters: Sequence[Hashable] | ArrayLike, n: int) -> NDArray[np.intp]:
    """Integer codes 0..C-1 for cluster labels (any hashable), in order of first appearance."""
    labels: list[Hashable] = list(clusters)  # type: ignore[arg-type]
    if len(labels) != n:
        raise ValueError(f"clusters has {len(labels)} labels for {n} values")
    index: dict[Hashable, int] = {}
    codes = np.empty(n, dtype=np.intp)
    for i, label in enumerate(labels):
        if label is None or (isinstance(label, float) and math.isnan(label)):
            raise ValueError(f"cluster label of observation {i} is missing")
        codes[i] = index.setdefault(label, len(index))
    return codes


def clustered_stderr(
    values: ArrayLike,
    clusters: Sequence[Hashable] | ArrayLike,
    *,
    correction: bool = True,
) -> StandardError:
    """Cluster-robust standard error of the mean of ``values``.

    SE² = Σ_c (Σ_{i∈c} (s_i − s̄))² / n², times C / (C − 1) when ``correction``.

    Args:
        values: one score per observation.
        clusters: a cluster label per observation (sample id for epochs, MMLU subject...).
        correction: apply the finite-cluster factor C / (C − 1) (Inspect, statsmodels);
            False gives Miller's formula as printed.
    """
    s = as_values(values)
    n = s.size
    codes = cluster_codes(clusters, n)
    count = int(codes.max()) + 1 if n else 0
    if n == 0:
        raise ValueError("clustered_stderr needs at least one value")
    mean = float(s.mean())
    sums = np.bincount(codes, weights=s - mean, minlength=count)
    variance = float(np.dot(sums, sums)) / (n * n)
    if correction:
        if count < 2:
            raise ValueError("a clustered standard error needs at least two clusters")
        variance *= count / (count - 1)
    return StandardError(se=math.sqrt(variance), mean=mean, n=n, clusters=count, method="clustered")


def bias_reduced_stderr(
    values: ArrayLike, clusters: Sequence[Hashable] | ArrayLike
) -> StandardError:
    """Bias-reduced (CR2) cluster-robust standard error of a mean, with its t degrees of freedom.

    Why not CR1 with a normal reference: with few or unequal clusters (MMLU's 57
    subjects, 100 to 1,534 questions each) the CR1 variance is too small and so
    noisy that a z test on it false-fails 3-4.5% at a nominal 2.5% when the
    candidate's change varies between subjects (``benchmarks/calibration.py``).
    CR2 (Bell and McCaffrey 2002) divides each cluster's squared sum by
    1 − n_c / n, the cluster's leverage in a mean:

        SE² = Σ_c (Σ_{i∈c} (s_i − s̄))² / (n² (1 − n_c / n))

    and the t reference takes the Satterthwaite degrees of freedom of that
    variance (Bell and McCaffrey's; Imbens and Kolesár 2016) under a working
    model with a random cluster effect — within-cluster variance σ² and
    between-cluster variance τ², both estimated by one-way ANOVA (τ² ≥ 0) — as
    Imbens and Kolesár recommend: when a few large clusters carry most of the
    variance, the variance estimate has about as many degrees of freedom as
    there are such clusters, not C − 1. With equal cluster sizes (epochs of one
    sample) the variance is the CR1 one with the factor C / (C − 1) and the
    degrees of freedom are C − 1 whatever σ² and τ², which is statsmodels'
    cluster-robust t test (``use_t=True``).

    Args:
        values: one score per observation.
        clusters: a cluster label per observation.
    """
    s = as_values(values)
    n = s.size
    if n == 0:
        raise ValueError("bias_reduced_stderr needs at least one value")
    codes = cluster_codes(clusters, n)
    count = int(codes.max()) + 1
    if count < 2:
        raise ValueError("a clustered standard error needs at least two clusters")
    mean = float(s.mean())
    sizes = np.bincount(codes, minlength=count).astype(np.float64)
    sums = np.bincount(codes, weights=s - mean, minlength=count).astype(np.float64)
    weights = 1.0 / (1.0 - sizes / n)
    variance = float(np.dot(weights, sums * sums)) / (n * n)
    within, between = _variance_components(s, codes, sizes, sums)
    return StandardError(
        se=math.sqrt(variance),
        mean=mean,
        n=n,
        clusters=count,
        method="clustered-cr2",
        df=_satterthwaite_df(sizes, weights, within, between),
    )


def _variance_components(
    s: NDArray[np.float64],
    codes: NDArray[np.intp],
    sizes: NDArray[np.float64],
    sums: NDArray[np.float64],
) -> tuple[float, float]:
    """One-way ANOVA estimates of the within- and between-cluster variances (the latter ≥ 0)."""
    n, count = float(s.size), sizes.size
    cluster_means = sums / sizes  # deviations of each cluster's mean from the grand mean
    within_ss = float(np.sum((s - s.mean() - cluster_means[codes]) ** 2))
    within = within_ss / (n - count) if n > count else 0.0
    between_ms = float(np.dot(sizes, cluster_means * cluster_means)) / (count - 1)
    typical_size = (n - float(np.dot(sizes, sizes)) / n) / (count - 1)
    return within, max(0.0, (between_ms - within) / typical_size)


def _satterthwaite_df(
    sizes: NDArray[np.float64], weights: NDArray[np.float64], within: float, between: float
) -> float:
    """Degrees of freedom (tr B)² / tr(B²) of the CR2 variance of a mean, B = W A.

    A_cd = a_c' Ω a_d with a_c = (I − 11'/n) 1_c and Ω = σ² I + τ² (cluster blocks of ones):
    A = σ² G + τ² G², G = diag(n_c) − n n' / n, which is a diagonal plus a rank-two matrix,
    so both traces take O(C) work.
    """
    n = float(sizes.sum())
    squared = sizes * sizes
    total_squared = float(squared.sum())
    diagonal = within * sizes + between * squared
    # A = diag(diagonal) + U M U' with U = [n_c, n_c²]
    m00 = -within / n + between * total_squared / (n * n)
    m01 = -between / n
    low_rank_diagonal = m00 * squared + 2.0 * m01 * squared * sizes
    trace = float(np.dot(weights, diagonal + low_rank_diagonal))
    w2 = weights * weights
    u = np.array(
        [
            [np.dot(weights, squared), np.dot(weights, squared * sizes)],
            [np.dot(weights, squared * sizes), np.dot(weights, squared * squared)],
        ]
    )
    m = np.array([[m00, m01], [m01, 0.0]])
    mq = m @ u
    trace_squared = (
        float(np.dot(w2, diagonal * diagonal))
        + 2.0 * float(np.dot(w2, diagonal * low_rank_diagonal))
        + float(np.trace(mq @ mq))
    )
    if trace_squared <= 0.0:
        return float(sizes.size - 1)
    return trace * trace / trace_squared


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> Estimate:
    """Wilson score interval for a binomial proportion (inverts the score test).

    Args:
        successes: number of successes (correct answers, ties...).
        n: number of trials.
        confidence: two-sided confidence level.
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, {n}], got {successes}")
    z = z_critical(confidence)
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    center = (p + z2 / (2.0 * n)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denominator
    return Estimate(
        estimate=p,
        se=math.sqrt(p * (1.0 - p) / n),
        interval=ConfidenceInterval(center - half, center + half, confidence),
        n=n,
        method="wilson",
    )


def clt_interval(
    values: ArrayLike,
    *,
    clusters: Sequence[Hashable] | ArrayLike | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Normal-approximation interval for a mean: mean ± z · SE.

    Args:
        values: one score per observation.
        clusters: optional cluster label per observation; the SE is then clustered.
        confidence: two-sided confidence level.
    """
    s = as_values(values)
    if s.size < 2:
        raise ValueError("a CLT interval needs at least two values")
    z = z_critical(confidence)
    if clusters is None:
        mean = float(s.mean())
        se = float(s.std(ddof=1)) / math.sqrt(s.size)
        method, count = "clt", None
    else:
        clustered = clustered_stderr(s, clusters)
        mean, se, count = clustered.mean, clustered.se, clustered.clusters
        method = "clt-clustered"
    return Estimate(
        estimate=mean,
        se=se,
        interval=ConfidenceInterval(mean - z * se, mean + z * se, confidence),
        n=int(s.size),
        method=method,
        clusters=count,
    )
