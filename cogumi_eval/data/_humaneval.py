"""HumanEval (Chen et al. 2021): 164 Python functions to complete, each with unit tests."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from . import _hub
from ._records import RecordSet, read_jsonl
from ._source import data_file, no_source_error, resolve_data_dir

_FIELDS = ("task_id", "prompt", "canonical_solution", "test", "entry_point")


@dataclass(frozen=True)
class HumanEvalProblem:
    """One problem.

    Attributes:
        id: the published ``task_id`` (``"HumanEval/0"`` … ``"HumanEval/163"``).
        prompt: signature and docstring the model completes.
        canonical_solution: the reference body (prompt + this passes the tests).
        test: source defining ``check(candidate)``.
        entry_point: name of the function under test.
    """

    id: str
    prompt: str
    canonical_solution: str
    test: str
    entry_point: str


def _problem(obj: dict[str, Any], index: int) -> HumanEvalProblem:
    values = [obj[name] for name in _FIELDS]
    for name, value in zip(_FIELDS, values, strict=True):
        if not isinstance(value, str):
            raise ValueError(f"field {name!r} is not a string")
    return HumanEvalProblem(*values)


def load_humaneval(
    *,
    data_dir: str | os.PathLike[str] | None = None,
    strict: bool = True,
    verify: bool = True,
) -> RecordSet[HumanEvalProblem]:
    """Load the 164 HumanEval problems from the data folder, else from the pinned hub revision.

    Args:
        data_dir: folder holding ``humaneval/HumanEval.jsonl.gz``; defaults to ``$COGUMI_DATA_DIR``.
        strict: raise on the first malformed line, or skip and report it.
        verify: check the file's sha256 against the published release.
    """
    folder = resolve_data_dir(data_dir)
    if folder is not None:
        path = data_file(folder, "humaneval/HumanEval.jsonl.gz", verify=verify)
        records, skipped = read_jsonl(path, _problem, strict=strict)
        return RecordSet(records, f"local:{folder}", skipped)
    try:
        rows = _hub.fetch_rows(_hub.HUMANEVAL_HUB, None, "test")
    except Exception as ex:
        raise no_source_error("HumanEval", ex) from None
    return RecordSet(
        [_problem(row, i) for i, row in enumerate(rows)], _hub.HUMANEVAL_HUB.describe()
    )
