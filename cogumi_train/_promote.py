"""Promotion: a model enters the registry only when the gate finds no regression.

``promote(model, name=..., baseline=..., spec=...)`` evaluates the model on the
tasks the spec's rules name (through Inspect, as ``cogumi/<model>``) or takes
``logs`` already made of it, gates them against the baseline's logs with
``cogumi_eval.gate.evaluate_gate``, and on a pass records the model in the
registry. The candidate is evaluated on the baseline's own samples, epochs,
task options and decoding settings, so every sample pairs.

Logs prove which weights made them: each log's lineage (``read_lineage``) must
carry the weight hash of ``model``, so a run of another checkpoint can never
promote this one.
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cogumi_eval._errors import CogumiError
from cogumi_eval._task_name import REGISTRY_PREFIX, task_name

from ._registry import Registry, RegistryError, check_name

if TYPE_CHECKING:
    from cogumi_eval.gate import GateReport, GateSpec, RunLog

# decoding settings of the baseline run that the candidate is run with too
_GENERATE_KEYS = ("temperature", "top_p", "top_k", "seed", "max_tokens", "stop_seqs")


class PromotionError(CogumiError):
    """Promotion could not be attempted: a bad model, baseline, spec or logs."""


class LineageMismatch(PromotionError):
    """Logs handed to promotion were made by other weights than the model being promoted."""


@dataclass
class Promotion:
    """The outcome of one promotion.

    Attributes:
        name: the registry name asked for.
        model: the model folder promoted (resolved).
        promoted: whether the registry entry was written.
        report: the gate report that decided.
        registry: the registry file.
        weights_sha256: the model's weight hash (cogumi weights-v1).
        logs: the candidate's eval logs, by task.
        baseline_logs: the baseline's eval logs, by task.
        entry: the registry entry written (None when refused).
    """

    name: str
    model: str
    promoted: bool
    report: GateReport
    registry: Path
    weights_sha256: str | None
    logs: dict[str, str] = field(default_factory=dict)
    baseline_logs: dict[str, str] = field(default_factory=dict)
    entry: dict[str, Any] | None = None

    @property
    def exit_code(self) -> int:
        """0 promoted, 1 refused by the gate, 2 the gate could not be evaluated."""
        return 0 if self.promoted else (self.report.exit_code or 1)

    def summary(self) -> str:
        if self.promoted:
            return (
                f"PROMOTED {self.model} as {self.name!r} in {self.registry} "
                f"(weights sha256 {(self.weights_sha256 or '?')[:16]})"
            )
        why = (
            "the gate found a regression"
            if self.report.exit_code == 1
            else "the gate could not be evaluated"
        )
        return (
            f"NOT PROMOTED: {why}; {self.name!r} was not written and {self.registry} is unchanged"
        )


def parse_options(values: Sequence[str], flag: str) -> dict[str, Any]:
    """``KEY=VALUE`` options (``-T``, ``-M``, ``--task``) as a dict; values parsed as YAML."""
    import yaml

    options: dict[str, Any] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        if not sep or not key:
            raise PromotionError(f"{flag} {value!r} is not KEY=VALUE.")
        try:
            options[key] = yaml.safe_load(raw) if raw else raw
        except yaml.YAMLError:
            options[key] = raw
    return options


def promote(
    model: str | os.PathLike[str],
    *,
    name: str,
    baseline: str | os.PathLike[str],
    spec: str | os.PathLike[str] | GateSpec,
    logs: str | os.PathLike[str] | None = None,
    replace: bool = False,
    registry: str | os.PathLike[str] | Registry | None = None,
    tasks: Mapping[str, str] | None = None,
    task_args: Mapping[str, Any] | None = None,
    model_args: Mapping[str, Any] | None = None,
    limit: int | None = None,
    epochs: int | None = None,
    log_dir: str | os.PathLike[str] | None = None,
    display: str | None = None,
) -> Promotion:
    """Gate ``model`` against ``baseline``; only on a pass, record it in the registry as ``name``.

    Args:
        model: checkpoint or adapter folder (or a registry name) to promote.
        name: the registry name to record it under.
        baseline: a registry name (its recorded logs) or an eval log / folder of logs.
        spec: the gate spec (TOML file or parsed ``GateSpec``); its rules' tasks are evaluated.
        logs: eval logs of ``model`` to use instead of evaluating; their lineage must
            carry ``model``'s weight hash.
        replace: overwrite an existing entry ``name``.
        registry: the registry file (default ``$COGUMI_REGISTRY`` or results/registry.toml).
        tasks: spec task name -> the task to run for it (a task file such as
            ``tasks/math.py@gsm8k`` or a registry name); default ``cogumi/<task>``.
        task_args: ``-T`` options, over the baseline run's own.
        model_args: ``-M`` options of the ``cogumi`` model API.
        limit: evaluate only the first ``limit`` of the baseline's samples per task.
        epochs: epochs per sample (default: the baseline run's).
        log_dir: where evaluation logs go (default ``logs/promote/<name>/<UTC time>``).
        display: Inspect's display while evaluating ("none", "plain", ...; default Inspect's).

    Raises:
        PromotionError: the model, baseline, spec or logs cannot be used (nothing is written).
        RegistryError: the registry is unreadable, or ``name`` is taken without ``replace``.
    """
    from cogumi_eval.gate import evaluate_gate, load_spec
    from cogumi_eval.model import lineage as model_lineage

    book = registry if isinstance(registry, Registry) else Registry(registry)
    check_name(name)
    book.check_free(name, replace=replace)
    gate_spec = spec if not isinstance(spec, str | os.PathLike) else load_spec(os.fspath(spec))
    found = model_lineage(os.fspath(model), registry=book.path)
    model_path = str(found.path)
    digest = _digest(found.to_dict())
    if digest is None:
        raise PromotionError(
            f"model {model_path} has no weight files to hash; promote a saved checkpoint."
        )

    base_runs, base_files = _baseline_runs(baseline, book)
    wanted = [t for t in dict.fromkeys(rule.task for rule in gate_spec.rules) if t in base_runs]
    if not wanted:
        raise PromotionError(
            f"the baseline {baseline} holds task(s) {sorted(base_runs)} but the spec's rules name "
            f"{sorted({rule.task for rule in gate_spec.rules})}: nothing to compare. Use a "
            "baseline evaluated on the spec's tasks."
        )
    if logs is not None:
        cand_files = _log_files_by_task(Path(logs), "candidate")
    else:
        cand_files = _evaluate(
            model_path,
            name=name,
            tasks=wanted,
            base_runs=base_runs,
            overrides=dict(tasks or {}),
            task_args=dict(task_args or {}),
            model_args=dict(model_args or {}),
            limit=limit,
            epochs=epochs,
            log_dir=log_dir,
            display=display,
        )
    cand_lineage = check_lineage(cand_files, digest, model_path)
    from cogumi_eval.gate import read_run_log

    cand_runs = {task: read_run_log(path) for task, path in cand_files.items()}
    if limit is not None and logs is None:
        # --limit evaluated the first samples of the baseline: gate on those on both sides
        base_runs = {
            task: _subset(run, {key.id for key in cand_runs[task].keys})
            if task in cand_runs
            else run
            for task, run in base_runs.items()
        }
    report = evaluate_gate(base_runs, cand_runs, gate_spec)
    promotion = Promotion(
        name=name,
        model=model_path,
        promoted=False,
        report=report,
        registry=book.path,
        weights_sha256=digest,
        logs=cand_files,
        baseline_logs=base_files,
    )
    if report.exit_code != 0:
        return promotion
    entry = _entry(
        model_path,
        digest=digest,
        lineage=cand_lineage or found.to_dict(),
        baseline=baseline,
        baseline_files=base_files,
        cand_files=cand_files,
        spec=gate_spec,
        report=report,
        registry_file=book.path,
    )
    book.add(name, entry, replace=replace)
    promotion.promoted = True
    promotion.entry = entry
    return promotion


def print_promotion(promotion: Promotion, console: Any | None = None) -> None:
    """The gate report's table, then one line saying what happened to the registry."""
    from rich.console import Console

    console = console or Console(stderr=False, soft_wrap=True)
    promotion.report.print_table(console)
    style = "bold green" if promotion.promoted else "bold red"
    console.print(promotion.summary(), style=style, highlight=False)


def _digest(lineage: Mapping[str, Any]) -> str | None:
    """The weight hash that names a model: an adapter's own, else the checkpoint's."""
    for key in ("adapter_weights", "weights"):
        value = lineage.get(key)
        if isinstance(value, Mapping) and value.get("sha256"):
            return str(value["sha256"])
    return None


def check_lineage(files: Mapping[str, str], digest: str, model: str) -> dict[str, Any] | None:
    """Refuse logs whose lineage is not ``model``'s weights; return the first log's lineage.

    Raises:
        LineageMismatch: a log has no lineage, or its weight hash differs from ``digest``.
    """
    from inspect_ai.log import read_eval_log

    from cogumi_eval.model import read_lineage

    first: dict[str, Any] | None = None
    for task, path in files.items():
        try:
            header = read_eval_log(path, header_only=True)
        except Exception as ex:  # noqa: BLE001 - any unreadable log is the same input error
            raise PromotionError(
                f"cannot read eval log {path}: {type(ex).__name__}: {ex}"
            ) from None
        found = read_lineage(header)
        if found is None:
            raise LineageMismatch(
                f"log {path} (task {task}) carries no lineage (model {header.eval.model}), so "
                f"it cannot show it was made by {model}. Evaluate with --model "
                f"cogumi/{model}, or drop --logs to let promote evaluate."
            )
        theirs = _digest(found)
        if theirs != digest:
            raise LineageMismatch(
                f"log {path} (task {task}) was made by weights sha256 {theirs} "
                f"({found.get('path')}), not by {model} (weights sha256 {digest}). Pass logs "
                "of the model being promoted, or drop --logs to evaluate it."
            )
        first = first or found
    return first


def _baseline_runs(
    baseline: str | os.PathLike[str], book: Registry
) -> tuple[dict[str, RunLog], dict[str, str]]:
    from cogumi_eval.gate import read_run_log

    location = Path(baseline)
    if location.exists():
        files = _log_files_by_task(location, "baseline")
    else:
        entry = book.get(os.fspath(baseline))
        if entry is None:
            known = ", ".join(book.names()) or "none"
            raise PromotionError(
                f"baseline {os.fspath(baseline)!r} is neither an eval log, a folder of logs "
                f"nor a name in the registry {book.path} (names: {known}). Pass the last good "
                "model's logs or its registry name."
            )
        recorded = entry.get("logs")
        if not isinstance(recorded, list) or not recorded:
            raise PromotionError(
                f"registry entry {os.fspath(baseline)!r} in {book.path} records no logs; pass the "
                "baseline's log folder instead."
            )
        paths = [_from_registry(str(p), book.path) for p in recorded]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise PromotionError(
                f"the logs of registry entry {os.fspath(baseline)!r} are gone: "
                f"{', '.join(missing)}. Pass a folder with the baseline's logs instead."
            )
        files = {}
        for path in paths:
            run = read_run_log(path)
            if run.task in files:
                raise PromotionError(
                    f"registry entry {os.fspath(baseline)!r} records two logs of task {run.task!r}."
                )
            files[run.task] = str(path)
    return {task: read_run_log(path) for task, path in files.items()}, files


def _subset(run: RunLog, ids: set[str]) -> RunLog:
    """``run`` with only the samples whose id is in ``ids``."""
    from dataclasses import replace as copy_with

    keep = [i for i, key in enumerate(run.keys) if key.id in ids]
    return copy_with(
        run,
        keys=[run.keys[i] for i in keep],
        errors=[run.errors[i] for i in keep],
        metadata=[run.metadata[i] for i in keep],
        scores={name: [column[i] for i in keep] for name, column in run.scores.items()},
        log_metrics={},  # the log's own metrics describe all of its samples
    )


def _log_files_by_task(location: Path, side: str) -> dict[str, str]:
    from cogumi_eval.gate import load_runs

    if not location.exists():
        raise PromotionError(
            f"{side} logs {location} do not exist: pass an eval log or a folder of logs."
        )
    return {task: run.path for task, run in load_runs(location, side).items()}


def _evaluate(
    model: str,
    *,
    name: str,
    tasks: Sequence[str],
    base_runs: Mapping[str, RunLog],
    overrides: dict[str, str],
    task_args: dict[str, Any],
    model_args: dict[str, Any],
    limit: int | None,
    epochs: int | None,
    log_dir: str | os.PathLike[str] | None,
    display: str | None,
) -> dict[str, str]:
    """Run ``model`` on each task as its baseline run was run; the log file of each task."""
    from inspect_ai import eval as inspect_eval
    from inspect_ai.log import read_eval_log

    unknown = sorted(set(overrides) - set(tasks))
    if unknown:
        raise PromotionError(
            f"--task names {unknown}, but the spec's tasks with baseline logs are {list(tasks)}."
        )
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    folder = Path(log_dir) if log_dir is not None else Path("logs") / "promote" / name / stamp
    files: dict[str, str] = {}
    for task in tasks:
        run = base_runs[task]
        header = read_eval_log(run.path, header_only=True)
        generate = header.eval.model_generate_config.model_dump(exclude_none=True)
        ids = list(dict.fromkeys(key.id for key in run.keys))
        if limit is not None:
            ids = ids[:limit]
        args = {**(header.eval.task_args_passed or {}), **task_args}
        try:
            logs = inspect_eval(
                overrides.get(task) or _registered_task(task),
                model=f"{REGISTRY_PREFIX}{model}",
                model_args=model_args,
                task_args=args,
                epochs=epochs if epochs is not None else run.epochs,
                sample_id=ids,
                log_dir=str(folder),
                display=display,  # type: ignore[arg-type]
                **{k: v for k, v in generate.items() if k in _GENERATE_KEYS},
            )
        except CogumiError:
            raise
        except Exception as ex:  # noqa: BLE001 - Inspect's task and option errors become one line
            raise PromotionError(
                f"evaluating {model} on task {task!r} failed: {type(ex).__name__}: {ex}"
            ) from ex
        log = logs[0]
        if log.status != "success":
            error = log.error.message if log.error else log.status
            raise PromotionError(
                f"evaluating {model} on task {task!r} did not finish ({error}); see {log.location}."
            )
        if task_name(log.eval.task) != task:
            raise PromotionError(
                f"--task {task}={overrides.get(task)} ran task {log.eval.task!r}, which the "
                f"spec's rules for {task!r} would not pair with; name the task {task!r} or "
                "change the spec."
            )
        files[task] = log.location
    return files


def _registered_task(task: str) -> str:
    """The Inspect registry name of the spec's task ``task``: ``cogumi/<task>`` or ``<task>``."""
    from inspect_ai._util.registry import registry_lookup

    for candidate in (REGISTRY_PREFIX + task, task):
        if registry_lookup("task", candidate) is not None:
            return candidate
    raise PromotionError(
        f"no registered Inspect task is named {task!r} (nor cogumi/{task}); say which task the "
        f"spec's {task!r} rules mean with --task {task}=<file.py@task or registry name>."
    )


def _for_registry(path: str, registry_file: Path) -> str:
    """A path as the registry stores it: relative to the registry file when under its project."""
    target = Path(path).resolve()
    home = registry_file.resolve().parent
    project = home.parent
    if target.is_relative_to(project):
        return os.path.relpath(target, home)
    return str(target)


def _from_registry(text: str, registry_file: Path) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else registry_file.parent / path


def _entry(
    model: str,
    *,
    digest: str,
    lineage: Mapping[str, Any],
    baseline: str | os.PathLike[str],
    baseline_files: Mapping[str, str],
    cand_files: Mapping[str, str],
    spec: GateSpec,
    report: GateReport,
    registry_file: Path,
) -> dict[str, Any]:
    from cogumi_eval import __version__

    rules = []
    for rule in report.rules:
        interval = rule.delta_interval
        rules.append(
            {
                "name": rule.name,
                "task": rule.task,
                "metric": rule.metric,
                "verdict": rule.verdict,
                "reason": rule.reason,
                "test": rule.test,
                "n": rule.n,
                "baseline": rule.baseline,
                "candidate": rule.candidate,
                "delta": rule.delta,
                "delta_low": interval.low if interval is not None else None,
                "delta_high": interval.high if interval is not None else None,
                "margin": rule.margin,
                "pvalue_adjusted": rule.pvalue_adjusted,
            }
        )
    baseline_text = os.fspath(baseline)
    baseline_is_path = Path(baseline_text).exists()
    return {
        "path": _for_registry(model, registry_file),
        "weights_sha256": digest,
        "promoted_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "baseline": _for_registry(baseline_text, registry_file)
        if baseline_is_path
        else baseline_text,
        "baseline_logs": [_for_registry(p, registry_file) for p in baseline_files.values()],
        "spec": _for_registry(spec.source, registry_file)
        if Path(spec.source).is_file()
        else spec.source,
        "logs": [_for_registry(p, registry_file) for p in cand_files.values()],
        "cogumi_version": __version__,
        "python": sys.version.split()[0],
        "lineage": _toml_ready(lineage),
        "gate": {
            "summary": report.summary(),
            "exit_code": report.exit_code,
            "correction": report.correction,
            "warnings": list(report.warnings),
            "rules": [_toml_ready(r) for r in rules],
        },
    }


def _toml_ready(value: Any) -> Any:
    """Drop None (TOML has no null) and empty tables; keep everything else as is."""
    if isinstance(value, Mapping):
        kept = {str(k): _toml_ready(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in kept.items() if v != {}}
    if isinstance(value, list | tuple):
        return [_toml_ready(v) for v in value if v is not None]
    return value


__all__ = [
    "LineageMismatch",
    "Promotion",
    "PromotionError",
    "RegistryError",
    "parse_options",
    "promote",
]
