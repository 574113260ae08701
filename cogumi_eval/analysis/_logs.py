"""Reading a set of eval logs once, log by log, so one bad file never hides the rest."""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeAlias

from inspect_ai.analysis import samples_df
from inspect_ai.analysis._dataframe.util import resolve_logs
from inspect_ai.log import EvalLog, read_eval_log

from .._log_problem import log_problem
from .._task_descriptor import TaskDescriptor, log_descriptor
from .._task_name import task_name
from ._columns import sample_columns
from ._errors import AnalysisError, LogProblemWarning

if TYPE_CHECKING:
    import pandas as pd

Logs: TypeAlias = (
    "str | os.PathLike[str] | EvalLog | LogSet | Sequence[str | os.PathLike[str] | EvalLog]"
)
"""Log files, log folders, ``EvalLog`` objects (a list may mix them), or a loaded ``LogSet``."""


@dataclass(frozen=True)
class LogProblem:
    """A log that was skipped or loaded incomplete.

    Attributes:
        log: the log's path (or its name in memory).
        reason: what is wrong with it, in words.
        skipped: True when nothing of it was loaded.
    """

    log: str
    reason: str
    skipped: bool


@dataclass
class Run:
    """One readable log: its header, Cogumi's per-sample rows, and its label in this set.

    Attributes:
        label: a short unique name for the run (the model, disambiguated when repeated).
        header: the log without samples.
        rows: one row per sample and epoch (``sample_columns`` plus Inspect's ids).
        lineage: what ``cogumi_eval.model.read_lineage`` says made the model, if known.
        descriptor: the task's descriptor (from the log, else Cogumi's own task or scorer).
    """

    label: str
    header: EvalLog
    rows: pd.DataFrame
    lineage: dict[str, Any] | None
    descriptor: TaskDescriptor | None = None

    @property
    def task(self) -> str:
        return task_name(self.header.eval.task)

    @property
    def model(self) -> str:
        return self.header.eval.model

    @property
    def epochs(self) -> int:
        return self.header.eval.config.epochs or 1

    @property
    def location(self) -> str:
        """The log's path (a local file URI shown as a plain path)."""
        return self.header.location.removeprefix("file://")


@dataclass
class LogSet:
    """Logs read once; every frame and plot can take this instead of paths.

    Attributes:
        runs: the readable logs, in the order given (a folder's logs by creation time).
        problems: logs skipped as unreadable and logs loaded incomplete.
    """

    runs: list[Run]
    problems: list[LogProblem] = field(default_factory=list)

    @cached_property
    def samples(self) -> pd.DataFrame:
        from ._samples import samples_frame

        return samples_frame(self)

    def run(self, key: str) -> Run:
        """The run with this label, eval id or log path, or the one run in this log folder."""
        for run in self.runs:
            if key in (run.label, run.header.eval.eval_id, run.location):
                return run
        for run in self.runs:
            if _same_file(key, run.location):
                return run
        if os.path.isdir(key):
            folder = os.path.realpath(key)
            inside = [
                r for r in self.runs if os.path.realpath(r.location).startswith(folder + os.sep)
            ]
            if len(inside) == 1:
                return inside[0]
            if inside:
                raise AnalysisError(
                    f"the folder {key} holds {len(inside)} runs "
                    f"({', '.join(repr(r.label) for r in inside)}): name one by label or log file"
                )
        known = ", ".join(repr(r.label) for r in self.runs)
        raise AnalysisError(f"no run {key!r} in these logs; runs are {known}")


def load(logs: Logs, *, warn: bool = True) -> LogSet:
    """Read logs once for all the frames and plots.

    Unreadable logs are skipped and incomplete ones loaded as they are; both are
    listed in ``LogSet.problems`` and, with ``warn``, as a ``LogProblemWarning``.

    Args:
        logs: log files, log folders (searched recursively), ``EvalLog`` objects, or a list of them.
        warn: emit a warning for each problem log.
    """
    if isinstance(logs, LogSet):
        return logs
    items: list[str | os.PathLike[str] | EvalLog] = (
        [logs] if isinstance(logs, str | os.PathLike | EvalLog) else list(logs)
    )
    if not items:
        raise AnalysisError("no logs given: pass log files, a log folder, or EvalLog objects")

    headers: list[tuple[EvalLog, str | EvalLog]] = []
    problems: list[LogProblem] = []
    for item in items:
        if isinstance(item, EvalLog):
            headers.append((item, item))
            continue
        paths, from_folder = _expand(os.fspath(item))
        found: list[tuple[EvalLog, str | EvalLog]] = []
        for path in paths:
            if any(isinstance(s, str) and (s == path or _same_file(s, path)) for _, s in headers):
                continue  # named twice (a folder and a file in it): read once
            try:
                found.append((read_eval_log(path, header_only=True), path))
            except Exception as ex:  # noqa: BLE001 - any failure to parse means "unreadable"
                problems.append(LogProblem(path, f"unreadable: {log_problem(ex)}", skipped=True))
        if from_folder:
            found.sort(key=_creation)
        headers.extend(found)

    read: list[tuple[EvalLog, pd.DataFrame]] = []
    for header, source in headers:
        try:
            with warnings.catch_warnings():
                # inspect_ai 0.3.285's samples frame calls drop_duplicates(inplace=True), which
                # pandas 3.1 deprecates; nothing a caller of analysis.load can change
                warnings.filterwarnings(
                    "ignore", "The inplace keyword in DataFrame.drop_duplicates"
                )
                rows = samples_df(
                    source, columns=sample_columns(log_descriptor(header)), quiet=True
                )
        except Exception as ex:  # noqa: BLE001 - a readable header can still hold corrupt samples
            problems.append(
                LogProblem(_path(header), f"samples unreadable: {log_problem(ex)}", skipped=True)
            )
            continue
        problem = _incomplete(header, len(rows))
        if problem:
            problems.append(problem)
        read.append((header, rows))

    if not read:
        detail = "; ".join(f"{p.log}: {p.reason}" for p in problems)
        raise AnalysisError(f"none of the logs could be read ({detail})")

    labels = _labels([h for h, _ in read])
    runs = [
        Run(label, h, rows, _lineage(h), log_descriptor(h))
        for label, (h, rows) in zip(labels, read, strict=True)
    ]
    if warn:
        for problem in problems:
            action = "skipped" if problem.skipped else "loaded as it is"
            warnings.warn(
                f"{problem.log}: {problem.reason} ({action})", LogProblemWarning, stacklevel=2
            )
    return LogSet(runs, problems)


def _expand(path: str) -> tuple[list[str], bool]:
    """The log files a path names, and whether it was a folder."""
    if "://" not in path and not os.path.exists(path):
        raise AnalysisError(f"{path}: no such log file or folder")
    if "://" in path or os.path.isdir(path):
        found = list(resolve_logs(path))
        if not found:
            raise AnalysisError(f"{path}: no eval logs (.eval, or .json named by Inspect) in it")
        return [str(p).removeprefix("file://") for p in found], True
    return [path], False


def _creation(pair: tuple[EvalLog, str | EvalLog]) -> tuple[str, float]:
    """Sort key: creation time (whole seconds in the header), then the file's modification time."""
    header, source = pair
    written = (
        os.path.getmtime(source) if isinstance(source, str) and os.path.exists(source) else 0.0
    )
    return header.eval.created, written


def _incomplete(header: EvalLog, rows: int) -> LogProblem | None:
    if header.status == "success":
        return None
    expected = header.results.total_samples if header.results else None
    counted = f"{rows} of {expected} samples" if expected else f"{rows} samples"
    error = f": {_first_line(header.error.message)}" if header.error else ""
    return LogProblem(_path(header), f"status {header.status}{error} ({counted})", skipped=False)


def _labels(headers: list[EvalLog]) -> list[str]:
    """Model names without a provider prefix all runs share; the task is added for a model seen
    in several tasks, then repeats are numbered #1, #2 in order."""
    names = [h.eval.model for h in headers]
    providers = {name.split("/", 1)[0] for name in names if "/" in name}
    if len(providers) == 1 and all("/" in name for name in names):
        names = [name.split("/", 1)[1] for name in names]
    tasks: dict[str, set[str]] = {}
    for name, header in zip(names, headers, strict=True):
        tasks.setdefault(name, set()).add(task_name(header.eval.task))
    labels = [
        name if len(tasks[name]) == 1 else f"{name} ({task_name(h.eval.task)})"
        for name, h in zip(names, headers, strict=True)
    ]
    labels = _by_model_args(labels, headers)
    counts = Counter(labels)
    seen: Counter[str] = Counter()
    unique = []
    for label in labels:
        seen[label] += 1
        unique.append(label if counts[label] == 1 else f"{label} #{seen[label]}")
    return unique


def _by_model_args(labels: list[str], headers: list[EvalLog]) -> list[str]:
    """Runs of one model that differ in their -M options are told apart by those options
    (``replay (response=175b_finetuning.solution)``) rather than by a number."""
    groups: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(label, []).append(index)
    named = list(labels)
    for label, members in groups.items():
        if len(members) < 2:
            continue
        args = [headers[i].eval.model_args or {} for i in members]
        keys = sorted({k for a in args for k in a if len({repr(b.get(k)) for b in args}) > 1})
        if not keys:
            continue
        for i, a in zip(members, args, strict=True):
            named[i] = f"{label} ({', '.join(f'{k}={a.get(k)}' for k in keys)})"
    return named


def _lineage(header: EvalLog) -> dict[str, Any] | None:
    from ..model import read_lineage

    lineage = read_lineage(header)
    return dict(lineage) if lineage else None


def _same_file(a: str, b: str) -> bool:
    if "://" in a or "://" in b or not os.path.exists(a) or not os.path.exists(b):
        return False
    return os.path.samefile(a, b)


def _path(header: EvalLog) -> str:
    return header.location.removeprefix("file://")


def _first_line(ex: BaseException | str) -> str:
    text = str(ex).strip()
    if not text:
        return type(ex).__name__ if isinstance(ex, BaseException) else "unknown error"
    return text.splitlines()[0]
