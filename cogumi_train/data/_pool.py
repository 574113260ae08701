"""Work on batches of lines in worker processes, results in input order, memory bounded."""

from __future__ import annotations

import os
import signal
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import IO, Any, Generic, TypeVar

from ._records import DataError, read_lines

BATCH = 1000  # lines a worker takes at once: large enough for numpy, small enough to stream

Batch = list[tuple[int, bytes]]
R = TypeVar("R")


def batches(handle: IO[bytes], size: int | None = None) -> Iterator[Batch]:
    """``(line number, raw line)`` of the non-blank lines, ``size`` at a time."""
    size = size or BATCH
    batch: Batch = []
    for item in read_lines(handle):
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def worker_count(workers: int | None) -> int:
    """``workers``, or all cores (``os.cpu_count()``) when None; ``DataError`` below 1."""
    count = workers if workers is not None else (os.cpu_count() or 1)
    if count < 1:
        raise DataError(f"workers must be at least 1, got {workers}")
    return count


def _start_worker(setup: Callable[..., None], *args: Any) -> None:
    # Ctrl-C is the main process's to handle (one line, exit 130); a worker just stops
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    setup(*args)


class OrderedPool(Generic[R]):
    """``work(batch)`` for each batch, in ``workers`` processes (or here, for one).

    ``setup(*args)`` runs once in each process before its first batch. Results come back
    in input order, and at most ``2 * workers`` batches are in flight, so memory stays
    bounded however large the input; the output is the same for any number of workers.
    """

    def __init__(
        self,
        work: Callable[[Batch], R],
        setup: Callable[..., None],
        args: tuple[Any, ...],
        workers: int,
    ) -> None:
        self._work, self._setup, self._args, self._workers = work, setup, args, workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> OrderedPool[R]:
        if self._workers > 1:
            self._pool = ProcessPoolExecutor(
                self._workers, initializer=_start_worker, initargs=(self._setup, *self._args)
            )
            # fork the workers now, before a thread of ours (the progress bar's) is running
            self._pool.submit(int).result()
        else:
            self._setup(*self._args)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def map(self, source: Iterator[Batch]) -> Iterator[tuple[Batch, R]]:
        if self._pool is None:
            for batch in source:
                yield batch, self._work(batch)
            return
        window: deque[tuple[Batch, Future[R]]] = deque()
        for batch in source:
            window.append((batch, self._pool.submit(self._work, batch)))
            if len(window) >= 2 * self._workers:
                done, future = window.popleft()
                yield done, future.result()
        while window:
            done, future = window.popleft()
            yield done, future.result()
