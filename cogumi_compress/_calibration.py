"""Calibration samples: drawn with a seed from the task datasets or a user's JSONL, and hashed.

``gsm8k:256,mmlu:256`` takes 256 GSM8K *train* problems and 256 MMLU
*validation* questions: never the test splits the gate scores, so
calibration cannot tune the compressed model to the questions it is judged
on. Each sample is the task's own prompt followed by a worked answer, the text
the model sees and writes at evaluation time. The same spec and seed give the
same samples, in the same order, on every machine; the hash in the lineage
proves it.

A JSONL source holds one object per line, ``{"text": ...}`` or
``{"prompt": ..., "completion": ...}``; ``data.jsonl`` takes every line,
``data.jsonl:128`` a seeded draw of 128.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import CalibrationError

MIN_SAMPLES = 8
"""Fewer samples than this give GPTQ, AWQ and SparseGPT too few tokens to estimate a layer's
input statistics (a Hessian of hidden x hidden from a handful of rows is mostly dampening)."""

TASK_SOURCES = ("gsm8k", "mmlu")


@dataclass(frozen=True)
class CalibrationSet:
    """The calibration texts and where they came from."""

    spec: str
    seed: int
    texts: tuple[str, ...]
    sources: dict[str, int] = field(default_factory=dict)
    """Samples taken from each source (``gsm8k``, ``mmlu``, or a file path)."""
    splits: dict[str, str] = field(default_factory=dict)
    """The split each task source was drawn from."""

    @property
    def sha256(self) -> str:
        """The hash of the texts in order: equal hashes mean identical calibration."""
        digest = hashlib.sha256()
        for text in self.texts:
            digest.update(hashlib.sha256(text.encode()).digest())
        return digest.hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "seed": self.seed,
            "samples": len(self.texts),
            "sources": dict(self.sources),
            "splits": dict(self.splits),
            "sha256": self.sha256,
        }


def _gsm8k_texts(data_dir: str | os.PathLike[str] | None) -> list[str]:
    from cogumi_eval.data import load_gsm8k
    from cogumi_eval.tasks.gsm8k import PROMPT, fewshot_exemplar

    texts = []
    for record in load_gsm8k("train", data_dir=data_dir):
        # the exemplar is "Question: q\n\n<reasoning>\nANSWER: n"; the prompt has the question
        worked = fewshot_exemplar(record).removeprefix(f"Question: {record.question}")
        texts.append(
            PROMPT.replace("{fewshot}", "").replace("{question}", record.question) + worked
        )
    return texts


def _mmlu_texts(data_dir: str | os.PathLike[str] | None) -> list[str]:
    from cogumi_eval.data import load_mmlu
    from cogumi_eval.tasks.mmlu import PROMPT, format_question, subject_title

    return [
        PROMPT.replace("{subject}", subject_title(r.subject))
        .replace("{fewshot}", "")
        .replace("{question}", format_question(r))
        + f"\nANSWER: {r.answer}"
        for r in load_mmlu("val", data_dir=data_dir)
    ]


_TASKS: dict[str, tuple[str, Callable[[Any], list[str]]]] = {
    "gsm8k": ("train", _gsm8k_texts),
    "mmlu": ("val", _mmlu_texts),
}


def _jsonl_texts(path: Path) -> list[str]:
    texts = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as ex:
                raise CalibrationError(f"{path} line {number} is not JSON ({ex}).") from ex
            if isinstance(obj, dict) and isinstance(obj.get("text"), str):
                texts.append(obj["text"])
            elif isinstance(obj, dict) and isinstance(obj.get("prompt"), str):
                texts.append(obj["prompt"] + str(obj.get("completion") or ""))
            else:
                raise CalibrationError(
                    f"{path} line {number} has neither a string 'text' nor a 'prompt' field; "
                    'write one {"text": ...} or {"prompt": ..., "completion": ...} object per line.'
                )
    return texts


def _split_count(part: str) -> tuple[str, int | None]:
    name, sep, count = part.rpartition(":")
    if not sep or not count.strip().isdigit():
        return part, None
    return name, int(count)


def _draw(texts: list[str], count: int | None, seed: int, source: str) -> list[str]:
    if count is None:
        return texts
    if count <= 0:
        raise CalibrationError(
            f"calibration source {source} asks for {count} samples; ask for 1 or more."
        )
    if count > len(texts):
        raise CalibrationError(
            f"calibration source {source} holds {len(texts)} samples but {count} were asked for; "
            f"ask for at most {len(texts)} or add another source."
        )
    return [texts[i] for i in random.Random(f"{seed}:{source}").sample(range(len(texts)), count)]


def calibration_set(
    spec: str, *, seed: int = 0, data_dir: str | os.PathLike[str] | None = None
) -> CalibrationSet:
    """Draw the calibration samples that ``spec`` names.

    Args:
        spec: comma-separated sources: ``gsm8k:N`` and ``mmlu:N`` (the task datasets,
            ``COGUMI_DATA_DIR``), or a JSONL file, optionally ``path.jsonl:N``.
        seed: the seed of every draw (each source is drawn with its own stream, so
            adding a source does not change the others' samples).
        data_dir: the benchmark data folder (default ``$COGUMI_DATA_DIR``).

    Raises:
        CalibrationError: a source is missing or malformed, or holds fewer samples than
            asked; or fewer than ``MIN_SAMPLES`` samples in all.
    """
    from cogumi_eval.data import DataError

    texts: list[str] = []
    sources: dict[str, int] = {}
    splits: dict[str, str] = {}
    parts = [p.strip() for p in str(spec).split(",") if p.strip()]
    if not parts:
        raise CalibrationError(
            "no calibration source given; pass e.g. --calibration gsm8k:256,mmlu:256."
        )
    for part in parts:
        name, count = _split_count(part)
        if name.lower() in _TASKS:
            key = name.lower()
            split, load = _TASKS[key]
            if count is None:
                raise CalibrationError(
                    f"calibration source {part!r} needs a count, e.g. {key}:256."
                )
            try:
                pool = load(data_dir)
            except DataError as ex:
                raise CalibrationError(f"calibration source {key} cannot be read: {ex}") from ex
            splits[key] = split
        else:
            path = Path(name).expanduser()
            if not path.is_file():
                raise CalibrationError(
                    f"calibration source {part!r} is neither a task ({', '.join(TASK_SOURCES)}) "
                    f"nor an existing JSONL file ({path} not found)."
                )
            key = str(path)
            pool = _jsonl_texts(path)
        drawn = [t for t in _draw(pool, count, seed, key) if t.strip()]
        texts.extend(drawn)
        sources[key] = sources.get(key, 0) + len(drawn)
    if len(texts) < MIN_SAMPLES:
        raise CalibrationError(
            f"calibration spec {spec!r} gives {len(texts)} non-empty samples; at least "
            f"{MIN_SAMPLES} are needed to estimate each layer's input statistics "
            "(256 or more is usual)."
        )
    return CalibrationSet(
        spec=str(spec), seed=seed, texts=tuple(texts), sources=sources, splits=splits
    )
