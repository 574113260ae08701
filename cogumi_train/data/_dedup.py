"""``dedup``: drop exact, then near-duplicate records of a JSONL file, keeping the first of each.

A record is an exact duplicate when its normalised text (the same words in the same order,
whatever the case, punctuation and spacing) is that of a record already kept. Near-duplicates
are found by LSH banding of MinHash signatures of word n-gram shingles -- the bands and rows
of datasketch's ``MinHashLSH`` optimiser for the threshold -- and confirmed by the MinHash
estimate of their Jaccard similarity: a record is removed when a record already kept is
estimated at least ``threshold`` similar, and reported against the most similar one. Removed
records are not indexed, so of a chain a~b~c with a and c dissimilar, a and c are kept.

Parsing and hashing run in ``workers`` processes; the index and writing stay in this one,
in input order, so the output is the same for any number of workers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from datasketch import MinHashLSH

from ._index import Kept, SortedRuns
from ._minhash import MinHasher, exact_key, normalise
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

# (false positive, false negative) weights of datasketch's banding optimiser. Every candidate
# is confirmed by its estimated Jaccard, so a false positive of the banding costs one check
# and never a wrong removal, while a false negative is a duplicate kept: weigh misses 9:1.
# For 0.8 and 128 permutations that is 14 bands of 9 rows, which makes a pair a candidate
# with probability 0.87 at Jaccard 0.8, 0.975 at 0.85, 0.999 at 0.9 (equal weights choose
# 9 x 13: 0.40, 0.69, 0.93).
BANDING_WEIGHTS = (0.1, 0.9)

# one hashed line: (line, id, id is the line number, has words), or (line, why it is not
# a record)
Entry = tuple[int, Any, bool, bool] | tuple[int, str]


@dataclass(frozen=True)
class DedupResult:
    """What ``dedup`` read, kept and removed.

    ``bands`` and ``rows`` are the LSH banding (``bands * rows <= num_perm``) that
    datasketch's optimiser chose for ``threshold`` with misses weighted 9:1 over false
    candidates (see ``BANDING_WEIGHTS``): 14 bands of 9 rows for 0.8 and 128 permutations.
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
    n_workers = worker_count(workers)
    path = FieldPath.parse(field)
    started = time.perf_counter()
    src, handle = open_input(source)
    # only datasketch's optimiser is used from it: the banding for threshold and num_perm
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=BANDING_WEIGHTS)
    bands, rows = lsh.b, lsh.r
    clusters = _Clusters(num_perm, bands, threshold)
    counts = dict(read=0, exact=0, near=0, empty=0, line_ids=0)
    skipped = SkippedLines(strict)
    setup = (path, id_field, num_perm, ngram, bands, rows)
    with (
        handle,
        open_output(out, src, "--out") as sink,
        maybe_report(report, src) as removed,
        OrderedPool(_hash_batch, _init_worker, setup, n_workers) as pool,
        Progress("dedup", src, enabled=progress) as bar,
    ):
        for batch, hashed in pool.map(batches(handle)):
            bar.advance(sum(len(raw) + 1 for _, raw in batch), len(batch))
            entries = hashed[0]
            decisions = clusters.decide(*hashed)
            for (line, raw), entry, (kind, match, similarity) in zip(
                batch, entries, decisions, strict=True
            ):
                if len(entry) == 2:
                    skipped.skip(BadLine(str(src), line, entry[1]))
                    continue
                counts["read"] += 1
                counts["line_ids"] += entry[2]
                if kind == "keep":
                    sink.write(raw.decode("utf-8") + "\n")
                    continue
                counts[kind] += 1
                if removed:
                    fields = _removed(entry[1], line, kind, clusters.kept, match, similarity)
                    removed.write(report_line(fields, raw))
    return DedupResult(
        source=src,
        out=Path(out),
        report=Path(report) if report else None,
        read=counts["read"],
        kept=len(clusters.kept),
        exact_duplicates=counts["exact"],
        near_duplicates=counts["near"],
        empty=counts["empty"],
        bad_lines=skipped.count,
        first_bad=skipped.first,
        threshold=threshold,
        num_perm=num_perm,
        ngram=ngram,
        bands=bands,
        rows=rows,
        workers=n_workers,
        seconds=time.perf_counter() - started,
        id_field=id_field,
        ids_from_lines=counts["line_ids"],
    )


class _Clusters:
    """The records kept so far; decides, in input order, whether each new one duplicates one.

    A batch's matches among records kept in earlier batches are looked up for the whole
    batch at once; matches among records kept earlier in the same batch, record by record.
    """

    def __init__(self, num_perm: int, bands: int, threshold: float) -> None:
        self.kept = Kept(num_perm)
        self._exact, self._bands = SortedRuns(), SortedRuns()
        self._n_bands, self._threshold = bands, threshold

    def decide(
        self, entries: list[Entry], sigs: np.ndarray, exact: np.ndarray, keys: np.ndarray
    ) -> list[tuple[str, int | None, float]]:
        """Per entry ``(kind, kept record it duplicates, estimated Jaccard)``; kind is
        ``keep``, ``exact``, ``near``, ``empty``, or ``bad`` for a line that is no record."""
        exact_earlier = _first_match(*self._exact.find(exact))
        near_earlier = _matches(*self._bands.find(keys.ravel()), self._n_bands)
        exact_here: dict[int, int] = {}
        bands_here: dict[int, list[int]] = {}
        exact_list = exact.tolist()
        decisions: list[tuple[str, int | None, float]] = []
        new: list[int] = []
        row = -1
        for entry in entries:
            if len(entry) == 2:
                decisions.append(("bad", None, 0.0))
                continue
            if not entry[3]:
                decisions.append(("empty", None, 0.0))
                continue
            row += 1
            match = exact_earlier.get(row)
            if match is None:
                match = exact_here.get(exact_list[row])
            if match is not None:
                decisions.append(("exact", match, 1.0))
                continue
            band_keys = keys[row].tolist()
            candidates = near_earlier.get(row, set())
            for band_key in band_keys:
                candidates.update(bands_here.get(band_key, ()))
            if candidates:
                match, similarity = self.kept.closest(
                    sigs[row], sorted(candidates), self._threshold
                )
                if match is not None:
                    decisions.append(("near", match, similarity))
                    continue
            number = self.kept.add(entry[1], entry[0], sigs[row])
            exact_here[exact_list[row]] = number
            for band_key in band_keys:
                bands_here.setdefault(band_key, []).append(number)
            new.append(row)
            decisions.append(("keep", number, 1.0))
        if new:
            numbers = np.arange(len(self.kept) - len(new), len(self.kept))
            self._exact.add(exact[new], numbers)
            self._bands.add(keys[new].ravel(), np.repeat(numbers, self._n_bands))
        return decisions


def _first_match(positions: np.ndarray, numbers: np.ndarray) -> dict[int, int]:
    """For each position with a match, the earliest record number it matched."""
    first: dict[int, int] = {}
    for position, number in zip(positions.tolist(), numbers.tolist(), strict=True):
        if number < first.get(position, number + 1):
            first[position] = number
    return first


def _matches(positions: np.ndarray, numbers: np.ndarray, bands: int) -> dict[int, set[int]]:
    """For each record (``bands`` key positions each) with a match, the numbers it matched."""
    found: dict[int, set[int]] = {}
    for position, number in zip((positions // bands).tolist(), numbers.tolist(), strict=True):
        found.setdefault(position, set()).add(number)
    return found


def _removed(
    key: Any, line: int, kind: str, index: Kept, kept: int | None, jaccard: float
) -> dict[str, Any]:
    fields: dict[str, Any] = {"id": key, "line": line, "kind": kind}
    if kept is not None:
        fields.update(
            duplicate_of=index.ids[kept],
            duplicate_of_line=index.lines[kept],
            jaccard=round(float(jaccard or 0.0), 4),
        )
    return fields


# The worker's state, set once per process by _init_worker.
_STATE: dict[str, Any] = {}


def _init_worker(
    path: FieldPath, id_field: str, num_perm: int, ngram: int, bands: int, rows: int
) -> None:
    _STATE.update(
        path=path, id_field=id_field, hasher=MinHasher(num_perm, ngram), banding=(bands, rows)
    )


def _hash_batch(batch: Batch) -> tuple[list[Entry], np.ndarray, np.ndarray, np.ndarray]:
    """Per line its entry; for the lines with words, signatures, exact keys and band keys."""
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
        entries.append((line, key, from_line, bool(words)))
        if words:
            texts.append(words)
    bands, rows = _STATE["banding"]
    if not texts:
        empty = np.empty((0, hasher.num_perm), dtype=np.uint32)
        return entries, empty, np.empty(0, dtype=np.uint64), np.empty((0, bands), np.uint64)
    sigs = hasher.signatures(texts)
    exact = np.array([exact_key(t) for t in texts], dtype=np.uint64)
    return entries, sigs, exact, hasher.band_keys(sigs, bands, rows)
