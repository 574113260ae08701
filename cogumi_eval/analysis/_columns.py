"""Cogumi's per-sample columns, read from each sample's scores by Inspect's samples frame.

A log may carry a correctness score (``final_number``, ``humaneval_tests``,
``choice_letter``: value "C"/"I", ``answer`` = the normalised extracted answer)
and a ``pairwise`` judge score (``answer`` = win/tie/loss/error), side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inspect_ai.analysis import Column, SampleColumn
from inspect_ai.log import EvalSample, EvalSampleSummary
from inspect_ai.scorer import Score

CORRECTNESS_SCORES = ("final_number", "humaneval_tests", "choice_letter")
PAIRWISE_SCORE = "pairwise"
VERDICTS = ("win", "tie", "loss", "error")

AnySample = EvalSample | EvalSampleSummary


def correctness_score(scores: Mapping[str, Score] | None) -> tuple[str, Score] | None:
    """The sample's correctness score: a known Cogumi scorer first, else any "C"/"I" score."""
    if not scores:
        return None
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


def _scorer(sample: AnySample) -> str | None:
    found = correctness_score(sample.scores)
    return found[0] if found else None


def _answer(sample: AnySample) -> str | None:
    found = correctness_score(sample.scores)
    if found is None or found[1].answer is None:
        return None
    return str(found[1].answer)


def _correct(sample: AnySample) -> bool | None:
    found = correctness_score(sample.scores)
    return correct_value(found[1].value) if found else None


def _verdict(sample: AnySample) -> str | None:
    score = (sample.scores or {}).get(PAIRWISE_SCORE)
    return verdict_value(score) if score is not None else None


def _subject(sample: AnySample) -> str | None:
    subject = (sample.metadata or {}).get("subject")
    return str(subject) if subject is not None else None


def _target(sample: AnySample) -> str:
    return ",".join(sample.target) if isinstance(sample.target, list) else sample.target


def _error(sample: AnySample) -> str | None:
    error = sample.error
    if error is None or isinstance(error, str):
        return error or None
    return error.message


SAMPLE_COLUMNS: list[Column] = [
    SampleColumn("id", path="id", required=True, type=str),
    SampleColumn("epoch", path="epoch", required=True, type=int),
    SampleColumn("subject", path=_subject),
    SampleColumn("target", path=_target),
    SampleColumn("scorer", path=_scorer),
    SampleColumn("answer", path=_answer),
    SampleColumn("correct", path=_correct),
    SampleColumn("verdict", path=_verdict),
    SampleColumn("error", path=_error),
]
"""Columns of the per-sample frame, on top of Inspect's ``eval_id``/``sample_id``/``log``."""
