"""LoRA and QLoRA supervised fine-tuning with peft, on one device or many through accelerate.

The base is loaded in bf16 on a GPU and fp32 on the CPU (bf16 matmuls are slow
there); with ``quantize="nf4"`` it is instead quantized on the fly to
bitsandbytes NF4 (QLoRA: ``BitsAndBytesConfig`` + peft's
``prepare_model_for_kbit_training``). The loop is a plain PyTorch one driven by
``accelerate.Accelerator``, so ``accelerate launch -m cogumi_eval.cli train lora
...`` runs it data-parallel over several GPUs with no code of ours in between.

The output folder is an ordinary peft adapter (``adapter_config.json``,
``adapter_model.safetensors``) with the tokenizer, ``cogumi_lineage.json``
(base and its weight hash, quantization, data hash, hyper-parameters, library
versions, throughput) and the loss curve (``loss.json``, ``loss.png``). The
lineage's ``quantization`` record is what the quantized-base guard and the
``cogumi`` hf backend read to know, and to reproduce, the base the adapter was
trained against.
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cogumi_eval._errors import CogumiError

from ._sft_data import IGNORE, EncodedData, Example, encode_file

LINEAGE_SCHEMA = "cogumi-train-lineage-v1"
LIBRARIES = ("torch", "transformers", "peft", "bitsandbytes", "accelerate", "cogumi")


class LoraError(CogumiError):
    """A LoRA run cannot start: a bad base, option or target module."""


@dataclass(frozen=True)
class LoraResult:
    """What a LoRA run wrote and how it went."""

    out: Path
    """The adapter folder."""
    steps: int
    losses: list[float]
    """The mean response-token loss of each optimizer step."""
    tokens: int
    """Tokens (prompt and response, padding excluded) seen in training, all processes."""
    seconds: float
    """Time in the training loop (loading and saving excluded)."""
    device: str
    peak_memory_bytes: int | None
    peak_memory_kind: str
    quantization: dict[str, Any] | None
    lineage: dict[str, Any] = field(repr=False)
    main_process: bool = True
    """False on the non-main processes of a multi-process run (they write nothing)."""

    @property
    def first_loss(self) -> float:
        return self.losses[0]

    @property
    def final_loss(self) -> float:
        return self.losses[-1]

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> list[str]:
        """Lines for a terminal."""
        kind = (
            f"QLoRA (base quantized to bitsandbytes {self.quantization['quant_type']})"
            if self.quantization
            else "LoRA"
        )
        memory = (
            f"{self.peak_memory_bytes / 2**30:.2f} GiB ({self.peak_memory_kind})"
            if self.peak_memory_bytes
            else "-"
        )
        return [
            f"{kind}: {self.steps} steps on {self.device}, loss {self.first_loss:.4f} -> "
            f"{self.final_loss:.4f}",
            f"{self.tokens} tokens in {self.seconds:.1f} s ({self.tokens_per_second:,.0f} tok/s), "
            f"peak memory {memory}",
            f"adapter, tokenizer, cogumi_lineage.json, loss.json, loss.png -> {self.out}",
        ]


def _collate(batch: Sequence[Example], pad_id: int) -> dict[str, Any]:
    import torch

    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, example in enumerate(batch):
        n = len(example.input_ids)
        ids[row, :n] = torch.tensor(example.input_ids)
        labels[row, :n] = torch.tensor(example.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def _check_options(
    rank: int,
    alpha: int,
    dropout: float,
    lr: float,
    epochs: float,
    steps: int | None,
    batch_size: int,
    grad_accum: int,
    max_length: int,
    quantize: str | None,
) -> None:
    problems = [
        (rank < 1, f"--rank {rank} must be at least 1"),
        (alpha <= 0, f"--alpha {alpha} must be positive"),
        (not 0 <= dropout < 1, f"--dropout {dropout} must be in [0, 1)"),
        (lr <= 0, f"--lr {lr} must be positive"),
        (steps is None and epochs <= 0, f"--epochs {epochs} must be positive"),
        (steps is not None and steps < 1, f"--steps {steps} must be at least 1"),
        (batch_size < 1, f"--batch-size {batch_size} must be at least 1"),
        (grad_accum < 1, f"--grad-accum {grad_accum} must be at least 1"),
        (max_length < 2, f"--max-length {max_length} must be at least 2"),
        (quantize not in (None, "nf4"), f"--quantize {quantize!r} is not supported (use nf4)"),
    ]
    bad = [text for wrong, text in problems if wrong]
    if bad:
        raise LoraError("; ".join(bad) + ".")


def _base_record(base: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    from cogumi_eval.model import detect_quantization, resolve_ref, weights_digest

    ref = resolve_ref(str(base))
    if ref.kind != "checkpoint":
        raise LoraError(
            f"--base {base} is a PEFT adapter, not a checkpoint; train on its base, or merge it "
            "first (cogumi train merge) and train on the merged folder."
        )
    config = json.loads((ref.path / "config.json").read_text())
    digest = weights_digest(ref.path)
    if digest is None:
        raise LoraError(f"--base {ref.path} holds no weight files (*.safetensors, *.bin).")
    found = detect_quantization(ref.path, str(base))
    record = {
        "name": str(base),
        "path": str(ref.path),
        "weights": digest.__dict__,
        "architectures": config.get("architectures"),
        "model_type": config.get("model_type"),
        "stored_dtype": config.get("dtype") or config.get("torch_dtype"),
        "quantization": found.__dict__ if found else None,
    }
    return ref.path, record


def check_out_folder(folder: Path, overwrite: bool, error: type[CogumiError]) -> None:
    """Refuse to write weights over a folder that already holds some (stale shards would mix)."""
    from cogumi_eval.model._weights import weight_files

    if folder.exists() and not folder.is_dir():
        raise error(f"--out {folder} is a file; pass a folder.")
    if folder.is_dir() and weight_files(folder) and not overwrite:
        raise error(
            f"--out {folder} already holds weights; choose another folder, remove it, "
            "or pass --overwrite."
        )


def _peak_memory(device: str) -> tuple[int | None, str]:
    import torch

    if device.startswith("cuda"):
        return int(
            torch.cuda.max_memory_allocated(torch.device(device))
        ), "torch.cuda.max_memory_allocated"
    # ru_maxrss is KiB on Linux: the whole process, weights and Python included
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024, "process max RSS"


def _write_curve(out: Path, curve: list[dict[str, float]], title: str) -> None:
    from matplotlib.figure import Figure

    (out / "loss.json").write_text(json.dumps(curve, indent=1) + "\n")
    figure = Figure(figsize=(6, 3.5), dpi=120)
    axes = figure.subplots()
    axes.plot([p["step"] for p in curve], [p["loss"] for p in curve], linewidth=1.2)
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("response-token loss")
    axes.set_title(title, fontsize=9)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(out / "loss.png")


def lora(
    base: str | os.PathLike[str],
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    quantize: str | None = None,
    double_quant: bool = True,
    rank: int = 16,
    alpha: int = 32,
    dropout: float = 0.05,
    target_modules: str | Sequence[str] = "all-linear",
    lr: float = 2e-4,
    warmup: int = 0,
    epochs: float = 1.0,
    steps: int | None = None,
    batch_size: int = 8,
    grad_accum: int = 1,
    max_length: int = 1024,
    seed: int = 0,
    device: str | None = None,
    gradient_checkpointing: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> LoraResult:
    """Fine-tune a LoRA adapter on ``base`` with the loss on response tokens only.

    Args:
        base: the checkpoint folder (or registry name) to fine-tune.
        data: JSONL of ``messages`` or ``instruction``/``response`` records (see ``_sft_data``).
        out: the adapter folder to write (created; files in it are overwritten).
        quantize: ``"nf4"`` for QLoRA: the base quantized on the fly to bitsandbytes NF4.
        double_quant: with ``quantize``, also quantize the blocks' scales (QLoRA's default).
        rank: LoRA rank r.
        alpha: LoRA alpha (the update is scaled by alpha / r).
        dropout: dropout on the LoRA path.
        target_modules: module names to adapt, or ``"all-linear"`` (every linear layer but the
            output head, as in QLoRA).
        lr: peak learning rate of AdamW (linear warm-up, then cosine decay to zero).
        warmup: warm-up steps.
        epochs: passes over the data, when ``steps`` is not given.
        steps: optimizer steps (the data is cycled as needed).
        batch_size: sequences per micro-batch, per process.
        grad_accum: micro-batches per optimizer step.
        max_length: tokens per sequence; longer records are cut.
        seed: seeds adapter init, shuffling and dropout.
        device: ``cpu``, ``cuda``, ``cuda:N`` (default: cuda when present); ignored under
            ``accelerate launch``, which gives each process its GPU.
        gradient_checkpointing: recompute activations in the backward pass to save memory.
        overwrite: write into an ``out`` folder that already holds weights.
        progress: show a progress bar (main process only).

    Raises:
        LoraError: a bad option, a base that is an adapter, or target modules that match nothing.
        TrainingDataError: the data file is missing, empty or holds an unusable record.
    """
    _check_options(
        rank, alpha, dropout, lr, epochs, steps, batch_size, grad_accum, max_length, quantize
    )
    check_out_folder(Path(out), overwrite, LoraError)
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from transformers import AutoModelForCausalLM, AutoTokenizer, get_cosine_schedule_with_warmup

    from cogumi_eval.model import TokenizerMissingError
    from cogumi_eval.model._lineage import library_versions
    from cogumi_eval.model._quantization import load_quantized_as_trained

    base_path, base_record = _base_record(base)
    accelerator = Accelerator(
        gradient_accumulation_steps=grad_accum, device_placement=False, cpu=device == "cpu"
    )
    if accelerator.num_processes > 1 or device is None:
        where = str(accelerator.device)
        where = "cuda:0" if where == "cuda" else where
    else:
        where = device
    on_gpu = where.startswith("cuda")
    dtype = torch.bfloat16 if on_gpu else torch.float32
    set_seed(seed)

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(base_path))
    except (OSError, ValueError) as ex:
        raise TokenizerMissingError(
            f"--base {base_path} has no usable tokenizer ({ex}); save one beside the weights."
        ) from ex
    encoded: EncodedData = encode_file(data, tokenizer, max_length)

    if on_gpu:
        torch.cuda.reset_peak_memory_stats(torch.device(where))
    spec: dict[str, Any] | None = None
    if quantize:
        spec = {
            "method": "bitsandbytes",
            "bits": 4,
            "quant_type": quantize,
            "double_quant": double_quant,
            "compute_dtype": str(dtype).removeprefix("torch."),
            "quant_storage": "uint8",
            "quantized_from": str(dtype).removeprefix("torch."),
            "blocksize": 64,
            "not_quantized": "lm_head (transformers' default)",
            "prepared": "peft prepare_model_for_kbit_training (other parameters in float32)",
        }
        # the one loader the guard, the merge check and the hf backend also use
        model: Any = load_quantized_as_trained(base_path, spec, where)
    else:
        model = AutoModelForCausalLM.from_pretrained(str(base_path), dtype=dtype)
        model = model.to(where)
    if gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()

    from peft import LoraConfig, get_peft_model

    targets: str | list[str] = (
        target_modules if isinstance(target_modules, str) else list(target_modules)
    )
    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
    )
    try:
        model = get_peft_model(model, config)
    except ValueError as ex:
        linear = sorted(
            {
                name.rsplit(".", 1)[-1]
                for name, module in model.named_modules()
                if isinstance(module, torch.nn.Linear)
            }
        )
        raise LoraError(
            f"--target-modules {target_modules} do not fit {base_path} ({ex}). Its linear "
            f"layers are named {', '.join(linear)}; pass some of those or all-linear."
        ) from ex
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total_params = sum(p.numel() for p in model.parameters())

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    generator = torch.Generator().manual_seed(seed)
    loader: Any = torch.utils.data.DataLoader(
        encoded.examples,  # type: ignore[arg-type]  # a list is a map-style dataset
        batch_size=batch_size,
        shuffle=True,
        generator=generator,
        collate_fn=lambda b: _collate(b, int(pad or 0)),
    )
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.0
    )
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    per_epoch = math.ceil(len(loader) / grad_accum)
    total = steps if steps is not None else max(1, round(epochs * per_epoch))
    scheduler = get_cosine_schedule_with_warmup(optimizer, min(warmup, total), total)

    curve: list[dict[str, float]] = []
    tokens = 0
    micro: list[Any] = []
    show = progress and accelerator.is_main_process
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("[bold]lora[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not show,
    )
    model.train()
    started = time.perf_counter()
    with bar:
        task = bar.add_task("", total=total)
        step = 0
        while step < total:
            for batch in loader:
                batch = {k: v.to(where) for k, v in batch.items()}
                with accelerator.accumulate(model):
                    loss = model(**batch).loss
                    accelerator.backward(loss)
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=True)
                micro.append(loss.detach())
                tokens += int(accelerator.reduce(batch["attention_mask"].sum(), "sum").item())
                if not accelerator.sync_gradients:
                    continue
                scheduler.step()
                step += 1
                mean = accelerator.reduce(torch.stack(micro).mean(), "mean")
                micro.clear()
                curve.append(
                    {
                        "step": step,
                        "loss": float(mean.item()),
                        "lr": float(scheduler.get_last_lr()[0]),
                        "tokens": tokens,
                        "seconds": round(time.perf_counter() - started, 4),
                    }
                )
                bar.update(task, advance=1, description=f"loss {curve[-1]['loss']:.4f}")
                if step >= total:
                    break
    if on_gpu:
        torch.cuda.synchronize(torch.device(where))
    seconds = time.perf_counter() - started
    peak, peak_kind = _peak_memory(where)

    folder = Path(out)
    hyper = {
        "rank": rank,
        "alpha": alpha,
        "dropout": dropout,
        "target_modules": targets if isinstance(targets, str) else sorted(targets),
        "lr": lr,
        "schedule": "linear warm-up, cosine decay to 0",
        "warmup": warmup,
        "optimizer": "torch AdamW (weight decay 0)",
        "epochs": epochs if steps is None else None,
        "steps": total,
        "batch_size": batch_size,
        "grad_accum": grad_accum,
        "processes": accelerator.num_processes,
        "effective_batch": batch_size * grad_accum * accelerator.num_processes,
        "max_length": max_length,
        "seed": seed,
        "gradient_checkpointing": gradient_checkpointing,
        "loss": "mean cross-entropy over response tokens",
    }
    lineage: dict[str, Any] = {
        "schema": LINEAGE_SCHEMA,
        "step": "lora",
        "kind": "qlora" if quantize else "lora",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "base": base_record,
        "quantization": spec,
        "data": encoded.to_dict(),
        "hyperparameters": hyper,
        "training": {
            "device": where
            if not on_gpu
            else f"{where} ({torch.cuda.get_device_name(torch.device(where))})",
            "dtype": str(dtype).removeprefix("torch."),
            "trainable_parameters": trainable,
            "parameters": total_params,
            "steps": len(curve),
            "tokens": tokens,
            "seconds": round(seconds, 3),
            "tokens_per_second": round(tokens / seconds, 1) if seconds > 0 else None,
            "peak_memory_bytes": peak,
            "peak_memory_kind": peak_kind,
            "first_loss": curve[0]["loss"],
            "final_loss": curve[-1]["loss"],
        },
        "libraries": {**library_versions(*LIBRARIES), "python": platform.python_version()},
    }
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        folder.mkdir(parents=True, exist_ok=True)
        unwrapped = accelerator.unwrap_model(model)
        unwrapped.save_pretrained(str(folder))
        _point_at_base(folder, base_path)
        tokenizer.save_pretrained(str(folder))
        from cogumi_eval.model import weights_digest

        digest = weights_digest(folder)
        lineage["adapter_weights"] = digest.__dict__ if digest else None
        from cogumi_eval.model._ref import TRAINING_LINEAGE

        (folder / TRAINING_LINEAGE).write_text(json.dumps(lineage, indent=2) + "\n")
        title = f"{lineage['kind']} r={rank} on {base_path.name} ({encoded.path.name})"
        _write_curve(folder, curve, title)
    accelerator.wait_for_everyone()
    # the accelerator holds the prepared model: let it go before the caller trains again
    del model, optimizer, loader
    accelerator.free_memory()
    return LoraResult(
        out=folder,
        steps=len(curve),
        losses=[p["loss"] for p in curve],
        tokens=tokens,
        seconds=seconds,
        device=lineage["training"]["device"],
        peak_memory_bytes=peak,
        peak_memory_kind=peak_kind,
        quantization=spec,
        lineage=lineage,
        main_process=accelerator.is_main_process,
    )


def _point_at_base(folder: Path, base_path: Path) -> None:
    """Name the base by its resolved folder in adapter_config.json (peft writes what it loaded)."""
    from cogumi_eval.model._ref import ADAPTER_CONFIG

    path = folder / ADAPTER_CONFIG
    config = json.loads(path.read_text())
    config["base_model_name_or_path"] = str(base_path)
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
