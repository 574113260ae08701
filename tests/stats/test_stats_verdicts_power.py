"""Stuart-Maxwell / Bowker, power and Holm against statsmodels."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import SquareTable, mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower, normal_power

from cogumi_eval.stats import adjust_pvalues, minimum_detectable_effect, paired_power, verdict_shift
from cogumi_eval.stats._verdicts import stuart_maxwell

TOL = 1e-9


def _verdicts_from_table(table: list[list[int]]) -> tuple[list[str], list[str]]:
    labels = ("win", "tie", "loss")
    baseline, candidate = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            baseline += [labels[i]] * count
            candidate += [labels[j]] * count
    return baseline, candidate


@pytest.mark.parametrize(
    "table",
    [
        [[10, 5, 2], [3, 20, 4], [1, 6, 30]],
        [[0, 0, 20], [12, 28, 30], [1, 2, 10]],
        [[5, 1, 0], [2, 9, 3], [0, 4, 7]],
    ],
)
def test_stuart_maxwell_and_bowker_match_statsmodels(table: list[list[int]]) -> None:
    square = SquareTable(np.array(table), shift_zeros=False)
    homogeneity = square.homogeneity(method="stuart_maxwell")
    symmetry = square.symmetry(method="bowker")
    result = verdict_shift(*_verdicts_from_table(table))
    assert result.statistic == pytest.approx(float(homogeneity.statistic), abs=TOL)
    assert result.pvalue == pytest.approx(float(homogeneity.pvalue), abs=TOL)
    assert result.df == homogeneity.df
    assert result.bowker_statistic == pytest.approx(float(symmetry.statistic), abs=TOL)
    assert result.bowker_pvalue == pytest.approx(float(symmetry.pvalue), abs=TOL)


def test_stuart_maxwell_drops_a_verdict_nobody_gave() -> None:
    full = np.array([[10, 5, 0], [3, 20, 0], [0, 0, 0]])
    reduced = SquareTable(full[:2, :2], shift_zeros=False).homogeneity(method="stuart_maxwell")
    statistic, df, pvalue = stuart_maxwell(full)
    assert (statistic, df) == (pytest.approx(float(reduced.statistic), abs=TOL), 1)
    assert pvalue == pytest.approx(float(reduced.pvalue), abs=TOL)


def _exact_null(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Statistic and probability of every table with the same diagonal and pair totals, under H0.

    Conditional on the discordant totals m_ij = n_ij + n_ji, marginal homogeneity with
    symmetric exchange makes each n_ij Binomial(m_ij, 1/2), independently across pairs.
    """
    k = table.shape[0]
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    totals = [int(table[i, j] + table[j, i]) for i, j in pairs]
    statistics, weights = [], []
    for split in itertools.product(*(range(m + 1) for m in totals)):
        drawn = np.diag(np.diag(table)).astype(float)
        probability = 1.0
        for (i, j), m, upper in zip(pairs, totals, split, strict=True):
            drawn[i, j], drawn[j, i] = upper, m - upper
            probability *= math.comb(m, upper) / 2**m
        statistics.append(stuart_maxwell(drawn)[0])
        weights.append(probability)
    return np.array(statistics), np.array(weights)


@pytest.mark.parametrize(
    "table",
    [
        [[10, 4, 0], [2, 20, 0], [0, 0, 0]],  # nobody gave "loss"
        [[10, 4, 0], [2, 20, 0], [0, 0, 5]],  # "loss" only as loss -> loss
        [[3, 9, 2], [4, 11, 5], [1, 3, 6]],  # every category exchanges: full rank
        [[6, 7, 0], [3, 12, 6], [0, 2, 4]],  # win and loss never swap directly
    ],
)
def test_stuart_maxwell_df_is_the_exact_null_mean_of_its_statistic(table: list[list[int]]) -> None:
    statistics, weights = _exact_null(np.array(table))
    _, df, _ = stuart_maxwell(np.array(table))
    assert float(np.dot(weights, statistics)) == pytest.approx(df, abs=1e-9)


def test_a_category_without_discordant_pairs_adds_no_degree_of_freedom() -> None:
    # only win <-> tie pairs: the test is McNemar's chi-square on them, 1 df. k - 1 = 2 df (what
    # statsmodels reports when floating-point roundoff lets it invert the singular matrix) gives
    # p 0.22 where the exact conditional p-value is 0.11 and the 1-df one 0.08
    table = np.array([[10, 30, 0], [18, 20, 0], [0, 0, 0]])
    statistic, df, pvalue = stuart_maxwell(table)
    mcnemar_chi2 = mcnemar([[10, 30], [18, 20]], exact=False, correction=False)
    statistics, weights = _exact_null(table)
    exact = float(weights[statistics >= statistic - 1e-9].sum())
    k_minus_1 = float(stats.chi2.sf(statistic, 2))
    assert df == 1
    assert statistic == pytest.approx(float(mcnemar_chi2.statistic), abs=TOL)
    assert pvalue == pytest.approx(float(mcnemar_chi2.pvalue), abs=TOL)
    assert abs(pvalue - exact) < 0.05 < abs(k_minus_1 - exact)


def test_stuart_maxwell_does_not_depend_on_unused_or_reordered_categories() -> None:
    base, cand = (
        ["win"] * 14 + ["tie"] * 22,
        ["win"] * 10 + ["tie"] * 4 + ["win"] * 2 + ["tie"] * 20,
    )
    three = verdict_shift(base, cand)
    reordered = verdict_shift(base, cand, categories=("loss", "tie", "win"))
    assert (three.df, three.pvalue) == (reordered.df, pytest.approx(reordered.pvalue, abs=TOL))


def test_tie_collapse_shifts_verdicts_and_the_preference_score_falls() -> None:
    baseline = ["tie"] * 70 + ["win"] * 20 + ["loss"] * 10
    candidate = ["tie"] * 28 + ["win"] * 12 + ["loss"] * 60
    result = verdict_shift(baseline, candidate)
    assert result.pvalue < 1e-6
    assert result.estimate < 0 and result.interval.high < 0
    assert result.candidate_rates["tie"] == pytest.approx(0.28)


def test_judge_errors_are_left_out_and_counted() -> None:
    result = verdict_shift(["tie", "win", "error", "tie"], ["tie", "error", "tie", "loss"])
    assert result.excluded == 2 and result.n == 2


@pytest.mark.parametrize(
    "alternative,sm_alternative", [("one-sided", "larger"), ("two-sided", "two-sided")]
)
def test_power_matches_statsmodels_normal_power(alternative: str, sm_alternative: str) -> None:
    sd = math.sqrt(2 * 0.7 * 0.3 * (1 - 0.5))
    result = paired_power(
        120, 0.08, base_rate=0.7, correlation=0.5, alpha=0.05, alternative=alternative
    )  # type: ignore[arg-type]
    assert result.power == pytest.approx(
        normal_power(0.08 / sd, 120, 0.05, alternative=sm_alternative), abs=TOL
    )


@pytest.mark.parametrize(
    "alternative,sm_alternative", [("one-sided", "larger"), ("two-sided", "two-sided")]
)
def test_minimum_detectable_effect_matches_statsmodels_solve_power(
    alternative: str, sm_alternative: str
) -> None:
    sd = 0.45
    effect_size = NormalIndPower().solve_power(
        effect_size=None, nobs1=50, alpha=0.05, power=0.8, ratio=0, alternative=sm_alternative
    )
    result = minimum_detectable_effect(50, sd=sd, alpha=0.05, power=0.8, alternative=alternative)  # type: ignore[arg-type]
    # statsmodels' power at our MDE is exactly the target; its own root finder stops near 1e-7
    assert normal_power(result.mde / sd, 50, 0.05, alternative=sm_alternative) == pytest.approx(
        0.8, abs=TOL
    )
    assert result.mde == pytest.approx(effect_size * sd, abs=1e-6)


def test_required_n_is_the_smallest_n_reaching_the_target_power() -> None:
    result = paired_power(50, 0.1, base_rate=0.7, correlation=0.0, alpha=0.025)
    n = result.required_n
    sd = math.sqrt(2 * 0.7 * 0.3)
    assert (
        paired_power(n, 0.1, sd=sd, alpha=0.025).power
        >= 0.8
        > paired_power(n - 1, 0.1, sd=sd, alpha=0.025).power
    )
    continuous = NormalIndPower().solve_power(
        effect_size=0.1 / sd, nobs1=None, alpha=0.025, power=0.8, ratio=0, alternative="larger"
    )
    assert n == math.ceil(continuous)


@pytest.mark.parametrize("method", ["holm", "bonferroni"])
def test_adjusted_pvalues_match_statsmodels_multipletests(method: str) -> None:
    pvalues = [0.01, 0.04, 0.03, 0.005, 0.5, 0.04]
    reference = multipletests(pvalues, method=method)[1]
    assert adjust_pvalues(pvalues, method).adjusted == pytest.approx(tuple(reference), abs=TOL)  # type: ignore[arg-type]
