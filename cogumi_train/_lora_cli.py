"""``cogumi train lora``: LoRA / QLoRA supervised fine-tuning (the work is in ``_lora``)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "lora",
        help="LoRA / QLoRA fine-tuning of a checkpoint on chat or instruction JSONL",
        description="Supervised LoRA fine-tuning with peft, loss on the response tokens only. "
        "Writes the adapter, the tokenizer, cogumi_lineage.json and the loss curve (JSON, PNG). "
        "Several GPUs: accelerate launch -m cogumi_eval.cli train lora ...",
    )
    parser.add_argument("--base", required=True, help="the checkpoint folder to fine-tune")
    parser.add_argument(
        "--data",
        required=True,
        help="JSONL of {messages: [...]} or {instruction, response} records",
    )
    parser.add_argument("--out", required=True, help="the adapter folder to write")
    parser.add_argument(
        "--quantize",
        choices=["nf4"],
        default=None,
        help="QLoRA: train on the base quantized to bitsandbytes NF4",
    )
    parser.add_argument(
        "--no-double-quant",
        dest="double_quant",
        action="store_false",
        help="with --quantize: do not quantize the quantization constants",
    )
    parser.add_argument("--rank", type=int, default=16, help="LoRA rank r (default 16)")
    parser.add_argument("--alpha", type=int, default=32, help="LoRA alpha (default 32)")
    parser.add_argument("--dropout", type=float, default=0.05, help="LoRA dropout (default 0.05)")
    parser.add_argument(
        "--target-modules",
        default="all-linear",
        help="comma-separated module names, or all-linear (default)",
    )
    parser.add_argument("--lr", type=float, default=2e-4, help="peak learning rate (default 2e-4)")
    parser.add_argument("--warmup", type=int, default=0, help="linear warm-up steps (default 0)")
    parser.add_argument(
        "--epochs", type=float, default=1.0, help="passes over the data (default 1)"
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="optimizer steps (overrides --epochs)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=8, help="sequences per micro-batch (default 8)"
    )
    parser.add_argument(
        "--grad-accum", type=int, default=1, help="micro-batches per optimizer step (default 1)"
    )
    parser.add_argument(
        "--max-length",
        type=int,
        default=1024,
        help="tokens per sequence; longer records are cut (default 1024)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for init, shuffling, dropout")
    parser.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if present)"
    )
    parser.add_argument(
        "--gradient-checkpointing",
        action="store_true",
        help="recompute activations in the backward pass (less memory, slower)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="write into an --out folder that holds weights"
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bar"
    )
    parser.set_defaults(run=run_lora)


def run_lora(args: argparse.Namespace) -> int:
    from ._lora import lora

    targets = args.target_modules
    result = lora(
        args.base,
        args.data,
        args.out,
        quantize=args.quantize,
        double_quant=args.double_quant,
        rank=args.rank,
        alpha=args.alpha,
        dropout=args.dropout,
        target_modules=targets
        if targets == "all-linear"
        else [t.strip() for t in targets.split(",")],
        lr=args.lr,
        warmup=args.warmup,
        epochs=args.epochs,
        steps=args.steps,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        max_length=args.max_length,
        seed=args.seed,
        device=args.device,
        gradient_checkpointing=args.gradient_checkpointing,
        overwrite=args.overwrite,
        progress=args.progress,
    )
    if not result.main_process:
        return 0
    for line in result.summary():
        print(line)
    return 0
