"""The model registry: promoted models by name, with weights, lineage, logs and gate report.

One TOML file (``$COGUMI_REGISTRY``, default ``results/registry.toml``) that
``--model cogumi/<name>`` resolves through (``cogumi_eval.model.registry_entries``)::

    [models.gsm8k-v4]
    path = "../merged/v4"                 # relative to this file
    weights_sha256 = "9f2c..."
    promoted_at = "2026-12-01T09:41:07Z"
    baseline = "gsm8k-v3"
    spec = "results/gates/default.toml"
    logs = ["../logs/promote/gsm8k-v4/2026-12-01T09-40-12_gsm8k_X.eval"]

    [models.gsm8k-v4.lineage]             # what read_lineage returns from the logs' model
    ...
    [models.gsm8k-v4.gate]                # the gate report that let it in
    summary = "gate PASSED: 1 pass; ..."
    [[models.gsm8k-v4.gate.rules]]
    name = "GSM8K accuracy"
    verdict = "pass"
    ...

Writes are read-modify-write under an exclusive lock on ``<file>.lock``
(``fcntl.flock``) and land by ``os.replace`` of a temporary file in the same
folder, so readers see the old file or the new one, and two promotions at once
both keep their entries. A new name is appended to the file's text, so
hand-written comments survive; replacing a name rewrites the file from its data.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cogumi_eval._errors import CogumiError
from cogumi_eval.model._ref import registry_entries, registry_path

HEADER = (
    "# Cogumi model registry: models that passed their gate (written by `cogumi promote`).\n"
    "# --model cogumi/<name> resolves a name to its path (relative to this file).\n"
)

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class RegistryError(CogumiError):
    """The registry file cannot be read, or an entry cannot be written to it."""


class RegistryNameTaken(RegistryError):
    """A promotion would overwrite an existing name without ``replace``."""


class Registry:
    """The registry file at ``path`` (default ``$COGUMI_REGISTRY`` or results/registry.toml).

    Args:
        path: the TOML file; need not exist yet.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = registry_path(path)

    def __repr__(self) -> str:
        return f"Registry({str(self.path)!r})"

    def read(self) -> dict[str, dict[str, Any]]:
        """Every entry by name (empty when the file does not exist).

        Raises:
            RegistryError: the file is not valid TOML, or ``models`` is not a table.
        """
        return _models(self.path, _read_text(self.path))

    def names(self) -> list[str]:
        return sorted(self.read())

    def get(self, name: str) -> dict[str, Any] | None:
        return self.read().get(name)

    def folders(self) -> dict[str, Path]:
        """Name -> model folder, exactly as ``--model cogumi/<name>`` resolves it."""
        self.read()  # a clear registry error before the model API's own
        return registry_entries(self.path)

    def check_free(self, name: str, *, replace: bool = False) -> None:
        """Raise ``RegistryNameTaken`` when ``name`` is registered and ``replace`` is False."""
        check_name(name)
        if not replace and name in self.read():
            raise RegistryNameTaken(_taken_message(name, self.path, self.get(name) or {}))

    def add(self, name: str, entry: Mapping[str, Any], *, replace: bool = False) -> None:
        """Record ``entry`` under ``name``, atomically and under the file lock.

        Args:
            name: the registry name (letters, digits, ``-``, ``_``, ``.``).
            entry: TOML-ready values (None values are left out); must hold ``path``.
            replace: overwrite an existing entry of that name.

        Raises:
            RegistryNameTaken: ``name`` exists and ``replace`` is False.
            RegistryError: the file is not valid TOML (it is left untouched).
        """
        check_name(name)
        if not isinstance(entry.get("path"), str):
            raise RegistryError(f"registry entry {name!r} needs a string 'path'.")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked():
            text = _read_text(self.path)
            models = _models(self.path, text)
            if name in models and not replace:
                raise RegistryNameTaken(_taken_message(name, self.path, models[name]))
            block = dump_table(("models", name), entry)
            if name in models:
                data = tomllib.loads(text)
                data["models"][name] = _without_none(entry)
                new_text = _header_of(text) + dump_document(data)
            elif text.strip():
                new_text = text.rstrip("\n") + "\n\n" + block
            else:
                new_text = HEADER + "\n" + block
            _check_written(self.path, new_text, name, entry)
            _replace_atomically(self.path, new_text)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def check_name(name: str) -> None:
    """A registry name is one path segment that ``cogumi/<name>`` cannot mistake for a folder."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name or ""):
        raise RegistryError(
            f"registry name {name!r} is not allowed: use letters, digits, '.', '-' and '_' "
            "(starting with a letter or digit), e.g. gsm8k-lora-v4."
        )


def _taken_message(name: str, path: Path, entry: Mapping[str, Any]) -> str:
    where = entry.get("path", "?")
    return (
        f"registry {path} already has a model named {name!r} (path {where}); choose another "
        "name with --as, or pass --replace to overwrite it."
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8") if path.is_file() else ""
    except (OSError, UnicodeDecodeError) as ex:
        raise RegistryError(f"model registry {path} cannot be read ({ex}).") from ex


def _models(path: Path, text: str) -> dict[str, dict[str, Any]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as ex:
        raise RegistryError(
            f"model registry {path} is not valid TOML ({ex}); nothing was written. Fix the file "
            "(or move it away) and promote again."
        ) from ex
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise RegistryError(
            f"model registry {path}: 'models' must be a table of [models.<name>] entries."
        )
    return {
        name: entry if isinstance(entry, dict) else {"path": entry}
        for name, entry in models.items()
    }


def _header_of(text: str) -> str:
    """The file's leading comment block (kept when the file is rewritten)."""
    lines = []
    for line in text.splitlines(keepends=True):
        if line.startswith("#") or not line.strip():
            lines.append(line)
        else:
            break
    header = "".join(lines).rstrip("\n")
    return (header + "\n\n") if header else HEADER + "\n"


def _check_written(path: Path, text: str, name: str, entry: Mapping[str, Any]) -> None:
    """The text about to land must parse and hold exactly ``entry`` under ``name``."""
    try:
        written = tomllib.loads(text)["models"][name]
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as ex:
        raise RegistryError(
            f"could not add {name!r} to {path} without breaking it ({ex}); the file is unchanged."
        ) from ex
    if written != json.loads(json.dumps(_without_none(entry))):
        raise RegistryError(
            f"entry {name!r} does not survive a TOML round trip; the file is unchanged."
        )


def _replace_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- a minimal TOML writer: tables, arrays of tables, strings, numbers, booleans, arrays ---


def _without_none(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_without_none(v) for v in value if v is not None]
    return value


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
    # JSON's escapes are TOML's (ensure_ascii=False avoids surrogate pairs, which TOML forbids)
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(str(k))} = {_scalar(v)}" for k, v in value.items()) + "}"
    if isinstance(value, os.PathLike):
        return _string(os.fspath(value))
    raise RegistryError(f"cannot write a {type(value).__name__} value ({value!r}) to the registry.")


def _is_table_array(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(v, Mapping) for v in value)
    )


def dump_table(path: tuple[str, ...], table: Mapping[str, Any], *, array: bool = False) -> str:
    """``table`` as a TOML table at ``path`` (sub-tables and arrays of tables after its keys)."""
    table = _without_none(table)
    name = ".".join(_key(part) for part in path)
    lines = [f"[[{name}]]" if array else f"[{name}]"]
    nested: list[str] = []
    for key, value in table.items():
        if isinstance(value, Mapping):
            nested.append(dump_table((*path, key), value))
        elif _is_table_array(value):
            nested.extend(dump_table((*path, key), item, array=True) for item in value)
        else:
            lines.append(f"{_key(key)} = {_scalar(value)}")
    return "\n".join(lines) + "\n" + "".join("\n" + block for block in nested)


def dump_document(data: Mapping[str, Any]) -> str:
    """A whole TOML document: top-level keys, then one table per top-level table."""
    data = _without_none(data)
    top = [f"{_key(k)} = {_scalar(v)}\n" for k, v in data.items() if not isinstance(v, Mapping)]
    blocks: list[str] = []
    for key, value in data.items():
        if not isinstance(value, Mapping):
            continue
        if key == "models":
            blocks.extend(dump_table(("models", name), entry) for name, entry in value.items())
        else:
            blocks.append(dump_table((key,), value))
    return "".join(top) + ("\n" if top and blocks else "") + "\n".join(blocks)
