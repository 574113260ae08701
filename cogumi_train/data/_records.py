"""JSONL records: the text field a step reads, a record's id, and lines that are not records.

A line that is not JSON, is not an object, or lacks the text field is a
``BadLine``: counted and skipped, or raised as ``BadLineError`` under ``strict``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cogumi_eval._errors import CogumiError


class DataError(CogumiError):
    """A training-data input that cannot be read as asked."""


class BadLineError(DataError):
    """A JSONL line that is not a record with the text field (raised under ``strict``)."""


@dataclass(frozen=True)
class FieldPath:
    """Where a record's text is: ``meta.body`` (dotted) or ``instruction+response`` (joined).

    Joined fields are separated by a newline, so ``a+b`` of ``{"a": "x", "b": "y"}``
    is ``"x\\ny"``; a number in a dotted path indexes a list (``messages.0.content``).
    """

    spec: str
    parts: tuple[tuple[str, ...], ...]

    @classmethod
    def parse(cls, spec: str) -> FieldPath:
        parts = tuple(tuple(p.split(".")) for p in spec.split("+"))
        if not spec or any(not k for path in parts for k in path):
            raise DataError(
                f"--field {spec!r} is not a field path: use a name (text), a dotted path "
                "(meta.body) or names joined by + (instruction+response)"
            )
        return cls(spec, parts)

    def text(self, record: dict[str, Any]) -> str:
        """The record's text; raises ``KeyError`` naming the missing part."""
        pieces = []
        for path in self.parts:
            value: Any = record
            for key in path:
                if isinstance(value, dict) and key in value:
                    value = value[key]
                elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                    value = value[int(key)]
                else:
                    raise KeyError(".".join(path))
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                raise KeyError(f"{'.'.join(path)} (a {type(value).__name__}, not text)")
            pieces.append(value)
        return "\n".join(pieces)


@dataclass(frozen=True)
class BadLine:
    """A line that is not a usable record, named by file and line number."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


def parse_line(
    raw: bytes, field: FieldPath, id_field: str, line: int
) -> tuple[Any, bool, str] | str:
    """``(id, id is the line number, text)`` of one JSONL line, or why it is not a record.

    The id is the record's ``id_field`` when it has one, else its 1-based line number.
    """
    try:
        record = json.loads(raw)
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except json.JSONDecodeError as ex:
        return f"not JSON ({ex.msg} at column {ex.colno})"
    except ValueError as ex:  # e.g. a number too long to convert
        return f"not JSON ({ex})"
    if not isinstance(record, dict):
        return f"not a JSON object (a {type(record).__name__})"
    try:
        text = field.text(record)
    except KeyError as ex:
        return f"no field {ex.args[0]}"
    key = record.get(id_field)
    if key is None or isinstance(key, (dict, list)):
        return line, True, text
    return key, False, text


def read_lines(handle: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """``(line number, raw line)`` for each non-blank line, numbered from 1."""
    for number, raw in enumerate(handle, start=1):
        if raw.strip():
            yield number, raw.rstrip(b"\r\n")


def open_input(path: str | Path) -> tuple[Path, IO[bytes]]:
    source = Path(path)
    if not source.is_file():
        raise DataError(f"input {source} does not exist or is not a file")
    return source, source.open("rb")


def open_output(path: str | Path, source: Path, what: str) -> IO[str]:
    target = Path(path)
    if target.exists() and target.resolve() == source.resolve():
        raise DataError(f"{what} {target} is the input file; write to another path")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.open("w", encoding="utf-8")


def report_line(fields: dict[str, Any], raw: bytes) -> str:
    """A report entry: ``fields`` followed by the original record, as one JSON line."""
    return json.dumps({**fields, "record": json.loads(raw)}, ensure_ascii=False) + "\n"


def check_bad(bad: BadLine, strict: bool) -> None:
    if strict:
        raise BadLineError(f"{bad} (run without --strict to skip such lines)")


@dataclass
class SkippedLines:
    """The bad lines a step skipped: how many, and the first few (for its summary)."""

    strict: bool
    count: int = 0
    first: list[BadLine] = field(default_factory=list)

    def skip(self, bad: BadLine) -> None:
        """Count ``bad`` and keep it if among the first five; under ``strict``, raise instead."""
        check_bad(bad, self.strict)
        self.count += 1
        if len(self.first) < 5:
            self.first.append(bad)


@contextmanager
def maybe_report(path: str | Path | None, source: Path) -> Iterator[IO[str] | None]:
    """The report file when one was asked for, else None."""
    if not path:
        yield None
        return
    with open_output(path, source, "--report") as handle:
        yield handle
