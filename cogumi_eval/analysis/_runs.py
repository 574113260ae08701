"""The run frame: one row per run and metric, with an interval."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ._columns import PAIRWISE_SCORE, VERDICTS
from ._interval import rate_interval
from ._logs import Logs, Run, load

RUN_FRAME_COLUMNS = [
    "run",
    "model",
    "task",
    "score",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "interval",
    "questions",
    "epochs",
    "status",
    "lineage",
    "created",
    "eval_id",
    "log",
]

NO_SCORES = "no scores"


def runs(logs: Logs, confidence: float = 0.95) -> pd.DataFrame:
    """Every run as rows of (run, metric): accuracy, win/tie/loss/error rates, consistency
    (share of questions answered the same every epoch; runs with several epochs).

    Columns: ``run``, ``model``, ``task``, ``score`` (the scorer), ``metric``,
    ``value``, ``ci_low``/``ci_high`` and ``interval`` (the method), ``questions``
    (distinct samples scored), ``epochs``, ``status`` (of the log), ``lineage``
    (dict from ``cogumi_eval.model.read_lineage``, None when unknown) and one
    ``lineage_<key>`` column per scalar lineage field, ``created``, ``eval_id``, ``log``.
    A run without scores has one row whose metric is "no scores".

    Args:
        logs: log files, folders, ``EvalLog`` objects, or a ``LogSet`` from ``analysis.load``.
        confidence: the confidence level of the intervals.
    """
    logset = load(logs)
    frame = logset.samples
    rows: list[dict[str, Any]] = []
    for run in logset.runs:
        own = frame[frame["run"] == run.label]
        metrics = _metrics(own, confidence)
        base = _run_columns(run, own)
        rows.extend(base | metric for metric in (metrics or [_no_scores()]))
    result = pd.DataFrame(rows)
    lineage_keys = sorted({k for row in rows for k in row if k.startswith("lineage_")})
    return result[RUN_FRAME_COLUMNS + lineage_keys]


def _metrics(own: pd.DataFrame, confidence: float) -> list[dict[str, Any]]:
    metrics = []
    scored = own[own["correct"].notna()]
    if not scored.empty:
        metrics.append(
            _metric(scored["scorer"].iloc[0], "accuracy", scored["correct"], scored, confidence)
        )
    judged = own[own["verdict"].notna()]
    for verdict in VERDICTS if not judged.empty else ():
        hits = judged["verdict"] == verdict
        metrics.append(_metric(PAIRWISE_SCORE, verdict, hits, judged, confidence))
    per_question = own.drop_duplicates(["id"])
    per_question = per_question[per_question["consistent"].notna()]
    if not per_question.empty:
        consistent = per_question["consistent"].astype(bool)
        metrics.append(
            _metric(
                per_question["scorer"].iloc[0], "consistency", consistent, per_question, confidence
            )
        )
    return metrics


def _metric(
    score: str, metric: str, hits: pd.Series, rows: pd.DataFrame, confidence: float
) -> dict[str, Any]:
    # MMLU questions cluster by subject (as the task's own stderr does); others by question,
    # which joins a question's epochs
    by_subject = rows["subject"].notna().all()
    clusters = rows["subject"] if by_subject else rows["id"]
    interval = rate_interval(hits, clusters, confidence, "subject" if by_subject else None)
    return {
        "score": score,
        "metric": metric,
        "value": float(hits.astype(float).mean()),
        "ci_low": interval.low,
        "ci_high": interval.high,
        "interval": interval.method,
        "questions": int(rows["id"].nunique()),
    }


def _no_scores() -> dict[str, Any]:
    nan = float("nan")
    return {
        "score": None,
        "metric": NO_SCORES,
        "value": nan,
        "ci_low": nan,
        "ci_high": nan,
        "interval": None,
        "questions": 0,
    }


def _run_columns(run: Run, own: pd.DataFrame) -> dict[str, Any]:
    lineage = run.lineage or {}
    return {
        "run": run.label,
        "model": run.model,
        "task": run.task,
        "epochs": run.epochs,
        "status": run.header.status,
        "lineage": run.lineage,
        "created": pd.Timestamp(run.header.eval.created),
        "eval_id": run.header.eval.eval_id,
        "log": run.location,
        **{
            f"lineage_{key}": value
            for key, value in lineage.items()
            if isinstance(value, str | int | float | bool) or value is None
        },
    }
