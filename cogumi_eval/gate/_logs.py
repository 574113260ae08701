"""Read the runs a gate compares: eval log files or folders of them, one log per task.

Only what a gate needs is read: the log header (task, model, status, log-level
metrics, through ``read_eval_log(header_only=True)``) and the per-sample
summaries (id, epoch, error, scores, metadata), which Inspect stores apart from
the transcripts, so a 14,000-sample log loads without its messages.

Summaries of a finished ``.eval`` log are read from its ``summaries.json``
through Inspect's own zip reader and kept as plain records: Inspect's public
``read_eval_log_sample_summaries`` re-validates every string of every summary
(about 2.6 s for 14,042 samples) although the stored summaries were validated
when written. Any other log (``.json``, unfinished, an unexpected layout) is
read with the public function.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from inspect_ai.log import (
    EvalLog,
    list_eval_logs,
    read_eval_log,
    read_eval_log_sample_summaries,
)

from .._log_problem import log_problem
from .._task_descriptor import TaskDescriptor, log_descriptor
from .._task_name import task_name
from ._errors import LogError

_SUMMARIES_MEMBER = "summaries.json"


class SampleKey(NamedTuple):
    """One scored attempt: a sample id and its epoch."""

    id: str
    epoch: int


class ScoreRecord(NamedTuple):
    """The two fields of a score a gate reads: its value and its extracted answer."""

    value: Any
    answer: str | None


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
        log_metrics: per scorer name, its log-level metrics ("accuracy"; "tie/mean" for
            a dict-valued scorer's keys; "[reducer]" suffix for a non-default reducer).
        descriptor: what the log says about its task (its correctness scorer), if anything.
    """

    path: str
    task: str
    model: str
    status: str
    epochs: int
    keys: list[SampleKey] = field(default_factory=list)
    errors: list[str | None] = field(default_factory=list)
    metadata: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[str, list[ScoreRecord | None]] = field(default_factory=dict)
    log_metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    descriptor: TaskDescriptor | None = None

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
    metrics: dict[str, dict[str, float]] = {}
    for eval_score in header.results.scores if header.results else []:
        scorer = eval_score.scorer or eval_score.name
        target = metrics.setdefault(scorer, {})
        prefix = "" if eval_score.name == scorer else f"{eval_score.name}/"
        suffix = (
            f"[{eval_score.reducer}]" if eval_score.reducer and eval_score.reducer != "mean" else ""
        )
        for metric_name, metric in eval_score.metrics.items():
            value = metric.value
            if (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
            ):
                target[f"{prefix}{metric_name}{suffix}"] = float(value)
    return metrics


class _Payload:
    """Bytes handed out of the event loop; a short repr, since the loop may repr its result."""

    __slots__ = ("data",)

    def __init__(self, data: bytes | None) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"<summaries: {len(self.data or b'')} bytes>"


class _Summary(NamedTuple):
    id: str
    epoch: int
    error: str | None
    metadata: dict[str, Any]
    scores: dict[str, ScoreRecord]


def _stored_summaries(path: str) -> list[_Summary] | None:
    """Summaries from a finished .eval log's summaries.json, or None to use the public reader."""
    if not path.endswith(".eval"):
        return None
    from inspect_ai._util._async import run_coroutine
    from inspect_ai._util.async_zip import AsyncZipReader
    from inspect_ai._util.asyncfiles import AsyncFilesystem

    async def read() -> _Payload:
        async with AsyncFilesystem() as fs:
            reader = AsyncZipReader(fs, path)
            if (await reader.entries()).entry(_SUMMARIES_MEMBER) is None:
                return _Payload(None)
            return _Payload(await reader.read_member_fully(_SUMMARIES_MEMBER))

    raw = run_coroutine(read()).data
    if raw is None:
        return None
    data = json.loads(raw)
    if not isinstance(data, list):
        return None
    latest: dict[tuple[str, int], _Summary] = {}
    for row in data:
        error = row.get("error")
        scores = {
            name: ScoreRecord(score["value"], score.get("answer"))
            for name, score in (row.get("scores") or {}).items()
        }
        summary = _Summary(
            str(row["id"]), int(row["epoch"]), error or None, row.get("metadata") or {}, scores
        )
        latest[(summary.id, summary.epoch)] = (
            summary  # a re-run sample's last row wins, as in Inspect
        )
    return list(latest.values())


def _public_summaries(path: str) -> list[_Summary]:
    return [
        _Summary(
            str(s.id),
            int(s.epoch),
            s.error or None,
            s.metadata or {},
            {
                name: ScoreRecord(score.value, score.answer)
                for name, score in (s.scores or {}).items()
            },
        )
        for s in read_eval_log_sample_summaries(path)
    ]


def _summaries(path: str) -> list[_Summary]:
    try:
        stored = _stored_summaries(path)
    except Exception:  # noqa: BLE001 - any surprise in the stored layout: use the public reader
        stored = None
    return stored if stored is not None else _public_summaries(path)


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
            f"cannot read eval log {location}: {log_problem(ex)}. "
            "Pass an .eval or .json file written by Inspect (inspect eval ... --log-dir)."
        ) from None
    run = RunLog(
        path=location,
        task=task_name(header.eval.task),
        model=header.eval.model,
        status=header.status,
        epochs=header.eval.config.epochs or 1,
        log_metrics=_log_metrics(header),
        descriptor=log_descriptor(header),
    )
    scorer_names: dict[str, None] = {}
    for summary in summaries:
        for name in summary.scores:
            scorer_names.setdefault(name, None)
    run.scores = {name: [] for name in scorer_names}
    for summary in summaries:
        run.keys.append(SampleKey(summary.id, summary.epoch))
        run.errors.append(summary.error)
        run.metadata.append(summary.metadata)
        for name, column in run.scores.items():
            column.append(summary.scores.get(name))
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
        raise LogError(
            f"{side} {location} does not exist: pass an eval log file or a folder of logs"
        )
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
            "A gate compares one run per task: pass the log file, or a folder with one log per "
            "task."
        )
    return {task: found[0] for task, found in runs.items()}
