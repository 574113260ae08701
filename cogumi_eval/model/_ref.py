"""What ``cogumi/<ref>`` names: a checkpoint folder, a PEFT adapter folder, or a registry name.

The model registry is a TOML file (``$COGUMI_REGISTRY``, default
``results/registry.toml``) mapping names to folders; paths in it are relative
to the file::

    [models.gsm8k-lora-v3]
    path = "checkpoints/gsm8k-lora-v3"

Relative folders are tried against the working directory and then against the
shell's (``$PWD``): Inspect changes into a task file's folder while it loads
tasks, so ``--model cogumi/./ckpt`` must still mean the folder the user typed.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ._errors import BaseModelNotFoundError, ModelRefError

REGISTRY_ENV = "COGUMI_REGISTRY"
DEFAULT_REGISTRY = "results/registry.toml"
ADAPTER_CONFIG = "adapter_config.json"
TRAINING_LINEAGE = "cogumi_lineage.json"
"""What ``cogumi train lora|merge`` write beside the weights: how the folder was produced."""

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class ModelRef:
    """A resolved ref: where the weights are and how they were found."""

    ref: str
    kind: Literal["checkpoint", "adapter"]
    path: Path
    """The checkpoint folder, or the adapter folder."""
    base: str | None = None
    """Adapter only: the base as named (``-M base=`` or ``adapter_config.json``)."""
    base_path: Path | None = None
    """Adapter only: the folder the base was found in."""
    registry: Path | None = None
    """The registry file, when the ref was a registry name."""
    tried: tuple[str, ...] = field(default=(), compare=False)

    @property
    def model_path(self) -> Path:
        """The folder holding the full model weights (the base, for an adapter)."""
        if self.kind == "adapter":
            assert self.base_path is not None
            return self.base_path
        return self.path


def candidate_paths(text: str | os.PathLike[str], relative_to: Path | None = None) -> list[Path]:
    """Where a folder named ``text`` may be: as given, under ``$PWD``, under ``relative_to``."""
    path = Path(text).expanduser()
    if path.is_absolute():
        return [path]
    candidates = [Path.cwd() / path]
    shell_cwd = os.environ.get("PWD")
    if shell_cwd and Path(shell_cwd).resolve() != Path.cwd().resolve():
        candidates.append(Path(shell_cwd) / path)
    if relative_to is not None:
        candidates.append(relative_to / path)
    return candidates


def registry_path(registry: str | os.PathLike[str] | None = None) -> Path:
    """The registry file in use: the argument, else ``$COGUMI_REGISTRY``, else
    results/registry.toml."""
    named = registry or os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY
    candidates = candidate_paths(named)
    return next((p for p in candidates if p.is_file()), candidates[0])


def registry_entries(path: Path) -> dict[str, Path]:
    """Name -> folder for every model in the registry file at ``path`` (empty when it is absent)."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as ex:
        raise ModelRefError(
            f"model registry {path} cannot be read ({ex}); fix or remove it."
        ) from ex
    models = data.get("models", {})
    entries: dict[str, Path] = {}
    for name, entry in models.items() if isinstance(models, dict) else []:
        location: Any = entry.get("path") if isinstance(entry, dict) else entry
        if isinstance(location, str):
            target = Path(location).expanduser()
            entries[name] = target if target.is_absolute() else path.parent / target
    return entries


def _classify(folder: Path) -> Literal["checkpoint", "adapter"] | None:
    if (folder / ADAPTER_CONFIG).is_file():
        return "adapter"
    if (folder / "config.json").is_file():
        return "checkpoint"
    return None


def _find_folder(text: str, tried: list[str], relative_to: Path | None = None) -> Path | None:
    for candidate in candidate_paths(text, relative_to):
        if candidate.is_dir():
            return candidate.resolve()
        tried.append(f"folder {candidate} (not found)")
    return None


def _find_registered(
    name: str, registry: str | os.PathLike[str] | None, tried: list[str]
) -> tuple[Path, Path] | None:
    path = registry_path(registry)
    if not path.is_file():
        tried.append(f"registry name in {path} (no registry file)")
        return None
    entries = registry_entries(path)
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none"
        tried.append(f"registry name in {path} (not registered; names: {known})")
        return None
    folder = entries[name]
    if not folder.is_dir():
        tried.append(f"registry name in {path} -> {folder} (folder missing)")
        return None
    return folder.resolve(), path.resolve()


def adapter_base_name(adapter: Path) -> str | None:
    """``base_model_name_or_path`` from an adapter folder's ``adapter_config.json``."""
    try:
        config = json.loads((adapter / ADAPTER_CONFIG).read_text())
    except (OSError, json.JSONDecodeError) as ex:
        raise ModelRefError(
            f"{adapter / ADAPTER_CONFIG} cannot be read ({ex}); re-save the adapter."
        ) from ex
    base = config.get("base_model_name_or_path")
    return str(base) if base else None


def read_training_lineage(folder: Path) -> dict[str, Any] | None:
    """The ``cogumi_lineage.json`` a training step wrote in ``folder`` (None when there is none).

    Raises:
        ModelRefError: the file exists but is not a JSON object.
    """
    path = folder / TRAINING_LINEAGE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as ex:
        raise ModelRefError(
            f"{path} cannot be read ({ex}); restore it or re-run the training step."
        ) from ex
    if not isinstance(data, dict):
        raise ModelRefError(f"{path} is not a JSON object; restore it or re-run the training step.")
    return data


def find_base(
    name: str,
    adapter: Path | None = None,
    registry: str | os.PathLike[str] | None = None,
    download: bool | None = None,
) -> tuple[Path | None, list[str]]:
    """Locate a base model named ``name``: folder, registry name, then the Hugging Face hub cache.

    Args:
        name: a folder, registry name or hub id.
        adapter: the adapter folder (relative base folders are also tried beside it).
        registry: the registry file (default ``$COGUMI_REGISTRY``).
        download: fetch a hub id that is not cached (default: unless ``HF_HUB_OFFLINE`` is set).

    Returns:
        The folder (None when not found) and the places tried.
    """
    tried: list[str] = []
    folder = _find_folder(name, tried, adapter)
    if folder is not None and _classify(folder) == "checkpoint":
        return folder, tried
    if folder is not None:
        tried.append(f"folder {folder} (no config.json)")
    registered = _find_registered(name, registry, tried)
    if registered is not None:
        return registered[0], tried
    if _HUB_ID.match(name):
        hub = _hub_snapshot(name, tried, download)
        if hub is not None:
            return hub, tried
    return None, tried


def _hub_snapshot(repo_id: str, tried: list[str], download: bool | None) -> Path | None:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        tried.append(f"hub id {repo_id} (huggingface_hub is not installed)")
        return None
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    if download is None:
        download = not offline
    patterns = ["*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken", "*.jinja"]
    try:
        return Path(snapshot_download(repo_id, local_files_only=True, allow_patterns=patterns))
    except Exception:  # noqa: BLE001  any hub failure means "not cached": try the next way
        if not download:
            tried.append(f"hub id {repo_id} (not in the local Hugging Face cache; offline)")
            return None
    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns))
    except Exception as ex:  # noqa: BLE001  reported in the not-found error, with what else was tried
        tried.append(f"hub id {repo_id} (download failed: {type(ex).__name__})")
        return None


def resolve_ref(
    ref: str, *, base: str | None = None, registry: str | os.PathLike[str] | None = None
) -> ModelRef:
    """Resolve ``ref`` (folder or registry name) to checkpoint or adapter folders.

    Args:
        ref: what followed ``cogumi/`` in the model name.
        base: for an adapter, the base to use instead of ``adapter_config.json``'s.
        registry: the registry file (default ``$COGUMI_REGISTRY`` or results/registry.toml).

    Raises:
        ModelRefError: nothing matched; the message lists every place tried.
        BaseModelNotFoundError: an adapter's base could not be located.
    """
    tried: list[str] = []
    folder = _find_folder(ref, tried)
    registry_file: Path | None = None
    if folder is None:
        registered = _find_registered(ref, registry, tried)
        if registered is not None:
            folder, registry_file = registered
    if folder is None:
        raise ModelRefError(
            f"model ref {ref!r} is neither a folder nor a registry name. Tried: "
            + "; ".join(tried)
            + f". Pass a checkpoint or adapter folder, register the name in {DEFAULT_REGISTRY} "
            f"(or the file named by ${REGISTRY_ENV}), "
            "or use --model cogumi/replay -M source=<file>."
        )
    kind = _classify(folder)
    if kind is None:
        raise ModelRefError(
            f"{folder} (from ref {ref!r}) holds neither config.json (a checkpoint) nor "
            f"{ADAPTER_CONFIG} (a PEFT adapter). Point at the folder save_pretrained() wrote."
        )
    if kind == "checkpoint":
        return ModelRef(ref=ref, kind=kind, path=folder, registry=registry_file, tried=tuple(tried))
    base_name = base or adapter_base_name(folder)
    if not base_name:
        raise BaseModelNotFoundError(
            f"adapter {folder} does not name its base ({ADAPTER_CONFIG} has no "
            "base_model_name_or_path); pass -M base=<base folder or registry name>."
        )
    base_path, base_tried = find_base(base_name, adapter=folder, registry=registry)
    if base_path is None:
        origin = "-M base" if base else f"{ADAPTER_CONFIG}"
        raise BaseModelNotFoundError(
            f"the base model {base_name!r} of adapter {folder} (from {origin}) was not found. "
            "Tried: " + "; ".join(base_tried) + ". Pass -M base=<folder> pointing at the base "
            "checkpoint the adapter was trained on."
        )
    return ModelRef(
        ref=ref,
        kind=kind,
        path=folder,
        base=base_name,
        base_path=base_path,
        registry=registry_file,
        tried=tuple(tried),
    )
