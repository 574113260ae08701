"""Paired comparison of two runs on the same samples: Miller's paired difference and McNemar.

Pairing is what makes small regressions visible: the variance of the
difference is var(a) + var(b) − 2 cov(a, b), far below the unpaired
var(a) + var(b) when two checkpoints agree on most questions.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as _scipy_stats

from ._intervals import as_values, bias_reduced_stderr, z_critical
from ._results import Alternative, ConfidenceInterval, TestResult

ALTERNATIVES: tuple[Alternative, ...] = ("two-sided", "greater", "less")


def z_pvalue(statistic: float, alternative: Alternative) -> float:
    """P-value of a standard-normal statistic (``greater``: H1 is a positive shift)."""
    if alternative == "greater":
        return float(_scipy_stats.norm.sf(statistic))
    if alternative == "less":
        return float(_scipy_stats.norm.cdf(statistic))
    if alternative == "two-sided":
        return float(min(1.0, 2.0 * _scipy_stats.norm.sf(abs(statistic))))
    raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")


def t_pvalue(statistic: float, df: float, alternative: Alternative) -> float:
    """P-value of a Student t statistic with ``df`` degrees of freedom (any positive real)."""
    if alternative == "greater":
        return float(_scipy_stats.t.sf(statistic, df))
    if alternative == "less":
        return float(_scipy_stats.t.cdf(statistic, df))
    if alternative == "two-sided":
        return float(min(1.0, 2.0 * _scipy_stats.t.sf(abs(statistic), df)))
    raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")


def z_statistic(shift: float, se: float) -> float:
    """``shift / se``, with a zero standard error read as certainty rather than NaN."""
    if se > 0:
        return shift / se
    return 0.0 if shift == 0 else math.copysign(math.inf, shift)


def _pair(
    candidate: ArrayLike, baseline: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    c = as_values(candidate, "candidate")
    b = as_values(baseline, "baseline")
    if c.shape != b.shape:
        raise ValueError(
            "paired runs need one value per shared sample: "
            f"candidate has {c.size}, baseline {b.size}"
        )
    if c.size < 2:
        raise ValueError(f"a paired comparison needs at least two pairs, got {c.size}")
    return c, b


def paired_difference(
    candidate: ArrayLike,
    baseline: ArrayLike,
    *,
    clusters: Sequence[Hashable] | ArrayLike | None = None,
    null: float = 0.0,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
) -> TestResult:
    """Mean paired difference (candidate − baseline) with its standard error and test.

    Unclustered: SE = sd(d) / √n with d_i = candidate_i − baseline_i (Miller 2024,
    §4) and a z test. With ``clusters`` (epochs of one sample, questions of one
    subject): the bias-reduced cluster-robust SE of d (CR2) and a t test with its
    Satterthwaite degrees of freedom (``bias_reduced_stderr``); the interval uses
    the same t quantile. A z test on the CR1 SE over-rejects with few or unequal
    clusters: 3.1-4.4% instead of 2.5% one-sided for MMLU's 57 subjects when the
    candidate's change varies between subjects; this test 1.2-2.7% (two runs of
    ``benchmarks/calibration.py``).

    Args:
        candidate: candidate scores, one per paired observation.
        baseline: baseline scores on the same observations, same order.
        clusters: optional cluster label per observation.
        null: the difference under H0; ``null=-margin`` with ``alternative="greater"``
            is a non-inferiority test, with ``"less"`` a test for a drop beyond the margin.
        alternative: "two-sided", "greater" (H1: difference > null) or "less".
        confidence: level of the two-sided interval.
    """
    c, b = _pair(candidate, baseline)
    d = c - b
    n = int(d.size)
    z = z_critical(confidence)
    df: float | None = None
    if clusters is None:
        se = float(d.std(ddof=1)) / math.sqrt(n)
        cluster_count = n
        critical = z
    else:
        clustered = bias_reduced_stderr(d, clusters)
        se, cluster_count, df = clustered.se, clustered.clusters, clustered.df
        assert df is not None
        critical = float(_scipy_stats.t.isf((1.0 - confidence) / 2.0, df))
    estimate = float(d.mean())
    statistic = z_statistic(estimate - null, se)
    pvalue = (
        z_pvalue(statistic, alternative) if df is None else t_pvalue(statistic, df, alternative)
    )
    unpaired_se = math.sqrt((c.var(ddof=1) + b.var(ddof=1)) / n)
    correlation = _correlation(c, b)
    return TestResult(
        test="paired-z" if clusters is None else "paired-t-clustered",
        estimate=estimate,
        se=se,
        interval=ConfidenceInterval(estimate - critical * se, estimate + critical * se, confidence),
        statistic=statistic,
        pvalue=pvalue,
        alternative=alternative,
        null=null,
        n=n,
        details={
            "candidate_mean": float(c.mean()),
            "baseline_mean": float(b.mean()),
            "unpaired_se": unpaired_se,
            "correlation": correlation,
            "clusters": cluster_count,
            "df": df,
            "se_method": "iid" if df is None else "clustered-cr2",
        },
    )


def _correlation(c: NDArray[np.float64], b: NDArray[np.float64]) -> float | None:
    if c.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(c, b)[0, 1])


def _binary(values: ArrayLike, name: str) -> NDArray[np.bool_]:
    array = as_values(values, name)
    if not np.all((array == 0) | (array == 1)):
        raise ValueError(f"{name} must hold 0/1 (incorrect/correct) values for McNemar's test")
    return array.astype(bool)


def mcnemar_exact(
    candidate: ArrayLike,
    baseline: ArrayLike,
    *,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
) -> TestResult:
    """McNemar's exact test for paired pass/fail outcomes.

    Only discordant pairs carry information: ``worse`` = baseline right and
    candidate wrong, ``better`` = the reverse. Under H0 (no change) ``worse`` is
    Binomial(worse + better, 1/2). The two-sided p-value equals statsmodels'
    ``mcnemar(table, exact=True)``; one-sided p-values are the binomial tails.
    ``estimate`` is the accuracy difference (better − worse) / n and ``interval``
    its paired z interval (McNemar itself gives no interval for the difference).

    Args:
        candidate: candidate outcomes (1 correct, 0 incorrect).
        baseline: baseline outcomes on the same samples, same order.
        alternative: "two-sided", "greater" (candidate better) or "less" (candidate worse).
        confidence: level of the interval.
    """
    c = _binary(candidate, "candidate")
    b = _binary(baseline, "baseline")
    if c.shape != b.shape:
        raise ValueError(f"candidate has {c.size} outcomes, baseline {b.size}: pair them first")
    worse = int(np.count_nonzero(b & ~c))
    better = int(np.count_nonzero(~b & c))
    discordant = worse + better
    if alternative == "two-sided":
        statistic = float(min(worse, better))
        pvalue = min(1.0, 2.0 * float(_scipy_stats.binom.cdf(statistic, discordant, 0.5)))
    elif alternative == "less":
        statistic = float(worse)
        pvalue = float(_scipy_stats.binom.sf(worse - 1, discordant, 0.5))
    elif alternative == "greater":
        statistic = float(better)
        pvalue = float(_scipy_stats.binom.sf(better - 1, discordant, 0.5))
    else:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    n = int(c.size)
    wald = (
        paired_difference(c.astype(float), b.astype(float), confidence=confidence)
        if n >= 2
        else None
    )
    estimate = (better - worse) / n if n else 0.0
    return TestResult(
        test="mcnemar-exact",
        estimate=estimate,
        se=wald.se if wald else 0.0,
        interval=wald.interval if wald else ConfidenceInterval(estimate, estimate, confidence),
        statistic=statistic,
        pvalue=pvalue,
        alternative=alternative,
        null=0.0,
        n=n,
        details={
            "worse": worse,
            "better": better,
            "discordant": discordant,
            "interval_method": "paired-z",
        },
    )
