"""MMLU (Hendrycks et al. 2021): four-choice questions in 57 subjects."""

from __future__ import annotations

import difflib
import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from . import _hub
from ._records import RecordSet, SkippedRecord, read_csv_rows
from ._source import DataError, data_file, no_source_error, pinned_files, resolve_data_dir

Split = Literal["dev", "val", "test"]
LETTERS = ("A", "B", "C", "D")
# The hub names the validation split differently.
_HUB_SPLIT = {"dev": "dev", "val": "validation", "test": "test"}


@dataclass(frozen=True)
class MMLURecord:
    """One question.

    Attributes:
        id: ``"<subject>-<split>-<index>"``, index 0-based within the subject's file.
        subject: e.g. ``"abstract_algebra"``.
        split: ``"dev"``, ``"val"`` or ``"test"``.
        question: the question text.
        choices: the four options, in the order A, B, C, D.
        answer: the correct letter.
    """

    id: str
    subject: str
    split: str
    question: str
    choices: tuple[str, str, str, str]
    answer: str


@lru_cache(maxsize=1)
def mmlu_subjects() -> tuple[str, ...]:
    """The 57 subjects, sorted, as named by the published test files."""
    names = (
        path.removeprefix("mmlu/test/").removesuffix("_test.csv")
        for path in pinned_files()
        if path.startswith("mmlu/test/")
    )
    return tuple(sorted(names))


def check_subjects(subjects: Iterable[str] | str | None) -> tuple[str, ...]:
    """Validate a subject filter; ``None`` means all 57.

    Raises:
        DataError: an unknown subject, with the closest valid names and the full list.
    """
    known = mmlu_subjects()
    if subjects is None:
        return known
    if isinstance(subjects, str):
        subjects = [s for s in subjects.replace(",", " ").split() if s]
    chosen = tuple(dict.fromkeys(subjects))
    for subject in chosen:
        if subject not in known:
            close = difflib.get_close_matches(subject, known, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise DataError(
                f"unknown MMLU subject {subject!r}.{hint} Valid subjects: {', '.join(known)}"
            )
    if not chosen:
        raise DataError("the MMLU subject filter is empty; name at least one subject or pass None")
    return chosen


def _record(subject: str, split: str, row: list[str], index: int) -> MMLURecord:
    if len(row) != 6:
        raise ValueError(f"expected 6 columns (question, A, B, C, D, answer), got {len(row)}")
    question, a, b, c, d, answer = row
    answer = answer.strip()
    if answer not in LETTERS:
        raise ValueError(f"answer column is {answer!r}, expected one of A, B, C, D")
    return MMLURecord(
        f"{subject}-{split}-{index:04d}", subject, split, question, (a, b, c, d), answer
    )


def _hub_record(subject: str, split: str, row: dict[str, Any], index: int) -> MMLURecord:
    choices = list(row["choices"])
    return _record(subject, split, [row["question"], *choices, LETTERS[int(row["answer"])]], index)


def load_mmlu(
    split: Split = "test",
    *,
    subjects: Iterable[str] | str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    strict: bool = True,
    verify: bool = True,
) -> RecordSet[MMLURecord]:
    """Load MMLU questions of one split, subject by subject in sorted order.

    Args:
        split: ``"dev"`` (5 per subject, few-shot exemplars), ``"val"`` or ``"test"``.
        subjects: subject names (a list or a comma/space separated string); None for all 57.
        data_dir: folder holding ``mmlu/<split>/<subject>_<split>.csv``; defaults to
            ``$COGUMI_DATA_DIR``.
        strict: raise on the first malformed row (naming file and line), or skip and report it.
        verify: check each file's sha256 against the published release.
    """
    if split not in _HUB_SPLIT:
        raise DataError(f"unknown MMLU split {split!r}; choose 'dev', 'val' or 'test'")
    chosen = check_subjects(subjects)
    folder = resolve_data_dir(data_dir)
    records: list[MMLURecord] = []
    skipped: list[SkippedRecord] = []
    if folder is not None:
        for subject in chosen:
            path = data_file(folder, f"mmlu/{split}/{subject}_{split}.csv", verify=verify)
            rows, bad = read_csv_rows(
                path, functools.partial(_record, subject, split), strict=strict
            )
            records.extend(rows)
            skipped.extend(bad)
        return RecordSet(records, f"local:{folder}", skipped)
    for subject in chosen:
        try:
            rows_ = _hub.fetch_rows(_hub.MMLU_HUB, subject, _HUB_SPLIT[split])
        except Exception as ex:
            raise no_source_error(f"MMLU {subject} {split}", ex) from None
        records.extend(_hub_record(subject, split, row, i) for i, row in enumerate(rows_))
    return RecordSet(records, _hub.MMLU_HUB.describe())


__all__ = ["LETTERS", "DataError", "MMLURecord", "check_subjects", "load_mmlu", "mmlu_subjects"]
