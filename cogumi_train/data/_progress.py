"""The progress bar (on stderr, by bytes read) and the final counts tables of the data steps."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import progress as rp
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from ._dedup import DedupResult
    from ._filter import FilterResult


class Progress:
    """A bar over the bytes of ``source`` with a running record count; nothing when disabled."""

    def __init__(self, step: str, source: Path, *, enabled: bool) -> None:
        self._bar: rp.Progress | None = None
        if enabled:
            self._bar = rp.Progress(
                rp.TextColumn(f"[bold]{step}[/] {source.name}"),
                rp.BarColumn(),
                rp.TaskProgressColumn(),
                rp.TextColumn("{task.fields[records]:,} records"),
                rp.TimeElapsedColumn(),
                rp.TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._task = self._bar.add_task(step, total=source.stat().st_size, records=0)
            self._records = 0

    def __enter__(self) -> Progress:
        if self._bar:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar:
            self._bar.stop()

    def advance(self, size: int, records: int) -> None:
        if self._bar:
            self._records += records
            self._bar.update(self._task, advance=size, records=self._records)


def _print_table(console: Console, title: str, rows: list[tuple[str, Any]], notes: str) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("records")
    table.add_column("count", justify="right")
    for name, value in rows:
        table.add_row(name, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    console.print(notes, markup=False, highlight=False)


def _ids(field: str, from_lines: int, read: int) -> str:
    if from_lines == 0:
        return f"records named by their {field!r} field"
    if from_lines == read:
        return f"no {field!r} field: records named by line number"
    return f"{from_lines:,} records without {field!r} named by line number"


def print_dedup(result: DedupResult, console: Console | None = None) -> None:
    console = console or Console()
    rows: list[tuple[str, Any]] = [
        ("read", result.read),
        ("exact duplicates", result.exact_duplicates),
        (f"near duplicates (Jaccard >= {result.threshold:g})", result.near_duplicates),
        ("empty", result.empty),
        ("kept", result.kept),
    ]
    if result.bad_lines:
        rows.insert(1, ("bad lines (skipped)", result.bad_lines))
    caption = (
        f"MinHash: {result.num_perm} permutations, {result.ngram}-word shingles\n"
        f"LSH: {result.bands} bands x {result.rows} rows (datasketch's optimum for "
        f"{result.threshold:g}, misses weighted 9:1)\n"
        f"{result.workers} workers, {result.seconds:.1f} s\n"
        f"{_ids(result.id_field, result.ids_from_lines, result.read)}"
        f"\nkept -> {result.out}" + (f"\nremoved -> {result.report}" if result.report else "")
    )
    _print_table(console, f"dedup {result.source}", rows, caption)
    _print_bad(console, result.first_bad, result.bad_lines)


def print_filter(result: FilterResult, console: Console | None = None) -> None:
    console = console or Console()
    rows: list[tuple[str, Any]] = [("read", result.read)]
    if result.bad_lines:
        rows.append(("bad lines (skipped)", result.bad_lines))
    rows += [(f"dropped: {reason}", n) for reason, n in result.dropped.items()]
    rows.append(("kept", result.kept))
    caption = (
        f"quality >= {result.min_score:g}, weights {result.weights}\n"
        + (f"language: {result.language} (fastText lid.176, packaged)\n" if result.language else "")
        + f"{result.seconds:.1f} s\n{_ids(result.id_field, result.ids_from_lines, result.read)}"
        f"\nkept -> {result.out}" + (f"\ndropped -> {result.report}" if result.report else "")
    )
    _print_table(console, f"filter {result.source}", rows, caption)
    _print_bad(console, result.first_bad, result.bad_lines)


def _print_bad(console: Console, first: list[Any], total: int) -> None:
    for bad in first:
        console.print(f"skipped {bad}", markup=False, highlight=False)
    if total > len(first):
        console.print(f"... and {total - len(first):,} more bad lines", highlight=False)
