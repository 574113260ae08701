"""Cogumi's per-sample columns, read from each sample's scores by Inspect's samples frame.

A log may carry a correctness score (value "C"/"I", ``answer`` = the normalised
extracted answer) and a ``pairwise`` judge score (``answer`` = win/tie/loss/error),
side by side. Which score is the correctness score, and which sample metadata
become columns, is the log's task descriptor's to say (``sample_columns``); a log
without one falls back to Cogumi's own scorers, then to any "C"/"I" score.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inspect_ai.analysis import Column, SampleColumn
from inspect_ai.log import EvalSample, EvalSampleSummary
from inspect_ai.scorer import Score

from .._task_descriptor import BUILTIN_TASKS, TaskDescriptor

CORRECTNESS_SCORES = tuple(d.scorer for d in BUILTIN_TASKS.values())
PAIRWISE_SCORE = "pairwise"
VERDICTS = ("win", "tie", "loss", "error")

AnySample = EvalSample | EvalSampleSummary


def correctness_score(
    scores: Mapping[str, Score] | None, scorer: str | None = None
) -> tuple[str, Score] | None:
    """The sample's correctness score: ``scorer`` (the descriptor's) when given.

    Without it: one of Cogumi's own scorers, else any "C"/"I" score.
    """
    if not scores:
        return None
    if scorer is not None:
        return (scorer, scores[scorer]) if scorer in scores else None
    for name in CORRECTNESS_SCORES:
        if name in scores:
            return name, scores[name]
    for name, score in scores.items():
        if name != PAIRWISE_SCORE and score.value in ("C", "I"):
            return name, score
    return None


def correct_value(value: Any) -> bool | None:
    """True/False for "C"/"I", booleans and 0/1 numbers; None for anything else (e.g. partial)."""
    if value in ("C", "I"):
        return value == "C"
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    return None


def verdict_value(score: Score) -> str | None:
    """The judge's verdict from the candidate's side: the answer, else the one rate set to 1."""
    if score.answer in VERDICTS:
        return score.answer
    if isinstance(score.value, dict):
        chosen = [k for k in VERDICTS if score.value.get(k) == 1]
        return chosen[0] if len(chosen) == 1 else None
    return None


class _Correctness:
    """Columns read from a log's correctness score (the one its descriptor names, if any)."""

    def __init__(self, scorer: str | None) -> None:
        self.scorer = scorer

    def found(self, sample: AnySample) -> tuple[str, Score] | None:
        return correctness_score(sample.scores, self.scorer)

    def name(self, sample: AnySample) -> str | None:
        found = self.found(sample)
        return found[0] if found else None

    def answer(self, sample: AnySample) -> str | None:
        found = self.found(sample)
        if found is None or found[1].answer is None:
            return None
        return str(found[1].answer)

    def correct(self, sample: AnySample) -> bool | None:
        found = self.found(sample)
        return correct_value(found[1].value) if found else None


def _verdict(sample: AnySample) -> str | None:
    score = (sample.scores or {}).get(PAIRWISE_SCORE)
    return verdict_value(score) if score is not None else None


def _metadata(key: str) -> Any:
    def value(sample: AnySample) -> str | None:
        found = (sample.metadata or {}).get(key)
        return str(found) if found is not None else None

    return value


def _target(sample: AnySample) -> str:
    return ",".join(sample.target) if isinstance(sample.target, list) else sample.target


def _error(sample: AnySample) -> str | None:
    error = sample.error
    if error is None or isinstance(error, str):
        return error or None
    return error.message


BASE_COLUMNS: tuple[str, ...] = tuple(
    "id epoch subject target scorer answer correct verdict error".split()
)
"""The columns every log gets, whatever its descriptor."""


def sample_columns(descriptor: TaskDescriptor | None = None) -> list[Column]:
    """Columns of the per-sample frame for a log of the task ``descriptor`` describes.

    On top of Inspect's ``eval_id``/``sample_id``/``log``: id, epoch, subject,
    target, scorer, answer, correct, verdict, error, and one column per metadata
    key the descriptor names.
    """
    correctness = _Correctness(descriptor.scorer if descriptor else None)
    extra = [key for key in (descriptor.columns if descriptor else ()) if key not in BASE_COLUMNS]
    return [
        SampleColumn("id", path="id", required=True, type=str),
        SampleColumn("epoch", path="epoch", required=True, type=int),
        SampleColumn("subject", path=_metadata("subject")),
        SampleColumn("target", path=_target),
        SampleColumn("scorer", path=correctness.name),
        SampleColumn("answer", path=correctness.answer),
        SampleColumn("correct", path=correctness.correct),
        SampleColumn("verdict", path=_verdict),
        SampleColumn("error", path=_error),
        *(SampleColumn(key, path=_metadata(key)) for key in extra),
    ]
