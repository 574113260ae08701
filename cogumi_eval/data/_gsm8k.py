"""GSM8K (Cobbe et al. 2021): grade-school word problems with a final integer answer."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

from . import _hub
from ._records import RecordSet, read_jsonl
from ._source import DataError, data_file, no_source_error, resolve_data_dir

Split = Literal["train", "test"]


@dataclass(frozen=True)
class GSM8KRecord:
    """One problem.

    Attributes:
        id: ``"<split>-<index>"`` (index in the published file, 0-based, 4 digits),
            stable across runs and machines for the pinned release.
        question: the problem text.
        solution: the reference solution, calculator annotations and final ``#### n`` line included.
        answer: the final answer as written after ``####`` (e.g. ``"1,080"``).
    """

    id: str
    question: str
    solution: str
    answer: str


def _record(split: str, question: Any, solution: Any, index: int) -> GSM8KRecord:
    if not isinstance(question, str) or not question.strip():
        raise ValueError("field 'question' is empty or not a string")
    if not isinstance(solution, str) or "####" not in solution:
        raise ValueError("field 'answer' has no '#### <number>' final line")
    answer = solution.rsplit("####", 1)[1].strip()
    if not answer:
        raise ValueError("field 'answer' has nothing after '####'")
    return GSM8KRecord(f"{split}-{index:04d}", question, solution, answer)


def load_gsm8k(
    split: Split = "test",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    strict: bool = True,
    verify: bool = True,
) -> RecordSet[GSM8KRecord]:
    """Load a GSM8K split from the data folder, else from the hub at a pinned revision.

    Args:
        split: ``"train"`` (7,473 problems; few-shot exemplars) or ``"test"`` (1,319).
        data_dir: folder holding ``gsm8k/<split>.jsonl``; defaults to ``$COGUMI_DATA_DIR``.
        strict: raise on the first malformed line (naming file and line), or skip
            such lines and report them in ``RecordSet.skipped``.
        verify: check the file's sha256 against the published release.
    """
    if split not in ("train", "test"):
        raise DataError(f"unknown GSM8K split {split!r}; choose 'train' or 'test'")
    folder = resolve_data_dir(data_dir)
    if folder is not None:
        path = data_file(folder, f"gsm8k/{split}.jsonl", verify=verify)
        records, skipped = read_jsonl(
            path, lambda obj, i: _record(split, obj["question"], obj["answer"], i), strict=strict
        )
        return RecordSet(records, f"local:{folder}", skipped)
    try:
        rows = _hub.fetch_rows(_hub.GSM8K_HUB, "main", split)
    except Exception as ex:
        raise no_source_error(f"GSM8K {split}", ex) from None
    records = [_record(split, row["question"], row["answer"], i) for i, row in enumerate(rows)]
    return RecordSet(records, _hub.GSM8K_HUB.describe())
