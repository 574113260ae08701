"""The replay backend: recorded completions served back, matched to each request.

A source is an eval log (``.eval`` / ``.json``) or a JSONL file. Each request is
matched to its recording by the active sample's id and epoch; failing that, by
a hash of the request's messages (eval logs) or by the sample's input text,
whitespace-normalised (JSONL ``-M input=``). A request with no recording is an
error that names the sample: an empty answer would score as a wrong one and
hide the gap.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspect_ai.model import ChatMessage, GenerateConfig, ModelOutput, ModelUsage

from .._digest import sha256_file
from .._offline import estimated_tokens
from ._errors import ReplayError
from ._lineage import Determinism, Lineage
from ._options import check_options
from ._read import read_lineage
from ._ref import candidate_paths


def normalise_text(text: str) -> str:
    """Collapse all runs of whitespace to one space (how inputs are compared)."""
    return " ".join(text.split())


def messages_key(messages: list[ChatMessage]) -> str:
    """A hash of a request's messages (role and whitespace-normalised text)."""
    digest = hashlib.sha256()
    for message in messages:
        digest.update(f"{message.role}\x1f{normalise_text(message.text)}\x1e".encode())
    return digest.hexdigest()


def dotted(record: Any, path: str) -> Any:
    """``record["a"]["b"]`` for ``path="a.b"``; KeyError when any step is missing."""
    value = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(path)
        value = value[part]
    return value


def field_paths(record: Any, prefix: str = "") -> list[str]:
    """Every dotted path to a leaf of ``record`` (shown when a field name is wrong)."""
    if not isinstance(record, dict):
        return [prefix] if prefix else []
    paths: list[str] = []
    for key, value in record.items():
        paths.extend(
            field_paths(value, f"{prefix}{key}.") if isinstance(value, dict) else [f"{prefix}{key}"]
        )
    return [p.rstrip(".") for p in paths]


@dataclass(frozen=True)
class RequestContext:
    """What identifies a request: the active sample (when in an eval) and the messages."""

    sample_id: str | None
    epoch: int | None
    sample_input: str | None
    messages: list[ChatMessage]
    call_index: int

    def describe(self) -> str:
        if self.sample_id is None:
            return "a request made outside any eval sample"
        return f"sample {self.sample_id!r} (epoch {self.epoch})"


class EvalLogRecordings:
    """Recordings from an eval log: every main-model call of every sample, in order."""

    format = "eval-log"

    def __init__(self, path: Path) -> None:
        from inspect_ai.log import read_eval_log

        log = read_eval_log(str(path), resolve_attachments=True)
        self.model = log.eval.model
        self.lineage = read_lineage(log)
        self.by_sample: dict[tuple[str, int], list[ModelOutput]] = {}
        self.by_messages: dict[tuple[str, int], ModelOutput] = {}
        self.epochs: dict[str, set[int]] = defaultdict(set)
        for sample in log.samples or []:
            outputs: list[ModelOutput] = []
            for event in sample.events:
                if (
                    event.event == "model"
                    and event.role is None
                    and event.model == self.model
                    and event.error is None
                ):
                    outputs.append(event.output)
                    self.by_messages.setdefault(
                        (messages_key(event.input), sample.epoch), event.output
                    )
            if not outputs and sample.output and sample.output.choices:
                outputs = [sample.output]
            key = (str(sample.id), sample.epoch)
            self.by_sample[key] = outputs
            self.epochs[str(sample.id)].add(sample.epoch)
        if not self.by_sample:
            raise ReplayError(
                f"eval log {path} holds no samples to replay; replay a log written with samples "
                "(the default; not --no-log-samples)."
            )

    def find(self, request: RequestContext) -> tuple[ModelOutput, str] | None:
        if request.sample_id is not None and request.epoch is not None:
            outputs = self.by_sample.get((request.sample_id, request.epoch))
            if outputs is not None and request.call_index < len(outputs):
                return outputs[request.call_index], "sample id and epoch"
        recorded = self.by_messages.get((messages_key(request.messages), request.epoch or 1))
        if recorded is not None:
            return recorded, "input hash"
        return None

    def explain_missing(self, request: RequestContext) -> str:
        if request.sample_id is not None and request.sample_id in self.epochs:
            recorded = self.epochs[request.sample_id]
            count = len(self.by_sample.get((request.sample_id, request.epoch or 1), []))
            if request.epoch not in recorded:
                return f"the log recorded epochs {sorted(recorded)} of that sample"
            return (
                f"the log recorded {count} model call(s) for it; "
                f"this is call {request.call_index + 1}"
            )
        return "the log has no sample with that id and no call with the same input"


class JsonlRecordings:
    """Recordings from a JSONL file whose records name their input and response fields."""

    format = "jsonl"

    def __init__(self, path: Path, response: str | None, input: str | None, id: str | None) -> None:
        records = []
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        records.append(json.loads(line))
                    except json.JSONDecodeError as ex:
                        raise ReplayError(f"{path} line {number} is not JSON ({ex}).") from ex
        if not records:
            raise ReplayError(f"{path} holds no records to replay.")
        fields = ", ".join(field_paths(records[0]))
        if response is None or (input is None and id is None):
            missing = (
                "-M response=<field>" if response is None else "-M input=<field> or -M id=<field>"
            )
            raise ReplayError(
                f"replaying the JSONL file {path} needs {missing}: "
                "name the fields as dotted paths. "
                f"Fields in its first record: {fields}."
            )
        for name, field in (("response", response), ("input", input), ("id", id)):
            if field is not None:
                try:
                    dotted(records[0], field)
                except KeyError:
                    raise ReplayError(
                        f"-M {name}={field} is not a field of {path}; "
                        f"its first record has: {fields}."
                    ) from None
        self.model = None
        self.lineage = None
        self.by_id: dict[str, str] = {}
        self.by_input: dict[str, str] = {}
        for number, record in enumerate(records, start=1):
            try:
                text = dotted(record, response)
            except KeyError:
                raise ReplayError(f"{path} line {number} has no field {response!r}.") from None
            text = text if isinstance(text, str) else json.dumps(text)
            if id is not None:
                self.by_id[str(dotted(record, id))] = text
            if input is not None:
                self.by_input.setdefault(normalise_text(str(dotted(record, input))), text)
        # longest first, so containment matching prefers the most specific question
        self._inputs = sorted(self.by_input, key=len, reverse=True)

    def find(self, request: RequestContext) -> tuple[ModelOutput, str] | None:
        text: str | None = None
        how = ""
        if request.sample_id is not None and request.sample_id in self.by_id:
            text, how = self.by_id[request.sample_id], "sample id"
        elif (
            request.sample_input is not None
            and normalise_text(request.sample_input) in self.by_input
        ):
            text, how = self.by_input[normalise_text(request.sample_input)], "sample input"
        elif self.by_input and request.messages:
            # outside an eval (or a sample without a match): the question inside the prompt
            prompt = normalise_text(request.messages[-1].text)
            found = next((q for q in self._inputs if q and q in prompt), None)
            if found is not None:
                text, how = self.by_input[found], "input within the prompt"
        if text is None:
            return None
        output = ModelOutput.from_content(model="replay", content=text, stop_reason="stop")
        prompt_tokens = sum(estimated_tokens(m.text) for m in request.messages)
        completion_tokens = estimated_tokens(text)
        output.usage = ModelUsage(
            input_tokens=prompt_tokens,
            output_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )
        return output, how

    def explain_missing(self, request: RequestContext) -> str:
        return "no record's id or input text matches it"


def _locate_source(source: str) -> Path:
    for candidate in candidate_paths(source):
        if candidate.is_file():
            return candidate.resolve()
    tried = ", ".join(str(c) for c in candidate_paths(source))
    raise ReplayError(
        f"replay source {source!r} not found (tried {tried}); "
        "pass -M source=<eval log or JSONL file>."
    )


class ReplayBackend:
    """Serves recorded outputs; see the module docstring for how requests are matched."""

    name = "replay"
    context: int | None = None

    def __init__(self, model_name: str, model_args: dict[str, Any]) -> None:
        check_options("replay", {k: v for k, v in model_args.items() if k != "backend"})
        source = model_args.get("source")
        if not source:
            raise ReplayError(
                "the replay backend needs -M source=<eval log (.eval/.json) or JSONL file>."
            )
        self.path = _locate_source(str(source))
        self.model_name = model_name
        fields = {k: model_args.get(k) for k in ("response", "input", "id")}
        if self.path.suffix in (".eval", ".json"):
            extra = [f"-M {k}" for k, v in fields.items() if v is not None]
            if extra:
                raise ReplayError(
                    f"{', '.join(extra)} only apply to a JSONL source; an eval log's recordings "
                    "are matched by sample id, epoch and input."
                )
            self.recordings: EvalLogRecordings | JsonlRecordings = EvalLogRecordings(self.path)
        else:
            self.recordings = JsonlRecordings(
                self.path, **{k: (str(v) if v is not None else None) for k, v in fields.items()}
            )
        self.fields = {k: str(v) for k, v in fields.items() if v is not None}
        self._calls: dict[str, int] = defaultdict(int)
        self.lineage = Lineage(
            ref=model_name,
            kind="replay",
            path=str(self.path),
            replay={
                "source": str(self.path),
                "sha256": sha256_file(self.path),
                "format": self.recordings.format,
                **self.fields,
                "recorded_model": self.recordings.model,
                "recorded_lineage": self.recordings.lineage,
            },
        )

    @property
    def max_connections(self) -> int:
        return 256

    def determinism(self, config: GenerateConfig) -> Determinism:
        return Determinism(backend="replay", decoding="recorded", seed=config.seed)

    def _context(self, messages: list[ChatMessage]) -> RequestContext:
        from inspect_ai.log._samples import sample_active

        active = sample_active()
        if active is None:
            return RequestContext(None, None, None, messages, 0)
        sample = active.sample
        sample_input = (
            sample.input
            if isinstance(sample.input, str)
            else " ".join(m.text for m in sample.input if m.role == "user")
        )
        index = self._calls[active.id]
        self._calls[active.id] += 1
        return RequestContext(str(sample.id), active.epoch, sample_input, messages, index)

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        request = self._context(messages)
        found = self.recordings.find(request)
        if found is None:
            raise ReplayError(
                f"replay source {self.path} has no recording for {request.describe()}: "
                f"{self.recordings.explain_missing(request)}. Replay the log or file that was "
                "recorded for this task and dataset (same sample ids and epochs), or evaluate "
                "the sample with a live model."
            )
        output, how = found
        output = output.model_copy(deep=True)
        if self.recordings.format == "jsonl":
            output.model = self.model_name
        output.metadata = {**(output.metadata or {}), "replay": {"matched_by": how}}
        return output

    def close(self) -> None:
        self._calls.clear()
