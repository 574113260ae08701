"""Confidence intervals for the rates in the run frame, from ``cogumi_eval.stats``."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .. import stats


@dataclass(frozen=True)
class Interval:
    """A confidence interval and the method that produced it (e.g. "wilson 95%")."""

    low: float
    high: float
    method: str


def rate_interval(
    hits: pd.Series, clusters: pd.Series, confidence: float = 0.95, by: str | None = None
) -> Interval:
    """Interval for the mean of 0/1 ``hits``; rows sharing a cluster (a question's epochs, an
    MMLU subject) are not independent.

    One row per cluster: Wilson score interval. Several: CLT interval with the standard
    error clustered (Miller 2024), clipped to [0, 1].

    Args:
        hits: one 0/1 outcome per row.
        clusters: the cluster of each row.
        confidence: two-sided level.
        by: what the clusters are, named in the method ("subject"); None for questions.
    """
    values = hits.astype(float).to_numpy()
    level = f"{confidence:.0%}"
    if clusters.nunique() == len(clusters):
        estimate = stats.wilson_interval(int(values.sum()), len(values), confidence=confidence)
    elif clusters.nunique() >= 2:
        estimate = stats.clt_interval(values, clusters=clusters.to_numpy(), confidence=confidence)
    else:  # one question answered over several epochs: no spread between questions to measure
        return Interval(float("nan"), float("nan"), f"none (one question) {level}")
    interval = estimate.interval
    method = estimate.method + (f" by {by}" if by and estimate.method != "wilson" else "")
    return Interval(max(0.0, interval.low), min(1.0, interval.high), f"{method} {level}")
