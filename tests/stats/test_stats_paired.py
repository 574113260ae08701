"""Paired difference (Miller) and McNemar's exact test against statsmodels and enumeration."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.weightstats import ztest

from cogumi_eval.stats import mcnemar_exact, paired_difference

TOL = 1e-9


def _paired_runs(n: int = 200, agree: float = 0.85, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    baseline = (rng.random(n) < 0.7).astype(float)
    candidate = np.where(rng.random(n) < agree, baseline, 1 - baseline)
    return candidate, baseline


@pytest.mark.parametrize(
    "alternative,sm_alternative",
    [("two-sided", "two-sided"), ("greater", "larger"), ("less", "smaller")],
)
def test_paired_difference_matches_statsmodels_ztest_on_differences(
    alternative: str, sm_alternative: str
) -> None:
    candidate, baseline = _paired_runs()
    z, p = ztest(candidate - baseline, value=-0.05, alternative=sm_alternative)
    result = paired_difference(candidate, baseline, null=-0.05, alternative=alternative)  # type: ignore[arg-type]
    assert result.statistic == pytest.approx(z, abs=TOL)
    assert result.pvalue == pytest.approx(p, abs=TOL)


def test_paired_stderr_is_millers_variance_formula() -> None:
    candidate, baseline = _paired_runs()
    n = candidate.size
    cov = np.cov(candidate, baseline, ddof=1)
    miller = math.sqrt((cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]) / n)
    result = paired_difference(candidate, baseline)
    assert result.se == pytest.approx(miller, abs=TOL)
    assert result.details["unpaired_se"] == pytest.approx(
        math.sqrt((cov[0, 0] + cov[1, 1]) / n), abs=TOL
    )


def test_pairing_shrinks_the_stderr_when_runs_agree() -> None:
    candidate, baseline = _paired_runs(agree=0.95)
    result = paired_difference(candidate, baseline)
    assert result.se < 0.5 * result.details["unpaired_se"]


def test_clustered_paired_difference_matches_cluster_robust_ols() -> None:
    candidate, baseline = _paired_runs(n=240)
    clusters = np.repeat(np.arange(60), 4)  # 60 questions x 4 epochs
    d = candidate - baseline
    fit = sm.OLS(d, np.ones_like(d)).fit(cov_type="cluster", cov_kwds={"groups": clusters})
    result = paired_difference(candidate, baseline, clusters=clusters)
    assert result.se == pytest.approx(float(fit.bse[0]), abs=TOL)
    assert result.test == "paired-t-clustered"


def test_clustered_paired_difference_is_statsmodels_cluster_t_test_for_equal_clusters() -> None:
    candidate, baseline = _paired_runs(n=240, seed=6)
    clusters = np.repeat(np.arange(60), 4)
    d = candidate - baseline
    # statsmodels' cluster-robust t test: CR1 variance, t with G - 1 = 59 degrees of freedom
    fit = sm.OLS(d + 0.05, np.ones_like(d)).fit(
        cov_type="cluster", cov_kwds={"groups": clusters}, use_t=True
    )
    result = paired_difference(candidate, baseline, clusters=clusters, null=-0.05)
    assert result.details["df"] == pytest.approx(59, abs=TOL)
    assert result.statistic == pytest.approx(float(fit.tvalues[0]), abs=TOL)
    assert result.pvalue == pytest.approx(float(fit.pvalues[0]), abs=TOL)
    low, high = fit.conf_int(alpha=0.05)[0] - 0.05
    assert (result.interval.low, result.interval.high) == pytest.approx((low, high), abs=TOL)


def test_clustered_one_sided_pvalue_is_the_t_tail() -> None:
    candidate, baseline = _paired_runs(n=300, seed=2)
    clusters = np.repeat(np.arange(12), 25)
    result = paired_difference(
        candidate, baseline, clusters=clusters, null=-0.02, alternative="less"
    )
    assert result.pvalue == pytest.approx(float(stats.t.cdf(result.statistic, 11)), abs=TOL)


def test_interval_is_estimate_plus_minus_z_se() -> None:
    candidate, baseline = _paired_runs()
    result = paired_difference(candidate, baseline, confidence=0.9)
    assert result.interval.high - result.estimate == pytest.approx(
        1.6448536269514722 * result.se, abs=TOL
    )


@pytest.mark.parametrize("worse,better", [(5, 2), (0, 0), (12, 12), (1, 9), (30, 3)])
def test_mcnemar_two_sided_matches_statsmodels_exact(worse: int, better: int) -> None:
    baseline = np.array([1] * worse + [0] * better + [1] * 40 + [0] * 20, dtype=float)
    candidate = np.array([0] * worse + [1] * better + [1] * 40 + [0] * 20, dtype=float)
    reference = mcnemar([[40, worse], [better, 20]], exact=True)
    result = mcnemar_exact(candidate, baseline)
    assert result.pvalue == pytest.approx(float(reference.pvalue), abs=TOL)
    assert result.statistic == float(reference.statistic)
    assert result.details["worse"] == worse and result.details["better"] == better


@pytest.mark.parametrize("worse,better", [(5, 2), (9, 1), (0, 4)])
def test_mcnemar_one_sided_is_the_exact_binomial_tail(worse: int, better: int) -> None:
    baseline = np.array([1] * worse + [0] * better + [1] * 10, dtype=float)
    candidate = np.array([0] * worse + [1] * better + [1] * 10, dtype=float)
    m = worse + better
    tail = sum(math.comb(m, k) for k in range(worse, m + 1)) / 2**m
    assert mcnemar_exact(candidate, baseline, alternative="less").pvalue == pytest.approx(
        tail, abs=TOL
    )


def test_mcnemar_rejects_non_binary_values() -> None:
    with pytest.raises(ValueError, match="0/1"):
        mcnemar_exact([0.5, 1.0], [1.0, 1.0])


def test_paired_difference_refuses_unequal_lengths() -> None:
    with pytest.raises(ValueError, match="one value per shared sample"):
        paired_difference([1.0, 0.0, 1.0], [1.0, 0.0])
