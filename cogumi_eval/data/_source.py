"""Where benchmark files come from: a local data folder, verified against pinned checksums.

The folder is named by the task option ``data_dir`` or, failing that, the
``COGUMI_DATA_DIR`` environment variable. Every file read from it is checked
against the sha256 pinned in ``checksums.json`` (the published release of each
benchmark), so a run can never silently score against edited data.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .._digest import sha256_file
from .._errors import CogumiError

DATA_DIR_ENV = "COGUMI_DATA_DIR"


class DataError(CogumiError):
    """Benchmark data could not be loaded; the message says which input and what to do."""


class DataSourceError(DataError):
    """No data folder and no hub access: nothing to load from."""


class ChecksumError(DataError):
    """A data file's bytes differ from the pinned release."""


class RecordError(DataError):
    """A line or row in a data file could not be parsed."""


@dataclass(frozen=True)
class PinnedFile:
    """A data file of the published release: its path in the folder and what it must hold."""

    path: str
    sha256: str
    bytes: int
    records: int


@lru_cache(maxsize=1)
def pinned_files() -> dict[str, PinnedFile]:
    """The manifest of every known data file, keyed by its path inside the data folder."""
    text = resources.files("cogumi_eval.data").joinpath("checksums.json").read_text()
    return {path: PinnedFile(path=path, **entry) for path, entry in json.loads(text).items()}


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The data folder to use: the explicit argument, else ``$COGUMI_DATA_DIR``, else None.

    Raises:
        DataSourceError: the folder named does not exist (a typo should not fall
            through to a hub download).
    """
    origin = "data_dir"
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(DATA_DIR_ENV) or None
        origin = DATA_DIR_ENV
    if data_dir is None:
        return None
    path = _locate(Path(data_dir).expanduser())
    if not path.is_dir():
        raise DataSourceError(
            f"{origin}={str(data_dir)!r} is not a folder. Point it at a folder laid out as "
            "gsm8k/{train,test}.jsonl, humaneval/HumanEval.jsonl.gz, "
            "mmlu/{dev,val,test}/<subject>_<split>.csv, or unset it to load from the "
            "Hugging Face hub."
        )
    return path.resolve()


def _locate(path: Path) -> Path:
    # Inspect changes into a task file's folder while it builds the task, so a
    # relative folder is also tried against the shell's working directory ($PWD).
    if path.is_absolute() or path.is_dir():
        return path
    shell_cwd = os.environ.get("PWD")
    if shell_cwd and (Path(shell_cwd) / path).is_dir():
        return Path(shell_cwd) / path
    return path


@lru_cache(maxsize=1024)
def _verified(path: str, size: int, mtime_ns: int, expected: str) -> str:
    # Keyed on size and mtime so a file edited between runs of one process is re-hashed.
    return sha256_file(Path(path))


def data_file(data_dir: Path, relpath: str, *, verify: bool = True) -> Path:
    """Path of ``relpath`` inside ``data_dir``, checked to exist and match its pinned sha256.

    Raises:
        DataSourceError: the file is missing from the folder.
        ChecksumError: the file's sha256 is not the pinned one.
    """
    path = data_dir / relpath
    if not path.is_file():
        raise DataSourceError(
            f"{path} is missing: the data folder {data_dir} has no {relpath}. "
            f"Copy the benchmark's files there, point {DATA_DIR_ENV} at a complete folder, "
            "or unset it to load from the Hugging Face hub."
        )
    pinned = pinned_files().get(relpath)
    if verify and pinned is not None:
        stat = path.stat()
        actual = _verified(str(path), stat.st_size, stat.st_mtime_ns, pinned.sha256)
        if actual != pinned.sha256:
            raise ChecksumError(
                f"checksum mismatch for {path}: expected sha256 {pinned.sha256}, "
                f"got {actual}. The file differs from the published release; restore the "
                "original file, or pass verify=False (-T verify=false) to use it anyway."
            )
    return path


def no_source_error(what: str, hub_error: Exception | None = None) -> DataSourceError:
    """The error for 'no folder and no hub': says exactly what to set.

    The advice to install the hub extra appears only when it is missing.
    """
    if isinstance(hub_error, ImportError):
        hub = "the Hugging Face hub extra is not installed"
        other = "or install it (pip install 'cogumi[hub]') and allow network access"
    else:
        reason = f" ({hub_error})" if hub_error is not None else ""
        hub = f"the Hugging Face hub is not reachable{reason}"
        other = "or allow network access to the hub"
    return DataSourceError(
        f"cannot load {what}: no data folder is set and {hub}. "
        f"Set {DATA_DIR_ENV}=/path/to/data (or pass -T data_dir=...) to a folder laid out as "
        "gsm8k/{train,test}.jsonl, humaneval/HumanEval.jsonl.gz, "
        f"mmlu/{{dev,val,test}}/<subject>_<split>.csv; {other}."
    )
