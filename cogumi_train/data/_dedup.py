"""``dedup``: drop exact, then near-duplicate records of a JSONL file, keeping the first of each.

Exact duplicates share their normalised text (the same words in the same order, whatever
the case, punctuation and spacing). Near-duplicates are found by datasketch's
``MinHashLSH`` over MinHash signatures of word n-gram shingles, and confirmed by the
MinHash estimate of their Jaccard similarity: a record is removed when a record already
kept is estimated at least ``threshold`` similar; it is reported against the most similar
one. Removed records are not indexed, so a chain a~b~c with a and c dissimilar keeps c.

Parsing and hashing run in ``workers`` processes; the index and writing stay in this one,
in input order, so the output is the same for any number of workers.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from datasketch import LeanMinHash, MinHashLSH

from ._minhash import MinHasher, exact_key, normalise
from ._pool import OrderedPool, batches
from ._progress import Progress
from ._records import (
    BadLine,
    DataError,
    FieldPath,
    check_bad,
    open_input,
    open_output,
    parse_line,
    report_line,
)

# one hashed line: (line, id, id is the line number, exact key or None when empty),
# or (line, why it is not a record)
Entry = tuple[int, Any, bool, bytes | None] | tuple[int, str]


@dataclass(frozen=True)
class DedupResult:
    """What ``dedup`` read, kept and removed.

    ``bands`` and ``rows`` are the LSH banding (``bands * rows <= num_perm``) that
    datasketch's optimiser chose for ``threshold`` with equal false-positive and
    false-negative weights: 9 bands of 13 rows for 0.8 and 128 permutations.
    """

    source: Path
    out: Path
    report: Path | None
    read: int
    kept: int
    exact_duplicates: int
    near_duplicates: int
    empty: int
    bad_lines: int
    first_bad: list[BadLine]
    threshold: float
    num_perm: int
    ngram: int
    bands: int
    rows: int
    workers: int
    seconds: float
    id_field: str
    ids_from_lines: int = field(default=0)

    @property
    def removed(self) -> int:
        return self.exact_duplicates + self.near_duplicates + self.empty


def dedup(
    source: str | Path,
    out: str | Path,
    *,
    field: str = "text",
    id_field: str = "id",
    report: str | Path | None = None,
    threshold: float = 0.8,
    num_perm: int = 128,
    ngram: int = 3,
    workers: int | None = None,
    strict: bool = False,
    progress: bool = False,
) -> DedupResult:
    """Write the records of ``source`` that duplicate no earlier record to ``out``.

    Args:
        source: JSONL file, one record (a JSON object) a line.
        out: JSONL file of the kept records, each line exactly as read.
        field: the text compared: a name, a dotted path (``meta.body``), or names joined by
            ``+`` (``instruction+response``, joined with a newline).
        id_field: the field naming a record in the report; a record without it is named by
            its 1-based line number.
        report: JSONL file of every removed record: ``id``, ``line``, ``kind`` (``exact``,
            ``near`` or ``empty``), ``duplicate_of`` and ``duplicate_of_line`` (the kept
            record), ``jaccard`` (estimated; 1.0 for exact) and the ``record``.
        threshold: Jaccard similarity of word ``ngram`` shingle sets above which two
            records are near-duplicates.
        num_perm: MinHash permutations; more estimates Jaccard more precisely, slower.
        ngram: words per shingle.
        workers: hashing processes; default all cores (``os.cpu_count()``).
        strict: raise ``BadLineError`` at the first line that is not JSON or lacks
            ``field`` instead of counting and skipping it.
        progress: show a progress bar on stderr.
    """
    if not 0.0 < threshold <= 1.0:
        raise DataError(f"threshold must be in (0, 1], got {threshold}")
    if num_perm < 2:
        raise DataError(f"num_perm must be at least 2, got {num_perm}")
    if not 1 <= ngram <= 3:
        raise DataError(f"ngram must be 1, 2 or 3 words, got {ngram}")
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    if n_workers < 1:
        raise DataError(f"workers must be at least 1, got {workers}")
    path = FieldPath.parse(field)
    started = time.perf_counter()
    src, handle = open_input(source)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    index = _Index(num_perm)
    counts = dict(read=0, kept=0, exact=0, near=0, empty=0, bad=0, line_ids=0)
    first_bad: list[BadLine] = []
    seen: dict[bytes, int] = {}
    with (
        handle,
        open_output(out, src, "--out") as sink,
        _maybe(report, src) as removed,
        Progress("dedup", src, enabled=progress) as bar,
        OrderedPool(
            _hash_batch, _init_worker, (path, id_field, num_perm, ngram), n_workers
        ) as pool,
    ):
        for batch, (entries, sigs) in pool.map(batches(handle)):
            bar.advance(sum(len(raw) + 1 for _, raw in batch), len(batch))
            row = 0
            for (line, raw), entry in zip(batch, entries, strict=True):
                if len(entry) == 2:
                    bad = BadLine(str(src), line, entry[1])
                    check_bad(bad, strict)
                    counts["bad"] += 1
                    if len(first_bad) < 5:
                        first_bad.append(bad)
                    continue
                counts["read"] += 1
                _, key, from_line, exact = entry
                counts["line_ids"] += from_line
                if exact is None:
                    counts["empty"] += 1
                    if removed:
                        removed.write(report_line(_removed(key, line, "empty"), raw))
                    continue
                sig = sigs[row]
                row += 1
                kept = seen.get(exact)
                if kept is not None:
                    counts["exact"] += 1
                    if removed:
                        fields = _removed(key, line, "exact", index, kept, 1.0)
                        removed.write(report_line(fields, raw))
                    continue
                minhash = LeanMinHash(seed=1, hashvalues=sig, scheme="affine32")
                match, similarity = index.closest(sig, lsh.query(minhash), threshold)
                if match is not None:
                    counts["near"] += 1
                    if removed:
                        fields = _removed(key, line, "near", index, match, similarity)
                        removed.write(report_line(fields, raw))
                    continue
                number = index.add(key, line, sig)
                seen[exact] = number
                lsh.insert(number, minhash, check_duplication=False)
                sink.write(raw.decode("utf-8") + "\n")
                counts["kept"] += 1
    return DedupResult(
        source=src,
        out=Path(out),
        report=Path(report) if report else None,
        read=counts["read"],
        kept=counts["kept"],
        exact_duplicates=counts["exact"],
        near_duplicates=counts["near"],
        empty=counts["empty"],
        bad_lines=counts["bad"],
        first_bad=first_bad,
        threshold=threshold,
        num_perm=num_perm,
        ngram=ngram,
        bands=lsh.b,
        rows=lsh.r,
        workers=n_workers,
        seconds=time.perf_counter() - started,
        id_field=id_field,
        ids_from_lines=counts["line_ids"],
    )


class _Index:
    """The kept records: their ids, lines and signatures, numbered in the order kept."""

    def __init__(self, num_perm: int) -> None:
        self.ids: list[Any] = []
        self.lines: list[int] = []
        # the low 16 bits of each MinHash value: half the memory, and two different values
        # agree by chance with probability 2**-16, which moves an estimate by < 0.0001
        self._sigs = np.empty((1024, num_perm), dtype=np.uint16)

    def add(self, key: Any, line: int, sig: np.ndarray) -> int:
        number = len(self.ids)
        if number == len(self._sigs):
            grown = np.empty((2 * number, self._sigs.shape[1]), dtype=np.uint16)
            grown[:number] = self._sigs
            self._sigs = grown
        self._sigs[number] = sig
        self.ids.append(key)
        self.lines.append(line)
        return number

    def closest(
        self, sig: np.ndarray, candidates: list[int], threshold: float
    ) -> tuple[int | None, float]:
        """The candidate most similar to ``sig`` by estimated Jaccard, if at ``threshold``."""
        if not candidates:
            return None, 0.0
        rows = np.asarray(candidates)
        agree = (self._sigs[rows] == sig.astype(np.uint16)).mean(axis=1)
        best = int(np.lexsort((rows, -agree))[0])  # most similar, then earliest
        if agree[best] < threshold:
            return None, float(agree[best])
        return int(rows[best]), float(agree[best])


def _removed(
    key: Any,
    line: int,
    kind: str,
    index: _Index | None = None,
    kept: int | None = None,
    jaccard: float | None = None,
) -> dict[str, Any]:
    fields: dict[str, Any] = {"id": key, "line": line, "kind": kind}
    if index is not None and kept is not None:
        fields.update(
            duplicate_of=index.ids[kept],
            duplicate_of_line=index.lines[kept],
            jaccard=round(float(jaccard or 0.0), 4),
        )
    return fields


class _maybe:
    """The report file when one was asked for, else nothing."""

    def __init__(self, path: str | Path | None, src: Path) -> None:
        self._file = open_output(path, src, "--report") if path else None

    def __enter__(self) -> Any:
        return self._file

    def __exit__(self, *exc: object) -> None:
        if self._file:
            self._file.close()


# The worker's state, set once per process by _init_worker.
_STATE: dict[str, Any] = {}


def _init_worker(path: FieldPath, id_field: str, num_perm: int, ngram: int) -> None:
    _STATE.update(path=path, id_field=id_field, hasher=MinHasher(num_perm, ngram))


def _hash_batch(batch: list[tuple[int, bytes]]) -> tuple[list[Entry], np.ndarray]:
    path: FieldPath = _STATE["path"]
    id_field: str = _STATE["id_field"]
    hasher: MinHasher = _STATE["hasher"]
    entries: list[Entry] = []
    texts: list[str] = []
    for line, raw in batch:
        parsed = parse_line(raw, path, id_field, line)
        if isinstance(parsed, str):
            entries.append((line, parsed))
            continue
        key, from_line, text = parsed
        words = normalise(text)
        if not words:
            entries.append((line, key, from_line, None))
            continue
        entries.append((line, key, from_line, exact_key(words)))
        texts.append(words)
    if not texts:
        return entries, np.empty((0, hasher.num_perm), dtype=np.uint32)
    return entries, hasher.signatures(texts)
