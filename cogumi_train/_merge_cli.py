"""``cogumi train merge``: merge an adapter into full-precision weights and prove the result."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "merge",
        help="merge a LoRA adapter into its base and check the merged logits",
        description="Merge a PEFT adapter into a full-precision copy of its base, then compare "
        "the merged model's logits with base+adapter as trained (NF4-quantized for a QLoRA "
        "adapter) on probe prompts. An adapter trained on a quantized base is refused unless "
        "--into dequantized or --allow-quantized-base is given.",
    )
    parser.add_argument("adapter", help="the adapter folder (holds adapter_config.json)")
    parser.add_argument("--out", required=True, help="the merged checkpoint folder to write")
    parser.add_argument(
        "--base", default=None, help="the base folder, instead of the one in adapter_config.json"
    )
    parser.add_argument(
        "--into",
        choices=["base", "dequantized"],
        default="base",
        help="base: the full-precision base weights (default); dequantized: the "
        "4-bit weights a QLoRA adapter was trained against, dequantized",
    )
    parser.add_argument(
        "--allow-quantized-base",
        action="store_true",
        help="merge a QLoRA adapter into the full-precision weights anyway "
        "(the lineage records it)",
    )
    parser.add_argument(
        "--dtype",
        default=None,
        help="dtype of the written weights (default: the base's stored dtype)",
    )
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    parser.add_argument(
        "--probes",
        default=None,
        help="probe prompts: a text file (one per line) or JSONL of training "
        "records (default: the first records of the adapter's training data)",
    )
    parser.add_argument("--max-probes", type=int, default=8, help="probe prompts used (default 8)")
    parser.add_argument(
        "--overwrite", action="store_true", help="write into an --out folder that holds weights"
    )
    parser.set_defaults(run=run_merge)


def run_merge(args: argparse.Namespace) -> int:
    from ._merge import merge

    result = merge(
        args.adapter,
        args.out,
        base=args.base,
        into=args.into,
        allow_quantized_base=args.allow_quantized_base,
        dtype=args.dtype,
        device=args.device,
        probes=args.probes,
        max_probes=args.max_probes,
        overwrite=args.overwrite,
    )
    for line in result.summary():
        print(line)
    return 0
