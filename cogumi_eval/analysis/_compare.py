"""Paired comparison of two runs of one task, question by question."""

from __future__ import annotations

import os
from collections import Counter
from typing import TypeAlias

import pandas as pd
from inspect_ai.log import EvalLog

from ..metrics import NO_ANSWER
from ._errors import AnalysisError
from ._logs import Logs, LogSet, load
from ._samples import sample_frame

RunRef: TypeAlias = "str | os.PathLike[str] | EvalLog | pd.DataFrame"
"""A run: a log file or ``EvalLog``, a one-run frame from ``analysis.samples``, or (with
``logs=``) a run's label, eval id or log path."""

COMPARISON_COLUMNS = [
    "id",
    "subject",
    "target",
    "a_correct",
    "b_correct",
    "delta",
    "change",
    "a_answer",
    "b_answer",
    "a_verdict",
    "b_verdict",
    "a_agreement",
    "b_agreement",
]


def compare(a: RunRef, b: RunRef, logs: Logs | None = None) -> pd.DataFrame:
    """Run ``b`` against run ``a`` on the questions both answered: one row per question.

    ``a_correct``/``b_correct`` are the share of each question's epochs answered
    correctly, ``delta`` is ``b_correct - a_correct`` and ``change`` reads it as
    "better", "worse" or "same". Answers and verdicts are each run's most common
    over epochs (first seen on ties), ``a_agreement``/``b_agreement`` the share of
    each question's epoch pairs that agree. ``frame.attrs`` holds ``a``, ``b`` (run labels),
    ``task``, and
    ``only_a``/``only_b``: how many questions only one run answered (left out).

    Args:
        a: the reference run (the baseline).
        b: the run compared with it (the candidate).
        logs: logs or a ``LogSet`` in which ``a`` and ``b`` are names of runs.

    Raises:
        AnalysisError: the runs are of different tasks, or share no question.
    """
    frame_a, frame_b = _resolve(a, b, logs)
    label_a, label_b = _one_run(frame_a, "a"), _one_run(frame_b, "b")
    task_a, task_b = frame_a["task"].iloc[0], frame_b["task"].iloc[0]
    if task_a != task_b:
        raise AnalysisError(
            f"cannot compare {label_a!r} (task {task_a}) with {label_b!r} (task {task_b}): "
            "a paired "
            "comparison needs the same questions; pass two runs of one task"
        )
    per_a, per_b = _per_question(frame_a), _per_question(frame_b)
    paired = per_a.merge(
        per_b, how="inner", left_index=True, right_index=True, suffixes=("_a", "_b")
    )
    if paired.empty:
        raise AnalysisError(
            f"{label_a!r} and {label_b!r} share no sample id: "
            "were they run on different splits or subsets?"
        )
    result = pd.DataFrame(
        {
            "id": paired.index.to_numpy(dtype=object),
            "subject": paired["subject_a"]
            .combine_first(paired["subject_b"])
            .to_numpy(dtype=object),
            "target": paired["target_a"].to_numpy(dtype=object),
            "a_correct": paired["correct_a"].to_numpy(dtype=float),
            "b_correct": paired["correct_b"].to_numpy(dtype=float),
            "a_answer": paired["answer_a"].to_numpy(dtype=object),
            "b_answer": paired["answer_b"].to_numpy(dtype=object),
            "a_verdict": paired["verdict_a"].to_numpy(dtype=object),
            "b_verdict": paired["verdict_b"].to_numpy(dtype=object),
            "a_agreement": paired["agreement_a"].to_numpy(dtype=float),
            "b_agreement": paired["agreement_b"].to_numpy(dtype=float),
        }
    )
    result["delta"] = result["b_correct"] - result["a_correct"]
    result["change"] = [
        None if pd.isna(d) else "better" if d > 0 else "worse" if d < 0 else "same"
        for d in result["delta"]
    ]
    result = result[COMPARISON_COLUMNS]
    result.attrs.update(
        a=label_a,
        b=label_b,
        task=task_a,
        only_a=len(per_a) - len(paired),
        only_b=len(per_b) - len(paired),
    )
    return result


def subject_deltas(comparison: pd.DataFrame) -> pd.DataFrame:
    """Per MMLU subject: questions, accuracy of each run, and the change, worst first.

    Args:
        comparison: a frame from ``analysis.compare`` of two MMLU runs.
    """
    if comparison["subject"].isna().all():
        raise AnalysisError(
            "these runs carry no subject (metadata['subject']): subject deltas need MMLU runs"
        )
    grouped = comparison.groupby("subject")
    table = pd.DataFrame(
        {
            "questions": grouped.size(),
            "a_accuracy": grouped["a_correct"].mean(),
            "b_accuracy": grouped["b_correct"].mean(),
        }
    )
    table["delta"] = table["b_accuracy"] - table["a_accuracy"]
    table = table.sort_values(["delta", "questions"], ascending=[True, False]).reset_index()
    table.attrs.update(comparison.attrs)
    return table


def _resolve(a: RunRef, b: RunRef, logs: Logs | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    if logs is not None:
        logset = load(logs)
        labels = []
        for ref in (a, b):
            if not isinstance(ref, str | os.PathLike):
                raise AnalysisError(
                    f"with logs=, name runs by label, eval id or log path, not {type(ref).__name__}"
                )
            labels.append(logset.run(os.fspath(ref)).label)
        frame = logset.samples
        return frame[frame["run"] == labels[0]], frame[frame["run"] == labels[1]]
    if isinstance(a, pd.DataFrame) and isinstance(b, pd.DataFrame):
        return sample_frame(a), sample_frame(b)
    if isinstance(a, pd.DataFrame) or isinstance(b, pd.DataFrame):
        raise AnalysisError("pass both runs as frames from analysis.samples(), or both as logs")
    # read together so two logs of one model still get distinct labels
    pair: LogSet = load([a, b])
    if len(pair.runs) != 2:
        raise AnalysisError(
            "compare needs one run on each side; a folder or unreadable log was given"
        )
    frame = pair.samples
    return frame[frame["run"] == pair.runs[0].label], frame[frame["run"] == pair.runs[1].label]


def _one_run(frame: pd.DataFrame, side: str) -> str:
    labels = list(dict.fromkeys(frame["run"]))
    if len(labels) != 1:
        found = ", ".join(repr(label) for label in labels) or "no samples"
        raise AnalysisError(
            f"run {side} must be exactly one run, got {found}; filter the frame by 'run'"
        )
    return str(labels[0])


def _modal(values: pd.Series) -> object:
    """The most common value (first seen on ties, as the majority vote), None when there is none."""
    present = values.dropna()
    return Counter(present).most_common(1)[0][0] if not present.empty else None


def _per_question(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.sort_values("epoch", kind="stable").assign(
        correct=frame["correct"].astype("Float64"), answer=frame["answer"].fillna(NO_ANSWER)
    )
    grouped = frame.groupby("id", sort=False)
    return pd.DataFrame(
        {
            "subject": grouped["subject"].first(),
            "target": grouped["target"].first(),
            "correct": grouped["correct"].mean().astype(float),
            "answer": grouped["answer"].agg(_modal).replace(NO_ANSWER, None),
            "verdict": grouped["verdict"].agg(_modal),
            "agreement": grouped["agreement"].first(),
        }
    )
