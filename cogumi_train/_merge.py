"""Merging a LoRA adapter into full-precision weights, with proof that the merge kept the function.

``merge`` writes an ordinary checkpoint (safetensors, config, tokenizer) and a
``cogumi_lineage.json`` holding a ``MergeCheck``: the logits of the merged
checkpoint, read back from disk, against those of base+adapter *as trained* on
probe prompts. For a QLoRA adapter "as trained" means the base quantized to
NF4 exactly as ``cogumi train lora --quantize nf4`` did, so the check measures
what a merge into the bf16 weights breaks.

Where the adapter goes (``into``):

- ``base``: the full-precision base weights. An adapter trained on a quantized
  base is refused here (``refuse_quantized_base``) unless
  ``allow_quantized_base``, and the lineage then says the merge is into weights
  the adapter never saw.
- ``dequantized``: the base's 4-bit weights dequantized (the blocks the
  adapter's forward passes used), so the merged model is the trained function
  up to rounding to the stored dtype. transformers' own ``dequantize()`` is not
  used because it rounds through bf16 first.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cogumi_eval._errors import CogumiError

from ._lora import LIBRARIES, LINEAGE_SCHEMA, check_out_folder

Into = Literal["base", "dequantized"]

PROBES = (
    "Question: A farmer has 12 cows and buys 7 more. How many cows does he have?",
    "Write a Python function that returns the largest of three numbers.",
    "Explain in two sentences why the sky is blue.",
    "Translate to French: The weather is nice today.",
    "List three prime numbers greater than 20.",
    "What is the capital of Portugal?",
    "Summarise: The meeting was moved from Monday to Wednesday because of the holiday.",
    "Continue the story: The door opened slowly and",
)
"""Prompts used when the adapter's training data is not at hand and no probe file is given."""


_DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
}


class MergeError(CogumiError):
    """A merge cannot be done as asked: a bad adapter folder, option or base."""


class AdapterMismatchError(MergeError):
    """The adapter's layers do not fit the base (another architecture or size)."""


@dataclass(frozen=True)
class MergeCheck:
    """How closely the merged checkpoint reproduces base+adapter as trained, on probe prompts."""

    reference: str
    """The model compared against (base+adapter unmerged, quantized as in training if it was)."""
    probes: int
    tokens: int
    """Positions compared (every prompt token of every probe)."""
    probe_source: str
    max_abs_logit_diff: float
    """The largest |merged - reference| over every position and vocabulary entry."""
    mean_abs_logit_diff: float
    greedy_agreement: float
    """Share of positions where both models' most likely next token is the same."""
    reference_dtype: str
    merged_dtype: str
    device: str

    def within(self, tolerance: float) -> bool:
        """Whether the largest logit difference is at most ``tolerance``."""
        return self.max_abs_logit_diff <= tolerance

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MergeResult:
    """What a merge wrote, what the guard found, and the check."""

    out: Path
    adapter: Path
    base: Path
    into: Into
    check: MergeCheck
    quantized_base: bool
    """The adapter was trained on a quantized base."""
    allowed_quantized_base: bool
    """Merged into the full-precision weights although trained on a quantized base."""
    lineage: dict[str, Any] = field(repr=False)

    def summary(self) -> list[str]:
        """Lines for a terminal."""
        c = self.check
        lines = []
        if self.allowed_quantized_base:
            lines.append(f"WARNING: {self.lineage['guard']['message']}")
        target = (
            "dequantized 4-bit weights"
            if self.into == "dequantized"
            else "full-precision base weights"
        )
        lines += [
            f"merged {self.adapter} into the {target} of {self.base}",
            f"check vs {c.reference}: max |logit diff| {c.max_abs_logit_diff:.3g}, mean "
            f"{c.mean_abs_logit_diff:.3g}, greedy agreement {c.greedy_agreement:.1%} "
            f"({c.tokens} positions, {c.probes} probes from {c.probe_source})",
            f"safetensors, config, tokenizer, cogumi_lineage.json -> {self.out}",
        ]
        return lines


def adapter_folder(adapter: str | os.PathLike[str]) -> Path:
    """The adapter folder, checked to hold ``adapter_config.json``.

    Raises:
        MergeError: not a folder, a full checkpoint, or no ``adapter_config.json``.
    """
    from cogumi_eval.model._ref import ADAPTER_CONFIG

    folder = Path(adapter)
    if not folder.is_dir():
        raise MergeError(
            f"adapter {folder} is not a folder; pass the folder cogumi train lora "
            "(or PeftModel.save_pretrained) wrote."
        )
    if not (folder / ADAPTER_CONFIG).is_file():
        what = (
            "a full checkpoint (config.json), so there is nothing to merge"
            if (folder / "config.json").is_file()
            else "no PEFT adapter"
        )
        raise MergeError(
            f"{folder} holds no {ADAPTER_CONFIG}: it is {what}. Pass the folder "
            "cogumi train lora (or PeftModel.save_pretrained) wrote."
        )
    return folder


def _tensor_shapes(folder: Path) -> dict[str, list[int]]:
    from cogumi_eval.model._weights import safetensors_header, weight_files

    shapes: dict[str, list[int]] = {}
    for path in weight_files(folder):
        if path.suffix == ".safetensors":
            for name, entry in safetensors_header(path).items():
                if name != "__metadata__" and isinstance(entry, dict):
                    shapes[name] = list(entry.get("shape", []))
    return shapes


def check_architecture(adapter: Path, base: Path) -> None:
    """Every adapted layer exists in the base with the widths the adapter was trained for.

    Raises:
        AdapterMismatchError: a layer is missing or has other widths (read from the
            safetensors headers; a base without safetensors files is checked when loading).
    """
    from cogumi_eval.model._ref import read_training_lineage

    fix = (
        f"pass --base <the checkpoint the adapter was trained on> (the adapter names "
        f"{base} in adapter_config.json)"
    )
    record = read_training_lineage(adapter) or {}
    trained_type = (record.get("base") or {}).get("model_type")
    try:
        base_type = json.loads((base / "config.json").read_text()).get("model_type")
    except (OSError, json.JSONDecodeError):
        base_type = None
    if trained_type and base_type and trained_type != base_type:
        raise AdapterMismatchError(
            f"adapter {adapter} was trained on a {trained_type} model but {base} is a "
            f"{base_type} model; {fix}."
        )
    base_shapes = _tensor_shapes(base)
    if not base_shapes:
        return
    problems = []
    for name, shape in _tensor_shapes(adapter).items():
        if ".lora_A." not in name and ".lora_B." not in name:
            continue
        module = name.removeprefix("base_model.model.").split(".lora_")[0]
        target = base_shapes.get(f"{module}.weight")
        if target is None:
            problems.append(f"{module} is not in the base")
        elif ".lora_A." in name and len(target) == 2 and shape[-1] != target[1]:
            problems.append(
                f"{module} takes {target[1]} inputs in the base, {shape[-1]} in the adapter"
            )
        elif ".lora_B." in name and len(target) == 2 and shape[0] != target[0]:
            problems.append(
                f"{module} gives {target[0]} outputs in the base, {shape[0]} in the adapter"
            )
    if problems:
        shown = "; ".join(sorted(set(problems))[:3])
        more = len(set(problems)) - 3
        raise AdapterMismatchError(
            f"adapter {adapter} does not fit the base {base}: {shown}"
            + (f" (and {more} more)" if more > 0 else "")
            + f"; {fix}."
        )


def _probe_prompts(
    adapter: Path, tokenizer: Any, probes: str | os.PathLike[str] | None, limit: int
) -> tuple[list[list[int]], str]:
    from cogumi_eval.model._ref import read_training_lineage

    from ._sft_data import probe_prompts, prompt_ids

    if probes is not None:
        return probe_prompts(probes, tokenizer, limit), str(probes)
    data = ((read_training_lineage(adapter) or {}).get("data") or {}).get("path")
    if data and Path(data).is_file():
        return probe_prompts(data, tokenizer, limit), f"training data {data}"
    prompts = [prompt_ids(tokenizer, [{"role": "user", "content": p}]) for p in PROBES[:limit]]
    return prompts, "built-in prompts"


def _logits(model: Any, prompts: list[list[int]], device: str) -> list[Any]:
    import torch

    model.eval()
    found = []
    with torch.no_grad():
        for ids in prompts:
            out = model(input_ids=torch.tensor([ids], device=device)).logits[0]
            found.append(out.float().cpu())
    return found


def _compare(reference: list[Any], merged: list[Any]) -> tuple[float, float, float, int]:
    import torch

    diffs = [(a - b).abs() for a, b in zip(reference, merged, strict=True)]
    positions = sum(d.shape[0] for d in diffs)
    agree = sum(
        int((a.argmax(-1) == b.argmax(-1)).sum()) for a, b in zip(reference, merged, strict=True)
    )
    largest = max(float(d.max()) for d in diffs)
    mean = float(torch.cat([d.flatten() for d in diffs]).mean())
    return largest, mean, agree / positions, positions


def _full_precision_state(quantized: Any) -> dict[str, Any]:
    """Every parameter of a bitsandbytes 4-bit model in fp32 on the CPU, 4-bit ones dequantized."""
    import bitsandbytes as bnb
    import bitsandbytes.functional as bnbf
    import torch

    state: dict[str, Any] = {}
    for name, module in quantized.named_modules():
        if isinstance(module, bnb.nn.Linear4bit):
            weight: Any = module.weight
            state[f"{name}.weight"] = (
                bnbf.dequantize_4bit(weight.data, weight.quant_state).to(torch.float32).cpu()
            )
            if module.bias is not None:
                state[f"{name}.bias"] = module.bias.detach().to(torch.float32).cpu()
    for name, param in quantized.named_parameters():
        if name not in state and not isinstance(param, bnb.nn.Params4bit):
            state[name] = param.detach().to(torch.float32).cpu()
    return state


def _stored_dtype(folder: Path) -> str:
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        return "float32"
    return str(config.get("dtype") or config.get("torch_dtype") or "float32")


def merge(
    adapter: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    base: str | None = None,
    into: Into = "base",
    allow_quantized_base: bool = False,
    dtype: str | None = None,
    device: str | None = None,
    probes: str | os.PathLike[str] | None = None,
    max_probes: int = 8,
    overwrite: bool = False,
) -> MergeResult:
    """Merge ``adapter`` into a full-precision model at ``out`` and check the merged logits.

    Args:
        adapter: the PEFT adapter folder.
        out: the checkpoint folder to write.
        base: the base to merge into, instead of the one in ``adapter_config.json``.
        into: ``base`` (the full-precision base weights) or ``dequantized`` (the dequantized
            4-bit weights a QLoRA adapter was trained against).
        allow_quantized_base: with ``into="base"``, merge an adapter trained on a quantized base
            anyway; the lineage records it (for measuring the damage, never for promotion).
        dtype: dtype of the written weights (default: the base's stored dtype).
        device: where to merge and check (default: cuda when present).
        probes: probe prompts: a text file (one per line) or JSONL of training records; default
            the adapter's training data when it is still there, else built-in prompts.
        max_probes: probe prompts used at most.
        overwrite: write into an ``out`` folder that already holds weights.

    Raises:
        QuantizedBaseError: trained on a quantized base, ``into="base"``, not allowed.
        MergeError: a bad adapter folder or option; ``AdapterMismatchError`` when its layers do
            not fit the base.
        BaseModelNotFoundError: the base named by the adapter is nowhere to be found.
    """
    from cogumi_eval.model import check_adapter_base, refuse_quantized_base, resolve_ref
    from cogumi_eval.model import weights_digest as digest_of
    from cogumi_eval.model._lineage import library_versions
    from cogumi_eval.model._quantization import load_quantized_as_trained
    from cogumi_eval.model._ref import TRAINING_LINEAGE, read_training_lineage

    if into not in ("base", "dequantized"):
        raise MergeError(f"--into {into!r} must be base or dequantized.")
    if max_probes < 1:
        raise MergeError(f"--max-probes {max_probes} must be at least 1.")
    folder = adapter_folder(adapter)
    target = Path(out)
    check_out_folder(target, overwrite, MergeError)
    ref = resolve_ref(str(folder), base=base)
    assert ref.base_path is not None
    base_path = ref.base_path
    check_architecture(folder, base_path)

    guard = check_adapter_base(folder, base)
    if into == "base":
        guard = refuse_quantized_base(folder, base, allow_quantized_base=allow_quantized_base)
    elif not guard.quantized:
        raise MergeError(
            f"--into dequantized merges into the dequantized 4-bit weights a QLoRA adapter was "
            f"trained against, but adapter {folder} was trained on {guard.trained_on}, which is "
            "not quantized; merge with the default --into base."
        )
    spec = guard.trained_quantization
    if (
        guard.quantized
        and spec is None
        and not (
            guard.quantization
            and guard.quantization.method == "bitsandbytes"
            and guard.quantization.bits == 4
            and not guard.quantization.name_hint_only
        )
    ):
        raise MergeError(
            f"the base of adapter {folder} is quantized ({guard.message()}) in a way Cogumi cannot "
            "load as trained (only bitsandbytes 4-bit is supported); retrain on the bf16 base."
        )

    # the inputs are checked: only now load torch, peft and transformers (seconds, and bitsandbytes'
    # import-time messages), so a wrong folder or a refused merge answers at once
    import torch
    from peft import PeftModel
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    where = device or ("cuda" if torch.cuda.is_available() else "cpu")
    out_name = dtype or _stored_dtype(base_path)
    out_dtype_name = _DTYPES.get(out_name.lower())
    if out_dtype_name is None:
        raise MergeError(f"--dtype {out_name!r} is not one of {', '.join(sorted(_DTYPES))}.")
    out_dtype = getattr(torch, out_dtype_name)
    source = folder if (folder / "tokenizer_config.json").is_file() else base_path
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    prompts, probe_source = _probe_prompts(folder, tokenizer, probes, max_probes)

    # 1. the reference: base + adapter unmerged, the base loaded as it was in training
    state: dict[str, Any] | None = None
    if guard.quantized:
        if spec is not None:
            quantized = load_quantized_as_trained(base_path, spec, where)
            described = f"bitsandbytes {spec.get('quant_type')} as in training"
        else:  # a checkpoint saved already quantized (its config carries quantization_config)
            quantized = AutoModelForCausalLM.from_pretrained(str(base_path), device_map={"": where})
            described = "bitsandbytes 4-bit as stored"
        if into == "dequantized":
            state = _full_precision_state(quantized)
        reference_model = PeftModel.from_pretrained(quantized, str(folder))
        reference = f"base + adapter, base quantized to {described}"
        reference_dtype = str(spec.get("compute_dtype")) if spec else "bfloat16"
    else:
        ref_dtype = torch.bfloat16 if where.startswith("cuda") else torch.float32
        loaded: Any = AutoModelForCausalLM.from_pretrained(str(base_path), dtype=ref_dtype)
        loaded = loaded.to(where)
        reference_model = PeftModel.from_pretrained(loaded, str(folder))
        reference = "base + adapter, unmerged"
        reference_dtype = str(ref_dtype).removeprefix("torch.")
    reference_logits = _logits(reference_model, prompts, where)
    del reference_model
    if where.startswith("cuda"):
        torch.cuda.empty_cache()

    # 2. the merge, in fp32, into the base weights or the dequantized 4-bit ones
    if state is not None:
        config = AutoConfig.from_pretrained(str(base_path))
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        missing, _ = model.load_state_dict(state, strict=False)
        named = dict(model.named_parameters())
        absent = [k for k in missing if k in named and not k.endswith("lm_head.weight")]
        if absent:
            raise MergeError(f"the dequantized base of {folder} lacks {', '.join(absent[:3])}.")
        model.tie_weights()
        del state
    else:
        model = AutoModelForCausalLM.from_pretrained(str(base_path), dtype=torch.float32)
    model = model.to(where)
    merged = PeftModel.from_pretrained(model, str(folder)).merge_and_unload()
    merged = merged.to(out_dtype)
    target.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(target))
    tokenizer.save_pretrained(str(target))
    del merged, model
    if where.startswith("cuda"):
        torch.cuda.empty_cache()

    # 3. the check, on the checkpoint as written
    written: Any = AutoModelForCausalLM.from_pretrained(str(target), dtype=out_dtype)
    written = written.to(where)
    largest, mean, agreement, positions = _compare(
        reference_logits, _logits(written, prompts, where)
    )
    del written
    check = MergeCheck(
        reference=reference,
        probes=len(prompts),
        tokens=positions,
        probe_source=probe_source,
        max_abs_logit_diff=largest,
        mean_abs_logit_diff=mean,
        greedy_agreement=agreement,
        reference_dtype=reference_dtype,
        merged_dtype=str(out_dtype).removeprefix("torch."),
        device=where,
    )
    allowed = guard.quantized and into == "base"
    base_digest = digest_of(base_path)
    adapter_digest = digest_of(folder)
    merged_digest = digest_of(target)
    lineage: dict[str, Any] = {
        "schema": LINEAGE_SCHEMA,
        "step": "merge",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "adapter": {
            "path": str(folder.resolve()),
            "weights": adapter_digest.__dict__ if adapter_digest else None,
            "trained": read_training_lineage(folder),
        },
        "base": {
            "name": guard.trained_on,
            "path": str(base_path),
            "weights": base_digest.__dict__ if base_digest else None,
        },
        "into": into,
        "merged_into": "dequantized 4-bit base weights (the function the adapter was trained "
        "against)"
        if into == "dequantized"
        else "full-precision base weights",
        "quantized_base": asdict(guard.quantization) if guard.quantization else None,
        "allowed_quantized_base": allowed,
        "guard": {
            "quantized": guard.quantized,
            "reasons": guard.reasons,
            "message": guard.message() if guard.quantized else None,
        },
        "dtype": check.merged_dtype,
        "check": check.to_dict(),
        "merged_weights": merged_digest.__dict__ if merged_digest else None,
        "libraries": {**library_versions(*LIBRARIES), "python": platform.python_version()},
    }
    (target / TRAINING_LINEAGE).write_text(json.dumps(lineage, indent=2, default=str) + "\n")
    return MergeResult(
        out=target,
        adapter=folder,
        base=base_path,
        into=into,
        check=check,
        quantized_base=guard.quantized,
        allowed_quantized_base=allowed,
        lineage=lineage,
    )
