"""Verdict rate metrics (cogumi_eval.metrics) over pairwise scores."""

from __future__ import annotations

import math

import numpy as np
from inspect_ai.scorer import SampleScore, Score

from cogumi_eval.judge import verdict_value
from cogumi_eval.metrics import preference_rate, tie_rate, verdict_rates, win_rate


def _scores(outcomes: list[str], inconsistent: list[bool] | None = None) -> list[SampleScore]:
    flags = inconsistent or [False] * len(outcomes)
    return [
        SampleScore(score=Score(value=verdict_value(o, f), answer=o), sample_id=i)  # type: ignore[arg-type]
        for i, (o, f) in enumerate(zip(outcomes, flags, strict=False))
    ]


def test_rates_are_shares_of_all_samples_errors_included() -> None:
    rates = verdict_rates(_scores(["win", "tie", "tie", "error"]))
    assert (rates["win"], rates["tie"], rates["error"]) == (0.25, 0.5, 0.25)


def test_stderr_is_the_sample_standard_error_like_inspect() -> None:
    outcomes = ["win", "tie", "loss", "tie", "win", "win"]
    values = np.array([o == "win" for o in outcomes], dtype=float)
    expected = values.std(ddof=1) / math.sqrt(len(values))
    assert math.isclose(verdict_rates(_scores(outcomes)).stderr["win"], expected)


def test_preference_counts_a_tie_as_half_and_leaves_errors_out() -> None:
    assert preference_rate()(_scores(["win", "tie", "error", "loss"])) == 0.5


def test_named_metrics_read_the_value_dict() -> None:
    scores = _scores(["win", "tie", "tie"], [False, True, False])
    assert win_rate()(scores) == 1 / 3
    assert tie_rate()(scores) == 2 / 3
