"""Lineage: exactly which weights, settings and software produced a log.

A regression between two logs is real only if the weights differ and the
decoding did not; lineage records both sides of that question. It is computed
from files alone (no weights are loaded), so ``cogumi lineage <ref>`` is quick,
and the ``cogumi`` model API adds the settings in force at run time.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from .._version import __version__
from ._quantization import BaseCheck, Quantization, check_adapter_base, detect_quantization
from ._ref import ModelRef, read_training_lineage, resolve_ref
from ._weights import WeightsDigest, check_weight_files, weights_digest


@dataclass(frozen=True)
class Determinism:
    """The settings that decide whether two runs of the same weights can differ."""

    backend: str
    decoding: str
    """``greedy``, ``sampled`` or ``recorded`` (replay)."""
    seed: int | None = None
    temperature: float | None = None
    batch_size: int | None = None
    """The most requests decoded together (outputs can shift with batch composition)."""
    batch_invariant: bool | None = None
    """vLLM only: whether batch-invariant kernels were on."""
    tensor_parallel_size: int | None = None
    """vLLM only: how many devices the model was sharded over."""
    dtype: str | None = None
    device: str | None = None
    attention: str | None = None
    """The attention kernel (kernels differ in summation order, so in low bits)."""
    libraries: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Lineage:
    """Which weights a ``cogumi/<ref>`` model is, and how it was run."""

    ref: str
    kind: str
    """``checkpoint``, ``adapter`` or ``replay``."""
    path: str | None = None
    registry: str | None = None
    base: str | None = None
    """The base model's name: from ``adapter_config.json`` (or ``-M base=``) for an adapter,
    ``_name_or_path`` for a checkpoint."""
    base_path: str | None = None
    adapter: str | None = None
    stored_dtype: str | None = None
    quantization: Quantization | None = None
    base_check: BaseCheck | None = None
    """Adapters only: the quantized-base guard's finding."""
    weights: WeightsDigest | None = None
    adapter_weights: WeightsDigest | None = None
    replay: dict[str, Any] | None = None
    compression: dict[str, Any] | None = None
    """``compression.json`` of a ``cogumi compress`` output: recipe, calibration hash, parent
    weight hash and size report."""
    training: dict[str, Any] | None = None
    """The ``cogumi_lineage.json`` that ``cogumi train lora|merge`` wrote in the folder: an
    adapter's training (base, quantization, data, hyper-parameters), or a merge and its check."""
    base_loaded_as: dict[str, Any] | None = None
    """hf backend: the quantization applied to the base at load time (an adapter trained with
    QLoRA is evaluated on its base quantized exactly as in training)."""
    determinism: Determinism | None = None
    cogumi_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what ``read_lineage`` returns from a log)."""
        return json.loads(json.dumps(asdict(self), default=str))

    def with_determinism(self, determinism: Determinism) -> Lineage:
        return replace(self, determinism=determinism)


def library_versions(*names: str) -> dict[str, str]:
    """Installed versions of ``names`` (those not installed are left out)."""
    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def _config(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _compression(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / "compression.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def ref_lineage(ref: ModelRef, *, hash_weights: bool = True) -> Lineage:
    """Lineage of a resolved ref, read from its files (safetensors headers are checked).

    Args:
        ref: the resolved ref.
        hash_weights: compute the content hash (cached per file; see ``_weights``).
    """
    model_folder = ref.model_path
    check_weight_files(model_folder)
    config = _config(model_folder)
    stored = config.get("dtype") or config.get("torch_dtype")
    base_check: BaseCheck | None = None
    adapter: Path | None = None
    if ref.kind == "adapter":
        adapter = ref.path
        check_weight_files(adapter)
        base_check = check_adapter_base(adapter, ref.base)
        base_name = ref.base
    else:
        # a compressed checkpoint's base is the parent it was compressed from
        parent = (_compression(model_folder) or {}).get("parent") or {}
        # and a merged one's the base its adapter was merged into
        merged = (read_training_lineage(model_folder) or {}).get("base") or {}
        base_name = config.get("_name_or_path") or parent.get("path") or merged.get("path") or None
    return Lineage(
        ref=ref.ref,
        kind=ref.kind,
        path=str(ref.path),
        registry=str(ref.registry) if ref.registry else None,
        base=base_name,
        base_path=str(ref.base_path) if ref.base_path else None,
        adapter=str(adapter) if adapter else None,
        stored_dtype=str(stored) if stored else None,
        quantization=detect_quantization(model_folder, base_name),
        base_check=base_check,
        weights=weights_digest(model_folder) if hash_weights else None,
        adapter_weights=weights_digest(adapter) if hash_weights and adapter else None,
        compression=_compression(model_folder),
        training=read_training_lineage(ref.path),
    )


def lineage(
    ref: str,
    *,
    base: str | None = None,
    registry: str | os.PathLike[str] | None = None,
    hash_weights: bool = True,
) -> Lineage:
    """Lineage of ``cogumi/<ref>`` without loading it: base, adapter, quantization, weight hash.

    Args:
        ref: a checkpoint folder, adapter folder or registry name.
        base: an adapter's base, instead of the one in ``adapter_config.json``.
        registry: the registry file (default ``$COGUMI_REGISTRY`` or results/registry.toml).
        hash_weights: compute the weights' content hash.
    """
    return ref_lineage(resolve_ref(ref, base=base, registry=registry), hash_weights=hash_weights)
