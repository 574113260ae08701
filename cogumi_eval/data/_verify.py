"""``cogumi data verify``: every pinned file of a data folder, its record count and checksum
status."""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .._digest import sha256_file
from ._source import pinned_files

Status = Literal["ok", "mismatch", "missing"]


@dataclass(frozen=True)
class FileReport:
    """What one pinned file looks like in a data folder."""

    path: str
    status: Status
    records: int | None
    expected_records: int
    sha256: str | None
    expected_sha256: str


def _count_records(path: Path) -> int:
    if path.suffix == ".csv":
        text = path.read_bytes().decode("utf-8", errors="replace")
        return sum(1 for row in csv.reader(io.StringIO(text, newline="")) if row)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def verify_data_dir(
    data_dir: Path, datasets: tuple[str, ...] = ("gsm8k", "humaneval", "mmlu")
) -> list[FileReport]:
    """Check every pinned file of the named datasets in ``data_dir``."""
    reports = []
    for relpath, pinned in sorted(pinned_files().items()):
        if relpath.split("/", 1)[0] not in datasets:
            continue
        path = data_dir / relpath
        if not path.is_file():
            reports.append(
                FileReport(relpath, "missing", None, pinned.records, None, pinned.sha256)
            )
            continue
        actual = sha256_file(path)
        status: Status = "ok" if actual == pinned.sha256 else "mismatch"
        reports.append(
            FileReport(relpath, status, _count_records(path), pinned.records, actual, pinned.sha256)
        )
    return reports
