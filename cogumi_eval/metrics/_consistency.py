"""Consistency over epochs: do N answers to one question agree, and does the majority get it right?

Run a task with ``--epochs N`` at temperature > 0 and these read each epoch's
extracted answer (``Score.answer``, normalised by the task's scorer):

- ``consistency``: share of samples whose N answers are all the same;
- ``agreement``: mean over samples of the share of epoch pairs that agree;
- ``majority_accuracy``: accuracy of the most common answer (self-consistency
  voting); when answers tie for most common, the sample counts the share of the
  tied answers that are correct (the expected accuracy of a random tie-break);
- ``mean_accuracy``: mean over samples of the per-sample mean score;
- ``verdict_distribution``: for judged runs, the mean per-sample share of each
  verdict and the share of samples whose epochs disagree.

The metrics declare ``@metric(scores="unreduced")`` so Inspect hands them one
score per sample per epoch whatever reducer the task uses. The reducers with
the same concepts (``answer_consistency``, ``answer_agreement``,
``majority_vote``, ``verdict_distribution_reducer``) put the per-sample result
in the log's reductions, where ``inspect view`` shows it sample by sample.
A missing answer (``None``) is an answer of its own: three epochs that find no
number are consistent with each other. With a single epoch per sample,
``consistency``, ``agreement`` and ``majority_accuracy`` are NaN: one answer
agrees with itself trivially, and a 1.0 would read as evidence of stability.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Protocol

from inspect_ai.scorer import (
    Metric,
    SampleScore,
    Score,
    ScoreReducer,
    Value,
    ValueToFloat,
    metric,
    score_reducer,
    value_to_float,
)

NO_ANSWER = "<no answer>"


class ScoredAnswer(Protocol):
    """What these functions read from a score: an Inspect ``Score`` or a gate's score record."""

    @property
    def value(self) -> Any: ...

    @property
    def answer(self) -> str | None: ...


VERDICT_LABELS = ("win", "tie", "loss", "error")


def _is_unscored(score: Score) -> bool:
    value = score.value
    return isinstance(value, float) and math.isnan(value)


def answer_key(score: ScoredAnswer) -> str:
    """The answer an epoch gave, as compared across epochs (``None`` becomes ``NO_ANSWER``)."""
    return NO_ANSWER if score.answer is None else str(score.answer)


def by_sample(scores: Iterable[SampleScore]) -> list[list[Score]]:
    """Epoch scores grouped per sample id, in first-seen order; unscored epochs dropped."""
    groups: dict[Hashable, list[Score]] = {}
    for sample_score in scores:
        if not _is_unscored(sample_score.score):
            groups.setdefault(sample_score.sample_id, []).append(sample_score.score)
    return [group for group in groups.values() if group]


def is_consistent(answers: Sequence[str]) -> bool:
    """All answers the same."""
    return len(set(answers)) <= 1


def pairwise_agreement(answers: Sequence[str]) -> float:
    """Share of the C(N, 2) epoch pairs giving the same answer (1.0 for a single epoch)."""
    n = len(answers)
    if n < 2:
        return 1.0
    same = sum(count * (count - 1) // 2 for count in Counter(answers).values())
    return same / (n * (n - 1) // 2)


def majority_correct(scores: Sequence[ScoredAnswer], to_float: ValueToFloat) -> tuple[float, str]:
    """(credit, answer) for a majority vote: the mean correctness of the most common answers."""
    correctness: dict[str, list[float]] = {}
    for score in scores:
        correctness.setdefault(answer_key(score), []).append(to_float(score.value))
    top = max(len(values) for values in correctness.values())
    tied = [answer for answer, values in correctness.items() if len(values) == top]
    credit = sum(sum(correctness[a]) / len(correctness[a]) for a in tied) / len(tied)
    return credit, tied[0]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _repeated(groups: list[list[Score]]) -> list[list[Score]]:
    """The groups, or none at all when no sample was answered more than once."""
    return groups if any(len(group) > 1 for group in groups) else []


@metric(scores="unreduced")
def consistency() -> Metric:
    """Share of samples whose answers are identical across all epochs."""

    def compute(scores: list[SampleScore]) -> Value:
        groups = _repeated(by_sample(scores))
        return _mean([1.0 if is_consistent([answer_key(s) for s in g]) else 0.0 for g in groups])

    return compute


@metric(scores="unreduced")
def agreement() -> Metric:
    """Mean over samples of the share of epoch pairs that give the same answer."""

    def compute(scores: list[SampleScore]) -> Value:
        groups = _repeated(by_sample(scores))
        return _mean([pairwise_agreement([answer_key(s) for s in g]) for g in groups])

    return compute


@metric(scores="unreduced")
def majority_accuracy(to_float: ValueToFloat | None = None) -> Metric:
    """Accuracy of the majority answer across epochs (ties: share of tied answers correct).

    Args:
        to_float: maps a score value to 1.0 (correct) .. 0.0 (default: Inspect's
            ``value_to_float()``).
    """
    to_float = to_float or value_to_float()

    def compute(scores: list[SampleScore]) -> Value:
        return _mean([majority_correct(g, to_float)[0] for g in _repeated(by_sample(scores))])

    return compute


@metric(scores="unreduced")
def mean_accuracy(to_float: ValueToFloat | None = None) -> Metric:
    """Mean over samples of the per-sample mean score across epochs.

    Args:
        to_float: maps a score value to a float (default: Inspect's ``value_to_float()``).
    """
    to_float = to_float or value_to_float()

    def compute(scores: list[SampleScore]) -> Value:
        return _mean([_mean([to_float(s.value) for s in g]) for g in by_sample(scores)])

    return compute


def verdict_of(score: ScoredAnswer) -> str:
    """A pairwise score's verdict: its ``answer``, else the key set to 1 in its value dict."""
    if score.answer is not None:
        return str(score.answer)
    if isinstance(score.value, dict):
        for label in VERDICT_LABELS:
            if score.value.get(label):
                return label
    return str(score.value)


@metric(scores="unreduced")
def verdict_distribution(labels: Sequence[str] = VERDICT_LABELS) -> Metric:
    """Mean per-sample share of each verdict, and ``split``: share of samples whose epochs disagree.

    Args:
        labels: the verdicts to report (a verdict outside them is still counted in ``split``).
    """

    def compute(scores: list[SampleScore]) -> Value:
        groups = [[verdict_of(s) for s in g] for g in by_sample(scores)]
        shares = {
            label: _mean([sum(v == label for v in g) / len(g) for g in groups]) for label in labels
        }
        shares["split"] = _mean([0.0 if is_consistent(g) else 1.0 for g in groups])
        return shares

    return compute


def _answers_metadata(scores: Sequence[Score]) -> dict[str, object]:
    return {"answers": dict(Counter(answer_key(s) for s in scores)), "epochs": len(scores)}


def _reducible(scores: list[Score]) -> list[Score]:
    return [s for s in scores if not _is_unscored(s)]


@score_reducer(name="answer_consistency")
def answer_consistency() -> ScoreReducer:
    """1.0 when every epoch gave the same answer, else 0.0; ``answer`` is the most common one."""

    def reduce(scores: list[Score]) -> Score:
        kept = _reducible(scores)
        if not kept:
            return Score.unscored(reason="scoring_failed", explanation="no epoch was scored")
        answers = [answer_key(s) for s in kept]
        return Score(
            value=1.0 if is_consistent(answers) else 0.0,
            answer=Counter(answers).most_common(1)[0][0],
            metadata=_answers_metadata(kept),
        )

    return reduce


@score_reducer(name="answer_agreement")
def answer_agreement() -> ScoreReducer:
    """Share of epoch pairs giving the same answer; ``answer`` is the most common one."""

    def reduce(scores: list[Score]) -> Score:
        kept = _reducible(scores)
        if not kept:
            return Score.unscored(reason="scoring_failed", explanation="no epoch was scored")
        answers = [answer_key(s) for s in kept]
        return Score(
            value=pairwise_agreement(answers),
            answer=Counter(answers).most_common(1)[0][0],
            metadata=_answers_metadata(kept),
        )

    return reduce


@score_reducer(name="majority_vote")
def majority_vote(to_float: ValueToFloat | None = None) -> ScoreReducer:
    """Self-consistency vote: the most common answer, scored by its correctness.

    Args:
        to_float: maps a score value to 1.0 (correct) .. 0.0 (default: Inspect's
            ``value_to_float()``).
    """
    convert = to_float or value_to_float()

    def reduce(scores: list[Score]) -> Score:
        kept = _reducible(scores)
        if not kept:
            return Score.unscored(reason="scoring_failed", explanation="no epoch was scored")
        credit, answer = majority_correct(kept, convert)
        return Score(value=credit, answer=answer, metadata=_answers_metadata(kept))

    return reduce


@score_reducer(name="verdict_distribution")
def verdict_distribution_reducer(labels: Sequence[str] = VERDICT_LABELS) -> ScoreReducer:
    """Per-sample share of each verdict across epochs; ``answer`` is the most common verdict.

    Args:
        labels: the verdicts to give a share for.
    """

    def reduce(scores: list[Score]) -> Score:
        kept = _reducible(scores)
        if not kept:
            return Score.unscored(reason="scoring_failed", explanation="no epoch was judged")
        verdicts = [verdict_of(s) for s in kept]
        counts = Counter(verdicts)
        value: dict[str, str | int | float | bool | None] = {
            label: counts.get(label, 0) / len(verdicts) for label in labels
        }
        return Score(
            value=value,
            answer=counts.most_common(1)[0][0],
            metadata={"verdicts": dict(counts), "epochs": len(verdicts)},
        )

    return reduce
