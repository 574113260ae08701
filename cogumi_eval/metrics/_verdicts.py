"""Win, tie, loss, error and inconsistency rates of pairwise verdicts (judged or objective).

A pairwise score's value is a dict of 0/1 floats over ``VERDICT_KEYS`` (after
epoch reduction, the per-sample mean). The scorer attaches
``verdict_rate_metrics()`` — Inspect's own ``mean`` and ``stderr`` per key — so
``inspect view`` shows each rate with its standard error; the named metrics
below give one rate each, for ``inspect score --metric`` and for code that
reads logs, and ``verdict_rates`` computes all of them from scores.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from inspect_ai.scorer import Metric, SampleScore, Score, mean, metric, stderr

VERDICT_KEYS = ("win", "tie", "loss", "error", "inconsistent")


def verdict_rate_metrics() -> dict[str, list[Metric]]:
    """``{key: [mean(), stderr()]}`` for every verdict key: the metrics of a pairwise scorer."""
    return {key: [mean(), stderr()] for key in VERDICT_KEYS}


def _value(score: Score | SampleScore | Mapping[str, Any] | str, key: str) -> float:
    if isinstance(score, SampleScore):
        score = score.score
    if isinstance(score, Score):
        value = score.value
        if isinstance(value, Mapping):
            return float(value.get(key) or 0.0)
        score = str(score.answer or value)
    if isinstance(score, Mapping):
        return float(score.get(key, 0.0))
    return 1.0 if score == key else 0.0


@dataclass(frozen=True)
class VerdictRates:
    """Rates over ``n`` scored samples, each with the standard error of a mean (ddof=1).

    ``preference`` is win + tie/2 among samples that did not error (the
    AlpacaEval / Arena-Hard convention), ``None`` when every sample errored.
    """

    n: int
    rates: dict[str, float]
    stderr: dict[str, float]
    preference: float | None

    def __getitem__(self, key: str) -> float:
        return self.rates[key]


def _stderr(values: list[float]) -> float:
    n = len(values)
    if n < 2:
        return 0.0
    m = sum(values) / n
    return math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1) / n)


def verdict_rates(scores: Iterable[Score | SampleScore | Mapping[str, Any] | str]) -> VerdictRates:
    """Rates of every verdict key from scores, value dicts or bare outcomes ("win", ...)."""
    items = list(scores)
    columns = {key: [_value(s, key) for s in items] for key in VERDICT_KEYS}
    n = len(items)
    rates = {key: (sum(v) / n if n else math.nan) for key, v in columns.items()}
    errors = sum(columns["error"])
    decided = n - errors
    preference = (
        (sum(columns["win"]) + 0.5 * sum(columns["tie"])) / decided if decided > 0 else None
    )
    return VerdictRates(n, rates, {k: _stderr(v) for k, v in columns.items()}, preference)


def _rate(key: str) -> Metric:
    def compute(scores: list[SampleScore]) -> float:
        return verdict_rates(scores).rates[key] if scores else math.nan

    return compute


@metric
def win_rate() -> Metric:
    """Share of samples the candidate won."""
    return _rate("win")


@metric
def tie_rate() -> Metric:
    """Share of samples judged even (including order-inconsistent pairs)."""
    return _rate("tie")


@metric
def loss_rate() -> Metric:
    """Share of samples the candidate lost."""
    return _rate("loss")


@metric
def error_rate() -> Metric:
    """Share of samples with no verdict (unparseable grader reply, missing baseline)."""
    return _rate("error")


@metric
def inconsistency_rate() -> Metric:
    """Share of samples whose two judged orders disagreed."""
    return _rate("inconsistent")


@metric
def preference_rate() -> Metric:
    """Win + tie/2 among samples that did not error."""

    def compute(scores: list[SampleScore]) -> float:
        preference = verdict_rates(scores).preference
        return math.nan if preference is None else preference

    return compute
