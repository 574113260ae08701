"""Did the win/tie/loss distribution move? Stuart-Maxwell on the paired verdict table.

Why Stuart-Maxwell: the question is whether the *shares* of win, tie and loss
changed between two judged runs on the same samples — marginal homogeneity of
the paired k × k table. Bowker's test asks the stricter question of whether the
table is symmetric cell by cell (it can reject when the shares are identical),
and a chi-square test of independence ignores the pairing. Stuart-Maxwell is
undirected, so the result also carries the paired change in the preference
score (win 1, tie ½, loss 0) to say which way the verdicts moved.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats as _scipy_stats

from ._paired import paired_difference
from ._results import ConfidenceInterval, VerdictShift

VERDICTS: tuple[str, ...] = ("win", "tie", "loss")
PREFERENCE: dict[str, float] = {"win": 1.0, "tie": 0.5, "loss": 0.0}


def verdict_table(
    baseline: Sequence[str], candidate: Sequence[str], categories: Sequence[str] = VERDICTS
) -> tuple[np.ndarray, int]:
    """The paired table ``[baseline verdict, candidate verdict]`` and the pairs left out."""
    if len(baseline) != len(candidate):
        raise ValueError(
            f"baseline has {len(baseline)} verdicts, candidate {len(candidate)}: pair them first"
        )
    index = {label: i for i, label in enumerate(categories)}
    table = np.zeros((len(categories), len(categories)), dtype=np.int64)
    excluded = 0
    for before, after in zip(baseline, candidate, strict=True):
        i, j = index.get(before), index.get(after)
        if i is None or j is None:
            excluded += 1
        else:
            table[i, j] += 1
    return table, excluded


def stuart_maxwell(table: np.ndarray) -> tuple[float, int, float]:
    """(statistic, df, p-value) of the Stuart-Maxwell test of marginal homogeneity.

    The statistic is d' V⁺ d, d the change in each category's count (all but
    one category) and V its covariance under H0, built from the discordant
    pairs only: V_ii = pairs moving into or out of i, V_ij = −(pairs between i
    and j). Categories no pair used are dropped. When the discordant pairs do
    not connect every category — a verdict nobody gave, or one whose pairs all
    kept it (loss → loss) — V is singular and the pseudo-inverse is used, with
    df = rank(V), not k − 1.

    Why rank(V) is right and statsmodels' k − 1 is not, for such tables:
    conditional on the discordant pair totals m_ij, under H0 each n_ij is
    Binomial(m_ij, ½), so d has covariance exactly V and E[d' V⁺ d] = rank(V):
    the statistic's exact null mean is the rank (``tests/stats`` checks this by
    enumerating every table). A category with no discordant pair cannot change
    its share, so it adds no degree of freedom. statsmodels'
    ``SquareTable.homogeneity`` always uses k − 1 and solves the singular
    system as if it were regular: depending on floating-point roundoff it
    returns NaN or the right statistic on k − 1 df, a p-value too large —
    0.717 instead of 0.414 for 4 win → tie and 2 tie → win pairs with no
    discordant loss, where the test is McNemar's χ² on win/tie, (4 − 2)² / 6
    on 1 df. When V is invertible the result is statsmodels' exactly.
    """
    table = np.asarray(table, dtype=np.float64)
    used = (table.sum(axis=0) + table.sum(axis=1)) > 0
    table = table[np.ix_(used, used)]
    n = table.sum()
    if table.shape[0] < 2 or n == 0:
        return 0.0, 0, 1.0
    rows, cols = table.sum(axis=1)[:-1], table.sum(axis=0)[:-1]
    inner = table[:-1, :-1]
    d = cols - rows
    covariance = -(inner + inner.T)
    np.fill_diagonal(covariance, rows + cols - 2.0 * np.diag(inner))
    df = int(np.linalg.matrix_rank(covariance))
    if not np.any(d):
        return 0.0, df, 1.0
    if df == d.size:
        statistic = float(d @ np.linalg.solve(covariance, d))
    else:
        statistic = float(d @ np.linalg.pinv(covariance) @ d)
    return statistic, df, float(_scipy_stats.chi2.sf(statistic, df))


def bowker(table: np.ndarray) -> tuple[float, int, float]:
    """(statistic, df, p-value) of Bowker's symmetry test (df = k(k−1)/2, as statsmodels)."""
    table = np.asarray(table, dtype=np.float64)
    k = table.shape[0]
    upper = np.triu_indices(k, 1)
    above, below = table[upper], table.T[upper]
    total = above + below
    statistic = float(
        np.sum(np.divide((above - below) ** 2, total, out=np.zeros_like(total), where=total > 0))
    )
    df = k * (k - 1) // 2
    return statistic, df, float(_scipy_stats.chi2.sf(statistic, df)) if df else 1.0


def verdict_shift(
    baseline: Sequence[str],
    candidate: Sequence[str],
    *,
    categories: Sequence[str] = VERDICTS,
    confidence: float = 0.95,
) -> VerdictShift:
    """Test whether paired verdicts (each run judged against the same reference) shifted.

    Args:
        baseline: the baseline run's verdict per sample ("win", "tie", "loss", ...).
        candidate: the candidate run's verdict on the same samples, same order.
        categories: the verdict labels to tabulate; pairs with any other label
            (e.g. a judge "error") are left out and counted in ``excluded``.
        confidence: level of the interval of the preference-score change.
    """
    categories = tuple(categories)
    table, excluded = verdict_table(baseline, candidate, categories)
    n = int(table.sum())
    statistic, df, pvalue = stuart_maxwell(table)
    bowker_statistic, _, bowker_pvalue = bowker(table)
    base_share = table.sum(axis=1) / n if n else np.zeros(len(categories))
    cand_share = table.sum(axis=0) / n if n else np.zeros(len(categories))
    kept = [
        (b, c)
        for b, c in zip(baseline, candidate, strict=True)
        if b in categories and c in categories
    ]
    weights = {label: PREFERENCE.get(label, 0.0) for label in categories}
    if len(kept) >= 2:
        preference = paired_difference(
            [weights[c] for _, c in kept], [weights[b] for b, _ in kept], confidence=confidence
        )
        estimate, interval = preference.estimate, preference.interval
    else:
        estimate, interval = 0.0, ConfidenceInterval(0.0, 0.0, confidence)
    return VerdictShift(
        test="stuart-maxwell",
        statistic=statistic,
        df=df,
        pvalue=pvalue,
        categories=categories,
        table=table.tolist(),
        baseline_rates={label: float(s) for label, s in zip(categories, base_share, strict=True)},
        candidate_rates={label: float(s) for label, s in zip(categories, cand_share, strict=True)},
        estimate=estimate,
        interval=interval,
        n=n,
        excluded=excluded,
        bowker_statistic=bowker_statistic,
        bowker_pvalue=bowker_pvalue,
    )
