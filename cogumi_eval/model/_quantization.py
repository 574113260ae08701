"""Is a checkpoint quantized, and was an adapter trained on a quantized base?

The evidence, strongest first: ``quantization_config`` in ``config.json``
(bitsandbytes, AWQ, GPTQ, compressed-tensors, fp8, ...); the legacy AutoGPTQ /
AutoAWQ files (``quantize_config.json``, ``quant_config.json``); tensor names
and dtypes in the safetensors header (``qweight``, ``absmax``,
``weight_packed``, F8 tensors); and, when no files are at hand, tell-tale names
such as ``unsloth/llama-3-8b-bnb-4bit``.

A LoRA adapter trained on a 4-bit base learned to correct that base's
quantization error; merged into the bf16 weights it applies the correction to
weights that never had the error. That is the regression Cogumi exists to
catch, so every merge path calls ``refuse_quantized_base``.

A QLoRA adapter written by ``cogumi train lora --quantize nf4`` names a bf16
base that was quantized on the fly, so its base folder looks clean; the
adapter's own ``cogumi_lineage.json`` records the quantization, and it is
read first.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import QuantizedBaseError
from ._ref import TRAINING_LINEAGE, adapter_base_name, find_base, read_training_lineage
from ._weights import safetensors_header, weight_files

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Quantization:
    """How a checkpoint's weights are quantized, and what says so."""

    method: str
    """bitsandbytes, awq, gptq, compressed-tensors, fp8, ... ("unknown" for a bare bit-width
    name)."""
    bits: int | None
    evidence: str
    """Where it was read: a config key, a file, tensor names, or a name hint."""
    name_hint_only: bool = False
    """True when only a name suggests it (no config or weights were inspected)."""


# name tokens that mark a quantized checkpoint: (pattern, method, bits)
_NAME_HINTS: tuple[tuple[re.Pattern[str], str, int | None], ...] = tuple(
    (re.compile(rf"(?:^|[-_./ ]){pattern}(?:$|[-_./ ])", re.IGNORECASE), method, bits)
    for pattern, method, bits in (
        (r"bnb[-_]?4bit", "bitsandbytes", 4),
        (r"bnb[-_]?8bit", "bitsandbytes", 8),
        (r"bnb", "bitsandbytes", None),
        (r"nf4", "bitsandbytes", 4),
        (r"qlora", "bitsandbytes", 4),
        (r"awq", "awq", 4),
        (r"gptq", "gptq", None),
        (r"gguf", "gguf", None),
        (r"exl2", "exl2", None),
        (r"fp8", "fp8", 8),
        (r"int4", "unknown", 4),
        (r"int8", "unknown", 8),
        (r"w4a16", "unknown", 4),
        (r"w8a8", "unknown", 8),
        (r"w4a4", "unknown", 4),
        (r"([2348])[-_]?bit", "unknown", None),
    )
)


def quantization_from_name(name: str) -> Quantization | None:
    """A quantization suggested by a model name alone (e.g. ``unsloth/...-bnb-4bit``)."""
    for pattern, method, bits in _NAME_HINTS:
        match = pattern.search(name)
        if match:
            if bits is None:
                digits = re.search(r"([2348])[-_]?bit", name, re.IGNORECASE)
                bits = int(digits.group(1)) if digits else None
            return Quantization(method, bits, f"name {name!r}", name_hint_only=True)
    return None


def quantization_from_config(qc: dict[str, Any], where: str) -> Quantization | None:
    """Read a ``quantization_config`` dict (transformers' serialisation of every method)."""
    method = str(qc.get("quant_method") or qc.get("quant_type") or "").lower()
    if qc.get("load_in_4bit") or (
        method == "bitsandbytes" and qc.get("bnb_4bit_quant_type") and not qc.get("load_in_8bit")
    ):
        kind = qc.get("bnb_4bit_quant_type", "4-bit")
        return Quantization("bitsandbytes", 4, f"{where} (load_in_4bit, {kind})")
    if qc.get("load_in_8bit"):
        return Quantization("bitsandbytes", 8, f"{where} (load_in_8bit)")
    if method == "compressed-tensors":
        declared = [
            group.get("weights", {}).get("num_bits")
            for group in (qc.get("config_groups") or {}).values()
            if isinstance(group, dict) and isinstance(group.get("weights"), dict)
        ]
        widths = [b for b in declared if isinstance(b, int)]
        if not widths:
            return None  # sparsity-only compression: the weights are not quantized
        return Quantization(
            "compressed-tensors", min(widths), f"{where} (format {qc.get('format', '?')})"
        )
    if not method:
        return None
    bits = qc.get("bits", qc.get("w_bit", qc.get("num_bits", qc.get("nbits"))))
    if method == "fp8" and bits is None:
        bits = 8
    return Quantization(method, int(bits) if isinstance(bits, int | float) else None, where)


_TENSOR_MARKS: tuple[tuple[str, str, int | None], ...] = (
    (".absmax", "bitsandbytes", 4),
    ("quant_state.bitsandbytes", "bitsandbytes", 4),
    (".SCB", "bitsandbytes", 8),
    (".g_idx", "gptq", None),
    (".qweight", "awq", None),
    (".weight_packed", "compressed-tensors", None),
)


def quantization_from_tensors(folder: Path) -> Quantization | None:
    """Quantized tensors in the first safetensors shard's header (no tensor data is read)."""
    shards = [p for p in weight_files(folder) if p.suffix == ".safetensors"]
    if not shards:
        return None
    header = safetensors_header(shards[0])
    names = [n for n in header if n != "__metadata__"]
    for mark, method, bits in _TENSOR_MARKS:
        if any(mark in n for n in names):
            return Quantization(method, bits, f"tensor names in {shards[0].name} (*{mark})")
    if any(
        str(e.get("dtype", "")).startswith("F8") for e in header.values() if isinstance(e, dict)
    ):
        return Quantization("fp8", 8, f"F8 tensors in {shards[0].name}")
    return None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def detect_quantization(folder: Path | None, name: str | None = None) -> Quantization | None:
    """How the checkpoint in ``folder`` (or, failing files, named ``name``) is quantized; None if
    not.

    Args:
        folder: a checkpoint folder, or None when only a name is known.
        name: the name the checkpoint goes by (hub id, path), used for name hints.
    """
    names = [n for n in (name, str(folder) if folder else None) if n]
    if folder is not None and folder.is_dir():
        config = _read_json(folder / "config.json") or {}
        qc = config.get("quantization_config")
        if isinstance(qc, dict):
            found = quantization_from_config(qc, "config.json quantization_config")
            if found:
                return found
        for legacy in ("quantize_config.json", "quant_config.json"):
            data = _read_json(folder / legacy)
            if data is not None:
                method = (
                    "awq"
                    if legacy == "quant_config.json" or data.get("quant_method") == "awq"
                    else "gptq"
                )
                found = quantization_from_config({"quant_method": method, **data}, legacy)
                if found:
                    return found
        found = quantization_from_tensors(folder)
        if found:
            return found
        if config.get("_name_or_path"):
            names.append(str(config["_name_or_path"]))
        # the files are authoritative: a clean config beats a suggestive folder name
        return None
    for candidate in names:
        found = quantization_from_name(candidate)
        if found:
            return found
    return None


@dataclass(frozen=True)
class BaseCheck:
    """What the guard found about an adapter's base."""

    adapter: str
    trained_on: str | None
    """The base named in ``adapter_config.json``."""
    evaluated_on: str | None
    """The base actually used, when ``-M base=`` overrides it."""
    quantization: Quantization | None
    reasons: list[str] = field(default_factory=list)
    trained_quantization: dict[str, Any] | None = None
    """How ``cogumi train lora --quantize`` quantized the base on the fly (from the adapter's
    ``cogumi_lineage.json``): what loading the base as trained needs (``quantized_load_kwargs``)."""

    @property
    def quantized(self) -> bool:
        return self.quantization is not None

    def message(self) -> str:
        """One paragraph a user can act on."""
        if self.quantization is None:
            return f"adapter {self.adapter}: base {self.trained_on} is not quantized"
        q = self.quantization
        bits = f"{q.bits}-bit " if q.bits else ""
        return (
            f"adapter at {self.adapter} was trained on a {bits}quantized base "
            f"({self.trained_on}; {q.method}, from {q.evidence}); merging it into the "
            "full-precision weights would bake quantization error into the weights. Retrain on "
            "the bf16 base, or merge into the dequantized 4-bit weights it was trained against "
            "(cogumi train merge --into dequantized); allow_quantized_base=True "
            "(--allow-quantized-base) merges anyway, to evaluate only, and the lineage says so."
        )


def trained_quantization(adapter: Path) -> dict[str, Any] | None:
    """The on-the-fly quantization an adapter was trained with, from its ``cogumi_lineage.json``."""
    record = read_training_lineage(adapter)
    spec = record.get("quantization") if record else None
    return spec if isinstance(spec, dict) and spec.get("method") else None


def quantized_load_kwargs(spec: dict[str, Any]) -> dict[str, Any]:
    """``from_pretrained`` arguments that quantize a base exactly as ``cogumi train lora`` did.

    Args:
        spec: the ``quantization`` record of a training lineage (method bitsandbytes, bits 4,
            quant_type, double_quant, compute_dtype, quant_storage, quantized_from).
    """
    import torch
    from transformers import BitsAndBytesConfig

    if spec.get("method") != "bitsandbytes" or spec.get("bits") != 4:
        raise QuantizedBaseError(
            f"cannot reproduce the quantization {spec!r}: only bitsandbytes 4-bit is supported."
        )
    config = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=str(spec.get("quant_type", "nf4")),
        bnb_4bit_use_double_quant=bool(spec.get("double_quant", True)),
        bnb_4bit_compute_dtype=getattr(torch, str(spec.get("compute_dtype", "bfloat16"))),
        bnb_4bit_quant_storage=getattr(torch, str(spec.get("quant_storage", "uint8"))),
    )
    # the dtype the weights are read in before quantizing decides the 4-bit blocks' scales
    return {
        "quantization_config": config,
        "dtype": getattr(torch, str(spec.get("quantized_from", "bfloat16"))),
    }


def load_quantized_as_trained(folder: Path, spec: dict[str, Any], device: str) -> Any:
    """The base at ``folder`` quantized exactly as ``cogumi train lora --quantize`` trained on it.

    The same ``from_pretrained`` arguments, then peft's ``prepare_model_for_kbit_training``
    (every parameter that is not 4-bit in fp32), as in training. On the CPU, bitsandbytes
    repacks 4-bit weights for inference with bf16 scales, a different function from the one
    trained (the training path dequantizes the stored blocks); that repacking is turned off.

    Args:
        folder: the full-precision base checkpoint the adapter names.
        spec: the ``quantization`` record of the adapter's training lineage.
        device: where to load it (``cpu``, ``cuda``, ``cuda:N``).
    """
    from peft import prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        str(folder), **quantized_load_kwargs(spec), device_map={"": device}
    )
    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False
    return model


def _describe_spec(spec: dict[str, Any]) -> str:
    parts = [str(spec.get("quant_type", "?"))]
    if spec.get("double_quant"):
        parts.append("double quant")
    parts.append(f"compute dtype {spec.get('compute_dtype', '?')}")
    flag = f"--quantize {spec.get('quant_type', '?')}"
    return f"{TRAINING_LINEAGE}: trained with {flag} ({', '.join(parts)})"


def check_adapter_base(adapter: str | os.PathLike[str], base: str | None = None) -> BaseCheck:
    """Whether the base an adapter was trained on (or is evaluated on) is quantized, and why.

    Args:
        adapter: the PEFT adapter folder.
        base: the base it will be used with, when that differs from ``adapter_config.json``.
    """
    folder = Path(adapter)
    trained_on = adapter_base_name(folder)
    reasons: list[str] = []
    found: Quantization | None = None
    spec = trained_quantization(folder)
    if spec is not None:
        # strongest evidence: the base was quantized on the fly, so its folder looks clean
        bits = spec.get("bits")
        found = Quantization(
            str(spec["method"]), int(bits) if isinstance(bits, int) else None, _describe_spec(spec)
        )
        reasons.append(
            f"trained on {trained_on} quantized on the fly: {found.method} "
            f"{found.bits or '?'}-bit ({found.evidence})"
        )
    for role, name in (("trained on", trained_on), ("evaluated on", base)):
        if not name:
            continue
        base_folder, _ = find_base(name, adapter=folder, download=False)
        q = detect_quantization(base_folder, name)
        if q is not None:
            reasons.append(f"{role} {name}: {q.method} {q.bits or '?'}-bit ({q.evidence})")
            found = found or q
    own = quantization_from_name(folder.name)
    if own is not None and own.method == "bitsandbytes" and found is None:
        # "qlora" in an adapter's own folder name is the last resort, but still worth stopping for
        reasons.append(f"adapter folder name {folder.name!r} suggests a 4-bit base")
        found = own
    return BaseCheck(
        adapter=str(folder),
        trained_on=trained_on,
        evaluated_on=base,
        quantization=found,
        reasons=reasons,
        trained_quantization=spec,
    )


def refuse_quantized_base(
    adapter: str | os.PathLike[str], base: str | None = None, *, allow_quantized_base: bool = False
) -> BaseCheck:
    """The guard every merge path calls: raises when the adapter's base is quantized.

    Args:
        adapter: the PEFT adapter folder about to be merged.
        base: the base it will be merged into, when not the one in ``adapter_config.json``.
        allow_quantized_base: proceed anyway (evaluation only; never for promotion).

    Raises:
        QuantizedBaseError: the base is quantized and ``allow_quantized_base`` is False.
    """
    check = check_adapter_base(adapter, base)
    if check.quantized:
        if not allow_quantized_base:
            raise QuantizedBaseError(check.message())
        logger.warning("QUANTIZED BASE: %s", check.message())
    return check
