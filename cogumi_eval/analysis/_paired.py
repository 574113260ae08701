"""What a paired comparison says, with the tests of ``cogumi_eval.stats``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import stats
from ._columns import VERDICTS


@dataclass(frozen=True)
class PairedSummary:
    """Run b against run a on their shared questions.

    Attributes:
        a: label of the reference run.
        b: label of the compared run.
        task: the task both ran.
        questions: questions paired.
        better: questions where b's accuracy is higher than a's.
        worse: questions where it is lower.
        same: questions where it is equal.
        accuracy: the paired difference in accuracy (b − a) with its interval and z test
            (Miller's paired standard error over questions); None without correctness scores.
        mcnemar: McNemar's exact test when every question has one 0/1 outcome per run.
        verdicts: the shift in judge verdicts (Stuart-Maxwell) when both runs were judged.
    """

    a: str
    b: str
    task: str
    questions: int
    better: int
    worse: int
    same: int
    accuracy: stats.TestResult | None
    mcnemar: stats.TestResult | None
    verdicts: stats.VerdictShift | None


def paired_summary(comparison: pd.DataFrame, confidence: float = 0.95) -> PairedSummary:
    """Tests on a frame from ``analysis.compare``: accuracy difference, McNemar, verdict shift.

    Args:
        comparison: the paired frame (its ``attrs`` name the runs).
        confidence: level of the intervals.
    """
    changes = comparison["change"].value_counts()
    scored = comparison[comparison["a_correct"].notna() & comparison["b_correct"].notna()]
    a, b = scored["a_correct"].to_numpy(float), scored["b_correct"].to_numpy(float)
    accuracy = mcnemar = None
    if len(scored) >= 2:
        accuracy = stats.paired_difference(b, a, confidence=confidence)
        if np.isin(a, (0.0, 1.0)).all() and np.isin(b, (0.0, 1.0)).all():
            mcnemar = stats.mcnemar_exact(b, a, confidence=confidence)
    judged = comparison[
        comparison["a_verdict"].isin(VERDICTS) & comparison["b_verdict"].isin(VERDICTS)
    ]
    shift = None
    if len(judged) >= 2:
        shift = stats.verdict_shift(
            list(judged["a_verdict"]), list(judged["b_verdict"]), confidence=confidence
        )
    return PairedSummary(
        a=str(comparison.attrs.get("a", "a")),
        b=str(comparison.attrs.get("b", "b")),
        task=str(comparison.attrs.get("task", "")),
        questions=len(comparison),
        better=int(changes.get("better", 0)),
        worse=int(changes.get("worse", 0)),
        same=int(changes.get("same", 0)),
        accuracy=accuracy,
        mcnemar=mcnemar,
        verdicts=shift,
    )
