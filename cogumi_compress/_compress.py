"""``compress``: one recipe applied to one checkpoint with llmcompressor's one-shot flow.

Everything that can be refused is refused before the model is loaded: an
unknown recipe, an adapter or an already-quantized folder, an existing output,
a group size the layers cannot take, a recipe that needs a GPU on a CPU-only
machine, too little disk space, and a missing or too small calibration source.
The checkpoint is written to a hidden folder beside the output and renamed
into place at the end, so an interrupted run never leaves a folder that looks
like a finished model.

The output is a compressed-tensors checkpoint (``config.json`` carries its
``quantization_config``): transformers loads it (so ``--model cogumi/<out>``
on the hf backend) and vLLM serves it natively. ``compression.json`` beside
the weights holds the recipe, the calibration set and its hash, the parent's
weight hash and the size report; the model API copies it into every log's
lineage.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cogumi_eval.model._errors import BaseModelNotFoundError
from cogumi_eval.model._lineage import library_versions
from cogumi_eval.model._quantization import detect_quantization
from cogumi_eval.model._ref import ADAPTER_CONFIG, candidate_paths, resolve_ref
from cogumi_eval.model._weights import weights_digest

from ._calibration import CalibrationSet, calibration_set
from ._errors import (
    AcceleratorRequiredError,
    AdapterFolderError,
    AlreadyQuantizedError,
    CompressionError,
    DiskSpaceError,
    OutputExistsError,
)
from ._recipe import IGNORE, RECIPES, Recipe, get_recipe
from ._report import SizeReport, estimate_output_bytes, folder_tensors, layer_zeros, size_report

RECORD_FILE = "compression.json"
RECORD_FORMAT = "cogumi-compression-v1"
LIBRARIES = ("llmcompressor", "compressed-tensors", "torch", "transformers")


@dataclass(frozen=True)
class CompressionResult:
    """A finished compression: where it is, what was done, and what it saved."""

    out: Path
    parent: Path
    recipe: Recipe
    calibration: CalibrationSet
    report: SizeReport
    record: dict[str, Any]
    """What ``compression.json`` holds (and the lineage shows)."""
    seconds: float
    device: str

    def summary(self) -> str:
        return (
            f"{self.recipe.name}: {self.parent} -> {self.out} in {self.seconds:.1f} s "
            f"on {self.device}; "
            f"{len(self.calibration.texts)} calibration samples (sha256 "
            f"{self.calibration.sha256[:16]}).\n{self.report.summary()}\n"
            f"Evaluate it with --model cogumi/{self.out}; promote it with "
            f"`cogumi promote {self.out} "
            "--as NAME --baseline PARENT --spec results/gates/compression.toml`."
        )


def _parent_folder(model: str | os.PathLike[str], registry: str | os.PathLike[str] | None) -> Path:
    text = str(model)
    for candidate in candidate_paths(text):
        if (candidate / ADAPTER_CONFIG).is_file():
            raise AdapterFolderError(_adapter_message(candidate))
    try:
        ref = resolve_ref(text, registry=registry)
    except BaseModelNotFoundError as ex:
        raise AdapterFolderError(f"{text} is a PEFT adapter ({ex}). Merge it first.") from ex
    if ref.kind == "adapter":
        raise AdapterFolderError(_adapter_message(ref.path))
    return ref.path


def _adapter_message(folder: Path) -> str:
    return (
        f"{folder} is a PEFT adapter ({ADAPTER_CONFIG}), not a full checkpoint; compression "
        "works on full weights. Merge it into its base first (`cogumi train merge`, or "
        "PeftModel.merge_and_unload() and save_pretrained) and compress the merged folder."
    )


def _check_not_quantized(folder: Path) -> None:
    found = detect_quantization(folder)
    if found is not None:
        bits = f"{found.bits}-bit " if found.bits else ""
        raise AlreadyQuantizedError(
            f"{folder} is already quantized ({found.method} {bits}from {found.evidence}); "
            "compressing it again would quantize its quantization error. Compress the "
            "unquantized parent instead (`cogumi lineage` on this folder names it)."
        )
    if not any(True for _ in folder_tensors(folder)):
        raise CompressionError(
            f"{folder} holds no safetensors weights; re-save it with "
            "model.save_pretrained(folder) (safetensors is the default) and compress that."
        )


def _check_group_size(folder: Path, recipe: Recipe) -> None:
    if recipe.group_size is None or recipe.weight_bits is None:
        return
    bad = []
    for name, entry in folder_tensors(folder).items():
        module = name.rsplit(".", 1)[0]
        shape = entry.get("shape", [])
        if (
            name.endswith(".weight")
            and len(shape) == 2
            and ".layers." in f".{module}."
            and module.rsplit(".", 1)[-1] not in IGNORE
        ):
            cols = int(shape[1])
            if cols >= recipe.group_size and cols % recipe.group_size:
                bad.append(f"{module} ({cols} inputs)")
    if bad:
        raise CompressionError(
            f"recipe {recipe.name} quantizes in groups of {recipe.group_size} weights, which "
            f"does not divide the inputs of {len(bad)} layer(s): {', '.join(bad[:4])}"
            f"{' ...' if len(bad) > 4 else ''}. Pass a group size that divides them (--group-size)."
        )


def _accelerator_available() -> bool:
    import torch

    return bool(torch.accelerator.is_available())


def _resolve_device(device: str | None, recipe: Recipe) -> str:
    available = _accelerator_available()
    chosen = (device or ("cuda" if available else "cpu")).lower()
    cpu_recipes = ", ".join(r.name for r in RECIPES.values() if r.needs_accelerator is None)
    if chosen == "cpu":
        if recipe.needs_accelerator:
            where = "this machine has none" if not available else "--device cpu was asked for"
            raise AcceleratorRequiredError(
                f"recipe {recipe.name} needs a GPU ({recipe.needs_accelerator}) and {where}. "
                f"Run it on a GPU machine, or choose a recipe that runs on the CPU: {cpu_recipes}."
            )
        if available:
            raise AcceleratorRequiredError(
                "--device cpu was asked for, but llmcompressor calibrates on the first visible "
                "accelerator whenever one is present; hide it (CUDA_VISIBLE_DEVICES=) to compress "
                "on the CPU."
            )
        return "cpu"
    if chosen.startswith("cuda"):
        if not available:
            raise AcceleratorRequiredError(
                f"--device {chosen} was asked for but this machine has no GPU; use --device cpu "
                f"with one of {cpu_recipes}."
            )
        if chosen not in ("cuda", "cuda:0"):
            raise AcceleratorRequiredError(
                f"--device {chosen}: llmcompressor calibrates on the first visible GPU; select "
                f"it with CUDA_VISIBLE_DEVICES={chosen.removeprefix('cuda:')} and --device cuda."
            )
        return "cuda"
    raise AcceleratorRequiredError(f"--device {device!r} is not cpu or cuda.")


def _check_output(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputExistsError(
            f"output {out} already exists; choose a new folder (outputs are never overwritten)."
        )


def _check_disk(out: Path, needed: int) -> None:
    probe = out.absolute()
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < needed:
        raise DiskSpaceError(
            f"the output needs about {needed / 2**20:,.0f} MiB but {probe} has "
            f"{free / 2**20:,.0f} MiB free; free some space or write --out elsewhere."
        )


def _tokenized(tokenizer: Any, texts: tuple[str, ...], max_seq_length: int) -> Any:
    from datasets import Dataset

    encoded = tokenizer(list(texts), truncation=True, max_length=max_seq_length)
    return Dataset.from_dict(
        {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}
    )


def compress(
    model: str | os.PathLike[str],
    *,
    recipe: str | Recipe,
    out: str | os.PathLike[str],
    calibration: str | CalibrationSet = "gsm8k:256,mmlu:256",
    seed: int = 0,
    device: str | None = None,
    max_seq_length: int = 512,
    group_size: int | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    registry: str | os.PathLike[str] | None = None,
) -> CompressionResult:
    """Compress a checkpoint with one recipe and write a compressed-tensors checkpoint.

    Args:
        model: a checkpoint folder or registry name (not an adapter; not quantized).
        recipe: one of ``RECIPES`` (``awq-w4a16``, ``gptq-w4a16``, ``w8a8``,
            ``sparse-2of4``, ``sparse-2of4+w4a16``) or a ``Recipe``.
        out: the output folder; it must not exist (or be empty).
        calibration: a calibration spec (``gsm8k:256,mmlu:256``, ``data.jsonl:128``; see
            ``calibration_set``) or a ``CalibrationSet`` already drawn.
        seed: the seed of the calibration draw.
        device: ``cpu`` or ``cuda`` (default: cuda when present). A recipe that needs a GPU
            is refused on the CPU before anything is loaded.
        max_seq_length: calibration samples are cut to this many tokens.
        group_size: weights per scale for the grouped int4 recipes (default 128).
        data_dir: the benchmark data folder (default ``$COGUMI_DATA_DIR``).
        registry: the model registry, when ``model`` is a registered name.

    Raises:
        CompressionError: a subclass naming the input at fault and the fix.
    """
    chosen = get_recipe(recipe).with_group_size(group_size)
    parent = _parent_folder(model, registry)
    _check_not_quantized(parent)
    out_path = Path(out).expanduser()
    _check_output(out_path)
    _check_group_size(parent, chosen)
    run_device = _resolve_device(device, chosen)
    _check_disk(out_path, estimate_output_bytes(parent, chosen.weight_bits, chosen.group_size))
    calib = (
        calibration
        if isinstance(calibration, CalibrationSet)
        else calibration_set(calibration, seed=seed, data_dir=data_dir)
    )
    parent_digest = weights_digest(parent)

    from llmcompressor import oneshot
    from llmcompressor.core import active_session
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(parent))
    loaded = AutoModelForCausalLM.from_pretrained(str(parent), dtype="auto")
    dataset = _tokenized(tokenizer, calib.texts, max_seq_length)
    try:
        oneshot(
            model=loaded,
            tokenizer=tokenizer,
            dataset=dataset,
            recipe=chosen.modifiers(),
            num_calibration_samples=len(calib.texts),
            max_seq_length=max_seq_length,
            shuffle_calibration_samples=False,
        )
    except Exception as ex:  # llmcompressor failures (unsupported layers, tracing): one line
        active_session().reset()
        raise CompressionError(
            f"llmcompressor could not apply {chosen.name} to {parent}: {type(ex).__name__}: {ex}"
        ) from ex
    zeros = layer_zeros(loaded)

    out_path.parent.mkdir(parents=True, exist_ok=True)
    staging = out_path.parent / f".{out_path.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        loaded.save_pretrained(str(staging), save_compressed=True)
        tokenizer.save_pretrained(str(staging))
        seconds = time.perf_counter() - started
        report = size_report(parent, staging, zeros, tuple(IGNORE))
        record = {
            "format": RECORD_FORMAT,
            "recipe": chosen.name,
            "method": chosen.method,
            "scheme": chosen.scheme,
            "weight_bits": chosen.weight_bits,
            "activation_bits": chosen.activation_bits,
            "group_size": chosen.group_size,
            "sparsity": chosen.sparsity,
            "mask_structure": chosen.mask_structure,
            "ignore": list(IGNORE),
            "calibration": {**calib.to_dict(), "max_seq_length": max_seq_length},
            "parent": {
                "ref": str(model),
                "path": str(parent),
                "weights_sha256": parent_digest.sha256 if parent_digest else None,
                "bytes": parent_digest.bytes if parent_digest else None,
            },
            "device": run_device,
            "seconds": round(seconds, 3),
            "libraries": library_versions(*LIBRARIES),
            "size": report.to_dict(),
        }
        (staging / RECORD_FILE).write_text(json.dumps(record, indent=2) + "\n")
        if out_path.is_dir():
            out_path.rmdir()  # empty (checked above)
        staging.rename(out_path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        active_session().reset()
    return CompressionResult(
        out=out_path,
        parent=parent,
        recipe=chosen,
        calibration=calib,
        report=report,
        record=record,
        seconds=seconds,
        device=run_device,
    )


def read_record(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``compression.json`` of a compressed folder, or None when it has none."""
    path = Path(folder) / RECORD_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None
