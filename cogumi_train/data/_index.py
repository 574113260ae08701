"""The kept records of a dedup run: their band and exact keys, signatures, ids and lines.

Why not datasketch's ``MinHashLSH`` with its default dict storage: measured on 640,000
records (``benchmarks/dedup.py``) it holds ~3.5 KB per indexed record (a bytes key and a
Python set per band bucket) -- 2.3 GB at 640,000, some 35 GB at 10M -- and its query plus
insert cost ~60 us a record in the one process that must see records in order. Here the
same banding (datasketch's ``b`` bands of ``r`` rows, its optimiser's choice) is kept as
64-bit keys in sorted numpy runs, ~12 bytes a key, looked up a batch at a time.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class SortedRuns:
    """A multimap from 64-bit keys to record numbers, stored as sorted numpy runs.

    Keys are added a batch at a time; a run is merged into the one before it while that
    one is at most twice its size, so there are O(log n) runs and each key is re-sorted
    O(log n) times.
    """

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self._runs)

    def add(self, keys: np.ndarray, numbers: np.ndarray) -> None:
        if not len(keys):
            return
        order = np.argsort(keys, kind="stable")
        self._runs.append((keys[order], numbers[order].astype(np.int32)))
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            newer, older = self._runs.pop(), self._runs.pop()
            merged = np.concatenate((older[0], newer[0]))
            order = np.argsort(merged, kind="stable")
            self._runs.append((merged[order], np.concatenate((older[1], newer[1]))[order]))

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(position in keys, record number)`` of every stored entry under one of ``keys``."""
        positions, numbers = [], []
        for run_keys, run_numbers in self._runs:
            lo = np.searchsorted(run_keys, keys, "left")
            counts = np.searchsorted(run_keys, keys, "right") - lo
            total = int(counts.sum())
            if total:
                starts = np.cumsum(counts) - counts
                positions.append(np.repeat(np.arange(len(keys)), counts))
                numbers.append(run_numbers[np.repeat(lo - starts, counts) + np.arange(total)])
        if not positions:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.int32)
        return np.concatenate(positions), np.concatenate(numbers)


class Kept:
    """The records kept so far, numbered in the order kept: ids, lines and signatures."""

    BLOCK = 1 << 16  # signatures are stored in blocks of this many: no copy as they grow

    def __init__(self, num_perm: int) -> None:
        self.ids: list[Any] = []
        self.lines: list[int] = []
        self._num_perm = num_perm
        # the low 16 bits of each MinHash value: half the memory, and two different values
        # agree by chance with probability 2**-16, which moves an estimate by < 0.0001
        self._blocks: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, key: Any, line: int, sig: np.ndarray) -> int:
        number = len(self.ids)
        block, offset = divmod(number, self.BLOCK)
        if block == len(self._blocks):
            self._blocks.append(np.empty((self.BLOCK, self._num_perm), dtype=np.uint16))
        self._blocks[block][offset] = sig
        self.ids.append(key)
        self.lines.append(line)
        return number

    def closest(
        self, sig: np.ndarray, candidates: list[int], threshold: float
    ) -> tuple[int | None, float]:
        """The candidate most similar to ``sig`` by estimated Jaccard, if at ``threshold``."""
        if not candidates:
            return None, 0.0
        rows = np.stack([self._blocks[n // self.BLOCK][n % self.BLOCK] for n in candidates])
        agree = (rows == sig.astype(np.uint16)).mean(axis=1)
        best = int(np.lexsort((np.asarray(candidates), -agree))[0])  # most similar, then earliest
        if agree[best] < threshold:
            return None, float(agree[best])
        return candidates[best], float(agree[best])
