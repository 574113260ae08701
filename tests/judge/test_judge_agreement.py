"""Self-agreement kappas checked against statsmodels."""

from __future__ import annotations

import math
import random

import numpy as np
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from cogumi_eval.judge import cohen_kappa, fleiss_kappa, self_agreement

LABELS = ["A", "B", "tie"]


def _ratings(items: int, raters: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(items):
        base = rng.choice(LABELS)
        rows.append([base if rng.random() < 0.7 else rng.choice(LABELS) for _ in range(raters)])
    return rows


def test_cohen_kappa_matches_statsmodels() -> None:
    rows = _ratings(200, 2, seed=1)
    index = {label: i for i, label in enumerate(LABELS)}
    table = np.zeros((3, 3))
    for a, b in rows:
        table[index[a], index[b]] += 1
    expected = cohens_kappa(table).kappa
    assert math.isclose(
        cohen_kappa([r[0] for r in rows], [r[1] for r in rows]), expected, rel_tol=1e-12
    )


def test_fleiss_kappa_matches_statsmodels() -> None:
    rows = _ratings(150, 4, seed=2)
    index = {label: i for i, label in enumerate(LABELS)}
    counts, _ = aggregate_raters(np.array([[index[x] for x in r] for r in rows]))
    assert math.isclose(fleiss_kappa(rows), sm_fleiss(counts, method="fleiss"), rel_tol=1e-12)


def test_two_repeats_use_cohen_and_more_use_fleiss() -> None:
    assert self_agreement(_ratings(20, 2, seed=3)).method == "cohen"
    assert self_agreement(_ratings(20, 3, seed=3)).method == "fleiss"


def test_kappa_is_undefined_when_every_verdict_is_the_same() -> None:
    result = self_agreement([["tie", "tie"]] * 5)
    assert result.agreement == 1.0
    assert math.isnan(result.kappa)
