"""Supervised fine-tuning records: reading JSONL, and token ids with the loss on responses only.

A record is either a chat (``{"messages": [{"role": ..., "content": ...}, ...]}``,
ending in an assistant turn) or an instruction pair (``{"instruction": ...,
"response": ...}``, with optional ``input`` appended to the instruction and
optional ``system``). Both become a list of messages.

The prompt is rendered exactly as the ``cogumi`` hf backend renders it at
evaluation time, so the adapter is trained on the tokens it will be asked with:

- with a chat template (``tokenizer.chat_template``): each assistant turn's
  prompt is the template applied to the messages before it with
  ``add_generation_prompt=True``; the turn's target is what the template adds
  for the turn itself (its text and end-of-turn tokens);
- without one (a base model): the texts of the messages before the last assistant
  turn joined by blank lines, as one plain document; the target is a blank line,
  the last response and the EOS token (a plain document marks no earlier turns).

Labels are ``-100`` on every prompt token, so the loss is on response tokens only.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cogumi_eval._errors import CogumiError

IGNORE = -100
"""The label that excludes a token from the loss (the value transformers' loss skips)."""

PLAIN_FORMAT = "plain: messages joined by blank lines, then a blank line, the response and EOS"
TEMPLATE_FORMAT = "chat template: prompt with add_generation_prompt=True, target = the turn"


class TrainingDataError(CogumiError):
    """A training data file is missing, empty, or holds a record that cannot be used."""


@dataclass(frozen=True)
class Example:
    """One tokenized record: ``labels`` is ``IGNORE`` on prompt tokens."""

    input_ids: list[int]
    labels: list[int]
    line: int
    """The record's line in the data file (1-based)."""

    @property
    def target_tokens(self) -> int:
        return sum(1 for t in self.labels if t != IGNORE)


@dataclass(frozen=True)
class EncodedData:
    """A data file as training examples, with what was cut or left out."""

    path: Path
    sha256: str
    records: int
    examples: list[Example]
    truncated: int
    """Examples cut to ``max_length`` (their response kept up to the cut)."""
    dropped: int
    """Records left with no response token inside ``max_length``."""
    format: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "records": self.records,
            "examples": len(self.examples),
            "truncated": self.truncated,
            "dropped": self.dropped,
            "format": self.format,
            "target_tokens": sum(e.target_tokens for e in self.examples),
        }


def read_records(path: str | os.PathLike[str]) -> tuple[Path, list[tuple[int, dict[str, Any]]]]:
    """The JSON objects of a JSONL file with their line numbers (blank lines skipped).

    Raises:
        TrainingDataError: the file is missing, a line is not a JSON object, or none is there.
    """
    file = Path(path)
    if not file.is_file():
        raise TrainingDataError(f"training data {file} does not exist; pass --data <file.jsonl>.")
    records: list[tuple[int, dict[str, Any]]] = []
    with file.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as ex:
                raise TrainingDataError(
                    f"{file} line {number} is not JSON ({ex.msg}); each line must be one JSON "
                    "object (clean the file with `cogumi train filter`)."
                ) from ex
            if not isinstance(record, dict):
                raise TrainingDataError(
                    f"{file} line {number} is a JSON {type(record).__name__}, not an object with "
                    "`messages` or `instruction`/`response`."
                )
            records.append((number, record))
    if not records:
        raise TrainingDataError(
            f"training data {file} holds no records; it needs JSONL lines with `messages` or "
            "`instruction`/`response`."
        )
    return file, records


def record_messages(record: dict[str, Any], where: str) -> list[dict[str, str]]:
    """A record as chat messages (``role``, ``content``), ending in an assistant turn.

    Raises:
        TrainingDataError: neither shape, a malformed message, or no assistant turn.
    """
    fix = (
        'give each record `messages` ([{"role": "user", "content": ...}, {"role": '
        '"assistant", "content": ...}]) or `instruction` and `response` strings'
    )
    if "messages" in record:
        raw = record["messages"]
        if not isinstance(raw, list) or not raw:
            raise TrainingDataError(f"{where}: `messages` must be a non-empty list; {fix}.")
        messages = []
        for i, message in enumerate(raw):
            if not (
                isinstance(message, dict)
                and isinstance(message.get("role"), str)
                and isinstance(message.get("content"), str)
            ):
                raise TrainingDataError(
                    f"{where}: message {i} needs string `role` and `content`; {fix}."
                )
            messages.append({"role": message["role"], "content": message["content"]})
        if not any(m["role"] == "assistant" and m["content"].strip() for m in messages):
            raise TrainingDataError(
                f"{where}: no assistant message with content, so there is nothing to learn; {fix}."
            )
        return messages
    instruction, response = record.get("instruction"), record.get("response")
    if not isinstance(instruction, str) or not isinstance(response, str):
        present = ", ".join(sorted(record)) or "no fields"
        raise TrainingDataError(f"{where} has {present}; {fix}.")
    if not response.strip():
        raise TrainingDataError(f"{where}: `response` is empty, so there is nothing to learn.")
    extra = record.get("input")
    prompt = (
        f"{instruction}\n\n{extra}" if isinstance(extra, str) and extra.strip() else instruction
    )
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
    system = record.get("system")
    if isinstance(system, str) and system.strip():
        messages.insert(0, {"role": "system", "content": system})
    return messages


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def prompt_ids(tokenizer: Any, messages: list[dict[str, str]]) -> list[int]:
    """The tokens the model is asked with before an assistant turn (as the hf backend renders)."""
    if has_chat_template(tokenizer):
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return list(tokenizer(text, add_special_tokens=False)["input_ids"])
    text = "\n\n".join(m["content"] for m in messages if m["content"])
    return list(tokenizer(text)["input_ids"])


def _template_segments(
    tokenizer: Any, messages: list[dict[str, str]], where: str
) -> list[tuple[str, bool]]:
    """(text, is_target) pieces whose concatenation is the templated conversation."""

    def render(upto: int, generation: bool) -> str:
        return str(
            tokenizer.apply_chat_template(
                messages[:upto], tokenize=False, add_generation_prompt=generation
            )
        )

    segments: list[tuple[str, bool]] = []
    done = ""
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt, full = render(i, True), render(i + 1, False)
        if not (prompt.startswith(done) and full.startswith(prompt)):
            # templates that rewrite earlier turns (e.g. drop reasoning) are trained on the last
            # assistant turn only, whose prompt is exactly what evaluation renders
            last = max(j for j, m in enumerate(messages) if m["role"] == "assistant")
            prompt, full = render(last, True), render(last + 1, False)
            if not full.startswith(prompt):
                raise TrainingDataError(
                    f"{where}: the tokenizer's chat template does not render the conversation "
                    "as its prompt followed by the answer, so the response tokens cannot be "
                    "located; use a template without that rewriting or instruction/response data."
                )
            return [(prompt, False), (full[len(prompt) :], True)]
        segments += [(prompt[len(done) :], False), (full[len(prompt) :], True)]
        done = full
    return segments


def encode_record(
    tokenizer: Any, messages: list[dict[str, str]], max_length: int, where: str, line: int
) -> tuple[Example | None, bool]:
    """One record as an ``Example`` cut to ``max_length`` (None if no target token fits), and
    whether it was cut."""
    ids: list[int] = []
    labels: list[int] = []
    if has_chat_template(tokenizer):
        for text, target in _template_segments(tokenizer, messages, where):
            piece = list(tokenizer(text, add_special_tokens=False)["input_ids"])
            ids += piece
            labels += piece if target else [IGNORE] * len(piece)
    else:
        eos = tokenizer.eos_token_id
        if eos is None:
            raise TrainingDataError(
                f"{where}: the tokenizer has neither a chat template nor an EOS token, so a "
                "response's end cannot be taught; save a tokenizer with an eos_token."
            )
        # one plain document has no turn markers, so only the last answer is a target
        last = max(j for j, m in enumerate(messages) if m["role"] == "assistant")
        ids = prompt_ids(tokenizer, messages[:last])
        answer = list(
            tokenizer("\n\n" + messages[last]["content"], add_special_tokens=False)["input_ids"]
        ) + [int(eos)]
        labels = [IGNORE] * len(ids) + answer
        ids = ids + answer
    cut = len(ids) > max_length
    ids, labels = ids[:max_length], labels[:max_length]
    if not any(t != IGNORE for t in labels):
        return None, cut
    return Example(input_ids=ids, labels=labels, line=line), cut


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def encode_file(path: str | os.PathLike[str], tokenizer: Any, max_length: int) -> EncodedData:
    """Every record of a JSONL file as a training example.

    Raises:
        TrainingDataError: a bad record (named by file and line), or no record with a response
            token within ``max_length``.
    """
    file, records = read_records(path)
    examples: list[Example] = []
    truncated = dropped = 0
    for line, record in records:
        where = f"{file} line {line}"
        example, cut = encode_record(
            tokenizer, record_messages(record, where), max_length, where, line
        )
        if example is None:
            dropped += 1
        else:
            truncated += cut
            examples.append(example)
    if not examples:
        raise TrainingDataError(
            f"no record of {file} has a response token within --max-length {max_length}; "
            "raise --max-length or shorten the prompts."
        )
    return EncodedData(
        path=file.resolve(),
        sha256=file_sha256(file),
        records=len(records),
        examples=examples,
        truncated=truncated,
        dropped=dropped,
        format=TEMPLATE_FORMAT if has_chat_template(tokenizer) else PLAIN_FORMAT,
    )


def probe_prompts(path: str | os.PathLike[str], tokenizer: Any, limit: int) -> list[list[int]]:
    """Prompt token ids (the messages before each record's last assistant turn), ``limit`` at most.

    A file whose lines are not JSON objects is read as one prompt per non-empty line.
    """
    file = Path(path)
    if not file.is_file():
        raise TrainingDataError(f"probe file {file} does not exist; pass --probes <file>.")
    lines = [t for t in file.read_text(encoding="utf-8").splitlines() if t.strip()]
    prompts: list[list[int]] = []
    for number, text in enumerate(lines, start=1):
        if len(prompts) >= limit:
            break
        try:
            record = json.loads(text)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict):
            messages = record_messages(record, f"{file} line {number}")
            last = max(j for j, m in enumerate(messages) if m["role"] == "assistant")
            prompts.append(prompt_ids(tokenizer, messages[:last]))
        else:
            prompts.append(prompt_ids(tokenizer, [{"role": "user", "content": text}]))
    if not prompts:
        raise TrainingDataError(f"probe file {file} holds no prompts.")
    return prompts
