"""Read the runs a gate compares: eval log files or folders of them, one log per task.

Only what a gate needs is read: the log header (task, model, status, log-level
metrics) and the per-sample summaries (id, epoch, error, scores, metadata),
which Inspect stores apart from the transcripts, so a 14,000-sample log loads
without its messages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspect_ai.log import (
    EvalLog,
    EvalSampleSummary,
    list_eval_logs,
    read_eval_log,
    read_eval_log_sample_summaries,
)
from inspect_ai.scorer import Score

from ._errors import LogError

REGISTRY_PREFIX = "cogumi/"


def task_name(raw: str) -> str:
    """The task name logs are paired by: a leading "cogumi/" is dropped."""
    return raw.removeprefix(REGISTRY_PREFIX)


@dataclass(frozen=True)
class SampleKey:
    """One scored attempt: a sample id and its epoch."""

    id: str
    epoch: int


@dataclass
class RunLog:
    """The samples of one task in one run, as read from its eval log.

    Attributes:
        path: the log file.
        task: task name ("cogumi/" prefix dropped).
        model: the model that produced it.
        status: the log's status ("success", "error", "cancelled", "started").
        epochs: epochs configured for the run.
        keys: (sample id, epoch) of each sample, in log order.
        errors: the sample's error message, or None.
        metadata: the sample's metadata (small fields only).
        scores: per scorer name, the score of each sample (None when absent).
        log_metrics: per scorer name (with reducer suffix when not the default), its log-level metrics.
    """

    path: str
    task: str
    model: str
    status: str
    epochs: int
    keys: list[SampleKey] = field(default_factory=list)
    errors: list[str | None] = field(default_factory=list)
    metadata: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[str, list[Score | None]] = field(default_factory=dict)
    log_metrics: dict[str, dict[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._index: dict[SampleKey, int] | None = None

    @property
    def index(self) -> dict[SampleKey, int]:
        """Position of each (id, epoch) in the sample lists."""
        if self._index is None:
            self._index = {key: i for i, key in enumerate(self.keys)}
        return self._index

    @property
    def errored(self) -> int:
        return sum(error is not None for error in self.errors)

    def describe(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "task": self.task,
            "model": self.model,
            "status": self.status,
            "samples": len(self.keys),
            "epochs": self.epochs,
            "errored_samples": self.errored,
            "scorers": sorted(self.scores),
        }


def _log_metrics(header: EvalLog) -> dict[str, dict[str, float]]:
    """Log-level metrics by scorer: "accuracy", or "tie/mean" for a dict-valued scorer's keys.

    A metric computed under a reducer other than the default gets the suffix "[reducer]".
    """
    metrics: dict[str, dict[str, float]] = {}
    for eval_score in header.results.scores if header.results else []:
        scorer = eval_score.scorer or eval_score.name
        target = metrics.setdefault(scorer, {})
        prefix = "" if eval_score.name == scorer else f"{eval_score.name}/"
        suffix = f"[{eval_score.reducer}]" if eval_score.reducer and eval_score.reducer != "mean" else ""
        for metric_name, metric in eval_score.metrics.items():
            value = metric.value
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                target[f"{prefix}{metric_name}{suffix}"] = float(value)
    return metrics


def _summaries(path: str) -> list[EvalSampleSummary]:
    try:
        return read_eval_log_sample_summaries(path)
    except Exception:  # noqa: BLE001 - logs without stored summaries (older or unfinished): read full samples
        log = read_eval_log(path, exclude_fields={"messages", "events", "store", "attachments"})
        return [
            EvalSampleSummary(
                id=s.id,
                epoch=s.epoch,
                input="",
                target="",
                metadata=s.metadata,
                scores=s.scores,
                error=s.error.message if s.error else None,
            )
            for s in log.samples or []
        ]


def read_run_log(path: str | Path) -> RunLog:
    """Read one eval log file into a ``RunLog``.

    Args:
        path: an ``.eval`` or ``.json`` log.
    """
    location = str(path)
    try:
        header = read_eval_log(location, header_only=True)
        summaries = _summaries(location)
    except Exception as ex:  # noqa: BLE001 - zip, JSON and schema errors all mean "unreadable"
        raise LogError(
            f"cannot read eval log {location}: {type(ex).__name__}: {ex}. "
            "Pass an .eval or .json file written by Inspect (inspect eval ... --log-dir)."
        ) from None
    run = RunLog(
        path=location,
        task=task_name(header.eval.task),
        model=header.eval.model,
        status=header.status,
        epochs=header.eval.config.epochs or 1,
        log_metrics=_log_metrics(header),
    )
    scorer_names: dict[str, None] = {}
    for summary in summaries:
        for name in summary.scores or {}:
            scorer_names.setdefault(name, None)
    run.scores = {name: [] for name in scorer_names}
    for summary in summaries:
        run.keys.append(SampleKey(str(summary.id), int(summary.epoch)))
        run.errors.append(summary.error or None)
        run.metadata.append(summary.metadata or {})
        sample_scores = summary.scores or {}
        for name, column in run.scores.items():
            column.append(sample_scores.get(name))
    return run


def _log_files(folder: Path) -> list[str]:
    try:
        infos = list_eval_logs(str(folder), recursive=True)
    except Exception as ex:  # noqa: BLE001 - any filesystem failure means "cannot list"
        raise LogError(f"cannot list eval logs in {folder}: {ex}") from None
    return sorted(info.name.removeprefix("file://") for info in infos)


def load_runs(path: str | Path, side: str = "run") -> dict[str, RunLog]:
    """The runs at ``path`` (a log file or a folder of logs), by task name.

    Args:
        path: an eval log file or a folder searched recursively for logs.
        side: "baseline" or "candidate", for messages.
    """
    location = Path(path)
    if location.is_dir():
        files = _log_files(location)
        if not files:
            raise LogError(
                f"{side} folder {location} holds no eval logs (.eval or .json); "
                "pass the folder inspect eval wrote (--log-dir) or a log file"
            )
    elif location.is_file():
        files = [str(location)]
    else:
        raise LogError(f"{side} {location} does not exist: pass an eval log file or a folder of logs")
    runs: dict[str, list[RunLog]] = {}
    for file in files:
        run = read_run_log(file)
        runs.setdefault(run.task, []).append(run)
    repeated = {task: found for task, found in runs.items() if len(found) > 1}
    if repeated:
        task, found = next(iter(repeated.items()))
        listing = ", ".join(f"{Path(r.path).name} ({r.status})" for r in found)
        raise LogError(
            f"{side} folder {location} holds {len(found)} logs of task {task!r}: {listing}. "
            "A gate compares one run per task: pass the log file, or a folder with one log per task."
        )
    return {task: found[0] for task, found in runs.items()}
