"""Why an eval log could not be read, in words a user can act on; one wording for every command.

Inspect's readers fail on a truncated ``.eval`` (a zip cut short) with
``ValueError: EOCD not found``, on another file with a zip or JSON error, and on
a JSON file that is not a log with a validation error. Gate, report, judge and
lineage all say the same: which file, and that it is truncated or not a log.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import CogumiError

if TYPE_CHECKING:
    from inspect_ai.log import EvalLog

NOT_A_LOG = "the log is truncated or not a log"

_NOT_A_LOG_SIGNS = (
    "EOCD not found",  # Inspect's zip reader: the end-of-central-directory record is missing
    "File is not a zip file",
    "Bad magic number",
    "Truncated file header",
    "validation error",  # pydantic: JSON that is not an EvalLog
    "Expecting value",
    "Unterminated string",
)


class UnreadableLogError(CogumiError):
    """An eval log file could not be read."""


def log_problem(error: BaseException) -> str:
    """Why reading a log failed, in a phrase: "the log is truncated or not a log (...)" when so."""
    lines = str(error).strip().splitlines()
    detail = lines[0] if lines else type(error).__name__
    if isinstance(error, zipfile.BadZipFile | json.JSONDecodeError | UnicodeDecodeError) or any(
        sign in str(error) for sign in _NOT_A_LOG_SIGNS
    ):
        return f"{NOT_A_LOG} ({detail})"
    return f"{type(error).__name__}: {detail}"


def read_log(path: str | Path, header_only: bool = False) -> EvalLog:
    """``read_eval_log``, failing with the file's name and the reason in words.

    Args:
        path: an ``.eval`` or ``.json`` log.
        header_only: read the header without the samples.
    """
    from inspect_ai.log import read_eval_log

    location = str(path)
    if "://" not in location and not Path(location).exists():
        raise UnreadableLogError(f"{location}: no such eval log file")
    try:
        return read_eval_log(location, header_only=header_only)
    except Exception as ex:  # noqa: BLE001 - zip, JSON and schema errors all mean "unreadable"
        raise UnreadableLogError(
            f"cannot read eval log {location}: {log_problem(ex)}. "
            "Pass an .eval or .json file written by Inspect (inspect eval ... --log-dir)."
        ) from None
