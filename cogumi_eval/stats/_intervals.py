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
    subjects, 100 to 1,534 questions each) the CR1 variance is both too small and
    noisy, and a z test on it rejects about 3.5% of the time at a nominal 2.5%.
    CR2 (Bell and McCaffrey 2002) divides each cluster's squared sum by
    1 − n_c / n, the leverage of the cluster in a mean, which makes the variance
    unbiased when observations are independent; the t reference has the
    Satterthwaite degrees of freedom of that variance under the same working
    model (Imbens and Kolesár 2016; the default of R's clubSandwich,
    Pustejovsky and Tipton 2018):

        SE² = Σ_c (Σ_{i∈c} (s_i − s̄))² / (n² (1 − n_c / n))
        df  = n² / (Σ_c n_c² + ((Σ_c w_c n_c²)² − Σ_c w_c² n_c⁴) / n²),  w_c = 1 / (1 − n_c / n)

    With equal cluster sizes (epochs of one sample) both reduce to the usual
    CR1 variance with the factor C / (C − 1) and C − 1 degrees of freedom, which
    is what statsmodels' cluster-robust OLS reports with ``use_t=True``.

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
    sums = np.bincount(codes, weights=s - mean, minlength=count)
    weights = 1.0 / (1.0 - sizes / n)
    variance = float(np.dot(weights, sums * sums)) / (n * n)
    squared = sizes * sizes
    spread = (
        float(np.dot(weights, squared)) ** 2 - float(np.dot(weights * weights, squared * squared))
    ) / (n * n)
    df = n * n / (float(squared.sum()) + spread)
    return StandardError(
        se=math.sqrt(variance), mean=mean, n=n, clusters=count, method="clustered-cr2", df=df
    )


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
