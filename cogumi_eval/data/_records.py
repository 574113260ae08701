"""Reading JSONL and CSV files record by record, with errors that name file and line."""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from ._source import RecordError

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class SkippedRecord:
    """A record left out in non-strict mode, and why."""

    file: str
    line: int
    reason: str


@dataclass
class RecordSet(Generic[T]):
    """Records loaded from one source, with what was skipped and where they came from.

    Attributes:
        records: the parsed records, in file order.
        skipped: records dropped because they did not parse (only when ``strict=False``).
        source: ``"local:<folder>"`` or ``"hub:<repo>@<revision>"``.
    """

    records: list[T]
    source: str
    skipped: list[SkippedRecord] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[T]:
        return iter(self.records)

    def __getitem__(self, index: int) -> T:
        return self.records[index]


class _Collector:
    """Raises on the first bad record (strict) or collects it and carries on."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.skipped: list[SkippedRecord] = []

    def bad(self, file: Path, line: int, reason: str) -> None:
        if self.strict:
            raise RecordError(
                f"{file}:{line}: {reason}. Fix or remove that record, or pass strict=False "
                "(-T strict=false) to skip bad records and report them."
            )
        logger.warning("skipping %s:%d: %s", file, line, reason)
        self.skipped.append(SkippedRecord(str(file), line, reason))


def read_jsonl(
    path: Path,
    parse: Callable[[dict[str, Any], int], T],
    *,
    strict: bool = True,
) -> tuple[list[T], list[SkippedRecord]]:
    """Parse every line of a JSONL (optionally gzipped) file with ``parse(obj, index)``.

    ``parse`` raises ``KeyError``/``ValueError``/``TypeError`` for a record it cannot
    use; that record is then reported with its line number. ``index`` counts good
    records only, so ids stay dense.
    """
    collector = _Collector(strict)
    records: list[T] = []
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as ex:
                collector.bad(path, number, f"not valid UTF-8 ({ex.reason})")
                continue
            except json.JSONDecodeError as ex:
                collector.bad(path, number, f"not valid JSON ({ex.msg} at column {ex.colno})")
                continue
            if not isinstance(obj, dict):
                collector.bad(path, number, f"expected a JSON object, got {type(obj).__name__}")
                continue
            try:
                records.append(parse(obj, len(records)))
            except KeyError as ex:
                collector.bad(path, number, f"missing field {ex.args[0]!r}")
            except (ValueError, TypeError) as ex:
                collector.bad(path, number, str(ex))
    return records, collector.skipped


def read_csv_rows(
    path: Path,
    parse: Callable[[list[str], int], T],
    *,
    strict: bool = True,
) -> tuple[list[T], list[SkippedRecord]]:
    """Parse every row of a header-less CSV file with ``parse(row, index)``.

    Rows are numbered by the line on which they start, as an editor shows them
    (fields may hold quoted newlines, so rows and lines differ).
    """
    collector = _Collector(strict)
    records: list[T] = []
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as ex:
        line = path.read_bytes()[: ex.start].count(b"\n") + 1
        collector.bad(path, line, f"not valid UTF-8 ({ex.reason})")
        return records, collector.skipped
    reader = csv.reader(io.StringIO(text, newline=""))
    start_line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as ex:
            collector.bad(path, start_line, f"malformed CSV ({ex})")
            start_line = reader.line_num + 1
            continue
        line = start_line
        start_line = reader.line_num + 1
        if not row or all(not cell.strip() for cell in row):
            continue
        try:
            records.append(parse(row, len(records)))
        except (ValueError, TypeError, IndexError) as ex:
            collector.bad(path, line, str(ex))
    return records, collector.skipped
