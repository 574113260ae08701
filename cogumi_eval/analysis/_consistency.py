"""The consistency table: how often a run gives the same answer to a question across epochs.

The definitions are those of ``cogumi_eval.metrics`` (the Inspect metrics a task
can declare), so the table matches what ``inspect view`` shows for the same log.
"""

from __future__ import annotations

import pandas as pd
from inspect_ai.scorer import Score, value_to_float

from ..metrics import majority_correct
from ._logs import Logs
from ._samples import sample_frame

CONSISTENCY_COLUMNS = [
    "run",
    "task",
    "epochs",
    "questions",
    "consistency",
    "agreement",
    "accuracy",
    "majority_accuracy",
]


def consistency(data: Logs | pd.DataFrame) -> pd.DataFrame:
    """Per run with several epochs: ``epochs``, ``questions``, ``consistency`` (share of questions
    answered the same every epoch), ``agreement`` (mean share of epoch pairs giving the same
    answer), ``accuracy`` (mean over questions of the per-question accuracy) and
    ``majority_accuracy`` (accuracy of each question's most common answer; tied answers share
    the credit).

    Runs with one epoch, or without answers, are left out.

    Args:
        data: logs, a ``LogSet``, or a frame from ``analysis.samples``.
    """
    frame = sample_frame(data)
    frame = frame[frame["agreement"].notna()]
    rows = []
    for run, own in frame.groupby("run", sort=False):
        per_question = own.drop_duplicates("id")
        correct = own["correct"].astype("Float64")
        rows.append(
            {
                "run": run,
                "task": own["task"].iloc[0],
                "epochs": int(own.groupby("id").size().max()),
                "questions": len(per_question),
                "consistency": float(per_question["consistent"].astype(float).mean()),
                "agreement": float(per_question["agreement"].mean()),
                "accuracy": _number(correct.groupby(own["id"]).mean().mean()),
                "majority_accuracy": _majority_accuracy(own),
            }
        )
    return pd.DataFrame(rows, columns=CONSISTENCY_COLUMNS)


def _majority_accuracy(own: pd.DataFrame) -> float:
    scored = own[own["correct"].notna()].sort_values("epoch", kind="stable")
    if scored.empty:
        return float("nan")
    credits = [
        majority_correct(
            [
                Score(value=float(c), answer=a)
                for a, c in zip(group["answer"], group["correct"], strict=True)
            ],
            value_to_float(),
        )[0]
        for _, group in scored.groupby("id", sort=False)
    ]
    return sum(credits) / len(credits)


def _number(value: object) -> float:
    return float(value) if pd.notna(value) else float("nan")  # type: ignore[arg-type]
