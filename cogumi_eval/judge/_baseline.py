"""The baseline store: answers from a reference model, generated once and committed.

Layout: ``<root>/<task>/<model>.jsonl`` (``/`` in the model name becomes
``__``), one JSON record per line with sorted keys, lines sorted by sample id,
so a rebuild shows up in ``git diff`` as the lines that changed. ``root`` is
``$COGUMI_BASELINES_DIR``, else ``results/baselines`` under the working folder.

A record is keyed by task, sample id, the sha256 of the exact input the model
saw (``input_sha256``: the chat messages before its answer), the model and the
generation config (``config_sha256``). A sample whose input no longer hashes to
a stored record is refused, never matched by id alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inspect_ai.model import ChatMessage

from .._task_name import task_name
from ._errors import BaselineError, BaselineMissingError, BaselineStaleError

REQUIRED_FIELDS = ("task", "sample_id", "input_sha256", "model", "answer")

# Generation settings that can change an answer; operational ones (timeouts,
# retries, connections) are left out so they never split the store.
ANSWER_CONFIG_KEYS = (
    "system_message",
    "max_tokens",
    "top_p",
    "top_k",
    "temperature",
    "stop_seqs",
    "best_of",
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
    "seed",
    "num_choices",
    "reasoning_effort",
    "reasoning_tokens",
    "reasoning_mode",
    "effort",
    "verbosity",
    "response_schema",
)


# A task name as logs pair it: a leading ``cogumi/`` is dropped.
task_key = task_name


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def input_sha256(messages: Sequence[ChatMessage] | Sequence[Mapping[str, str]] | str) -> str:
    """sha256 of the exact input: the pre-answer messages as canonical JSON (a string is one
    user turn)."""
    if isinstance(messages, str):
        return sha256_text(canonical_json([{"role": "user", "content": messages}]))
    canonical: list[dict[str, str]] = []
    for message in messages:
        if isinstance(message, Mapping):
            role, content = str(message["role"]), str(message["content"])
        else:
            role, content = message.role, message.text
        if role == "assistant":
            break
        canonical.append({"role": role, "content": content})
    return sha256_text(canonical_json(canonical))


def answer_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The answer-changing part of a generation config, without unset values."""
    return {k: config[k] for k in ANSWER_CONFIG_KEYS if config.get(k) is not None}


def config_sha256(config: Mapping[str, Any]) -> str:
    return sha256_text(canonical_json(answer_config(config)))


def model_slug(model: str) -> str:
    """A file name for a model: ``openai/gpt-4-turbo`` -> ``openai__gpt-4-turbo``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", model.replace("/", "__"))


def default_baselines_dir() -> Path:
    configured = os.environ.get("COGUMI_BASELINES_DIR")
    return Path(configured) if configured else Path("results") / "baselines"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class BaselineRecord:
    """One stored baseline answer."""

    task: str
    sample_id: str
    input_sha256: str
    model: str
    answer: str
    config: dict[str, Any] = field(default_factory=dict)
    config_sha256: str = ""
    model_version: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float | None = None
    created_at: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if not self.config_sha256:
            object.__setattr__(self, "config_sha256", config_sha256(self.config))

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.task, self.sample_id, self.input_sha256, self.model, self.config_sha256)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> BaselineRecord:
        """Validate one decoded line; ``where`` ("file line N") prefixes every error."""
        missing = [f for f in REQUIRED_FIELDS if f not in data]
        if missing:
            raise BaselineError(f"{where}: missing field(s) {', '.join(missing)}")
        for name in REQUIRED_FIELDS:
            if not isinstance(data[name], str) or (name != "answer" and not data[name]):
                raise BaselineError(f"{where}: field {name!r} must be a non-empty string")
        config = data.get("config", {})
        if not isinstance(config, dict):
            raise BaselineError(f"{where}: field 'config' must be an object")
        expected = config_sha256(config)
        if data.get("config_sha256") and data["config_sha256"] != expected:
            raise BaselineError(
                f"{where}: config_sha256 {data['config_sha256'][:12]}… does not match its config "
                f"({expected[:12]}…); the line was edited by hand — "
                "restore it or drop config_sha256"
            )
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise BaselineError(f"{where}: unknown field(s) {', '.join(unknown)}")
        values = {k: v for k, v in data.items() if k in known}
        values["task"] = task_key(values["task"])
        values["sample_id"] = str(values["sample_id"])
        return cls(**values)


def parse_baseline_lines(lines: Iterable[str], source: str) -> list[BaselineRecord]:
    """Records from JSONL text; malformed lines and duplicate keys are errors naming the line."""
    records: list[BaselineRecord] = []
    first_line: dict[tuple[str, ...], int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source} line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as ex:
            raise BaselineError(f"{where}: not valid JSON ({ex.msg})") from ex
        if not isinstance(data, dict):
            raise BaselineError(f"{where}: expected a JSON object")
        record = BaselineRecord.from_mapping(data, where)
        if record.key in first_line:
            raise BaselineError(
                f"{where}: duplicate of line {first_line[record.key]} (same task, sample id "
                f"{record.sample_id!r}, input, model and config); delete one of them"
            )
        first_line[record.key] = number
        records.append(record)
    return records


@dataclass(frozen=True)
class AddResult:
    """What ``BaselineStore.add`` did."""

    added: int
    already_stored: int
    files: list[str]


class BaselineStore:
    """Baseline answers on disk (``root``) or in memory (``BaselineStore.of(records)``).

    Args:
        root: the folder (default ``$COGUMI_BASELINES_DIR`` or ``results/baselines``).
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root: Path | None = Path(root) if root is not None else default_baselines_dir()
        self._loaded: dict[tuple[str, str], list[BaselineRecord]] = {}
        self._memory: bool = False
        self._label = "<memory>"

    @classmethod
    def of(cls, records: Iterable[BaselineRecord], label: str = "<memory>") -> BaselineStore:
        """An in-memory store (e.g. answers read from an eval log)."""
        store = cls(root=None)
        store.root = None
        store._memory = True
        store._label = label
        for record in records:
            store._loaded.setdefault((record.task, record.model), []).append(record)
        return store

    def describe(self) -> str:
        return self._label if self._memory else str(self.root)

    def file_for(self, task: str, model: str) -> Path:
        if self.root is None:
            raise BaselineError("this baseline store is in memory and has no files")
        return self.root / task_key(task) / f"{model_slug(model)}.jsonl"

    def _read(self, path: Path) -> list[BaselineRecord]:
        with path.open(encoding="utf-8") as handle:
            return parse_baseline_lines(handle, str(path))

    def records(self, task: str, model: str) -> list[BaselineRecord]:
        """Every record for ``task`` from ``model`` (validated; empty when there is no file)."""
        key = (task_key(task), model)
        if key not in self._loaded:
            if self._memory:
                return []
            path = self.file_for(task, model)
            records = self._read(path) if path.is_file() else []
            for number, record in enumerate(records, start=1):
                if record.task != key[0] or record.model != model:
                    raise BaselineError(
                        f"{path}: record {number} is for {record.task}/{record.model}, not "
                        f"{key[0]}/{model}; move it with `cogumi baseline import`"
                    )
            self._loaded[key] = records
        return self._loaded[key]

    def tasks(self) -> list[str]:
        if self._memory:
            return sorted({t for t, _ in self._loaded})
        if self.root is None or not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and any(p.glob("*.jsonl")))

    def models(self, task: str) -> list[str]:
        """Models with answers for ``task`` (read from the records, since file names are lossy)."""
        if self._memory:
            return sorted({m for t, m in self._loaded if t == task_key(task)})
        assert self.root is not None
        folder = self.root / task_key(task)
        found: set[str] = set()
        for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
            found.update(r.model for r in self._read(path))
        return sorted(found)

    def lookup(
        self,
        task: str,
        sample_id: str | int,
        model: str,
        input_hash: str,
        config: str | None = None,
    ) -> BaselineRecord:
        """The stored answer for this exact input, or an error that says what to do.

        Args:
            config: a ``config_sha256`` prefix, needed only when answers from several
                generation configs are stored for the same input.
        """
        sample = str(sample_id)
        same_sample = [r for r in self.records(task, model) if r.sample_id == sample]
        where = self.describe() if self._memory else str(self.file_for(task, model))
        if not same_sample:
            raise BaselineMissingError(
                f"{task_key(task)} sample {sample} has no baseline answer from {model} in {where}: "
                f"run `cogumi baseline build <task file> --model {model}` "
                "(with the same -T options "
                "as this run), or allow_missing=true to score it 'error'"
            )
        matching = [r for r in same_sample if r.input_sha256 == input_hash]
        if config:
            matching = [r for r in matching if r.config_sha256.startswith(config)]
        if not matching:
            stored = ", ".join(sorted({r.input_sha256[:12] for r in same_sample}))
            raise BaselineStaleError(
                f"{task_key(task)} sample {sample}: the stored answer from {model} in {where} was "
                f"generated for a different input (stored {stored}…, this run "
                f"{input_hash[:12]}…): the prompt, few-shot block or task options changed. "
                f"Rebuild it with `cogumi baseline build <task file> --model {model}` and the same "
                "-T options as this run; it is never reused for a different input"
            )
        if len(matching) > 1:
            configs = ", ".join(f"{r.config_sha256[:12]} {r.config}" for r in matching)
            raise BaselineError(
                f"{task_key(task)} sample {sample}: {len(matching)} answers from {model} for this "
                f"input, from different generation configs ({configs}); pick one with "
                "baseline_config=<sha prefix>"
            )
        return matching[0]

    @contextlib.contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{path}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def append(self, record: BaselineRecord) -> None:
        """Append one answer durably (flushed and fsynced) — used while a build runs.

        The file is re-sorted by the next ``add`` or ``normalise``; a build that is
        killed keeps every answer already appended.
        """
        if self._memory:
            self._loaded.setdefault((record.task, record.model), []).append(record)
            return
        path = self.file_for(record.task, record.model)
        with self._locked(path), path.open("a", encoding="utf-8") as handle:
            handle.write(record.to_json() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self._loaded.pop((record.task, record.model), None)

    def add(self, records: Iterable[BaselineRecord]) -> AddResult:
        """Merge records into their files (sorted rewrite); records already stored are skipped."""
        by_file: dict[tuple[str, str], list[BaselineRecord]] = {}
        for record in records:
            by_file.setdefault((record.task, record.model), []).append(record)
        added = already = 0
        files: list[str] = []
        for (task, model), new in sorted(by_file.items()):
            if self._memory:
                self._loaded.setdefault((task, model), []).extend(new)
                added += len(new)
                continue
            path = self.file_for(task, model)
            with self._locked(path):
                self._loaded.pop((task, model), None)
                existing = {r.key: r for r in self.records(task, model)}
                for record in new:
                    if record.key in existing:
                        already += 1
                    else:
                        existing[record.key] = record
                        added += 1
                self._write(path, list(existing.values()))
                self._loaded.pop((task, model), None)
            files.append(str(path))
        return AddResult(added, already, files)

    def normalise(self, task: str, model: str) -> None:
        """Rewrite one file sorted (after appends)."""
        if self._memory:
            return
        path = self.file_for(task, model)
        with self._locked(path):
            self._loaded.pop((task_key(task), model), None)
            self._write(path, self.records(task, model))
            self._loaded.pop((task_key(task), model), None)

    @staticmethod
    def _write(path: Path, records: list[BaselineRecord]) -> None:
        ordered = sorted(
            records, key=lambda r: (_natural(r.sample_id), r.input_sha256, r.config_sha256)
        )
        tmp = path.with_suffix(".jsonl.tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            for record in ordered:
                handle.write(record.to_json() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)


def _natural(sample_id: str) -> list[Any]:
    """Sort key that puts ``HumanEval/9`` before ``HumanEval/10``."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", sample_id)]


def record_created_now() -> str:
    return _now()
