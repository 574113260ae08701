"""``cogumi compress MODEL --recipe R --out DIR``: one-shot compression through llmcompressor.

Nothing heavy is imported here: ``cogumi --help`` must not load torch or
llmcompressor. The work is in ``_compress.compress``.
"""

from __future__ import annotations

import argparse
from typing import Any

# the recipe names, repeated here so that `--help` lists them without importing the recipes
RECIPE_NAMES = ("awq-w4a16", "gptq-w4a16", "w8a8", "sparse-2of4", "sparse-2of4+w4a16")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "compress",
        help="quantize or sparsify a checkpoint (AWQ, GPTQ, W8A8, 2:4) with llmcompressor",
        description="Apply a one-shot llmcompressor recipe to a checkpoint folder and write a "
        "compressed-tensors checkpoint (loadable as --model cogumi/<out>) with its size report "
        "and lineage. Promote it with `cogumi promote OUT --as NAME --baseline PARENT "
        "--spec results/gates/compression.toml`.",
    )
    parser.add_argument("model", help="checkpoint folder (or registry name) to compress")
    parser.add_argument(
        "--recipe", required=True, metavar="R", help=f"one of: {', '.join(RECIPE_NAMES)}"
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="output folder (must not exist)"
    )
    parser.add_argument(
        "--calibration",
        default="gsm8k:256,mmlu:256",
        metavar="SPEC",
        help="calibration samples: task:count pairs drawn from the task datasets "
        '(gsm8k, mmlu), or a JSONL file of {"text": ...} or {"prompt", "completion"} '
        "records, optionally path.jsonl:count (default gsm8k:256,mmlu:256)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the calibration draw")
    parser.add_argument(
        "--device", default=None, help="cpu or cuda[:N] (default: cuda when present, else cpu)"
    )
    parser.add_argument(
        "--max-seq-length", type=int, default=512, help="calibration samples are cut to this"
    )
    parser.add_argument(
        "--group-size",
        type=int,
        default=None,
        help="weights per scale for the grouped int4 recipes (default 128)",
    )
    parser.add_argument("--json", action="store_true", help="print the size report as JSON")
    parser.set_defaults(run=run_compress)


def run_compress(args: Any) -> int:
    import json

    from ._compress import compress

    result = compress(
        args.model,
        recipe=args.recipe,
        out=args.out,
        calibration=args.calibration,
        seed=args.seed,
        device=args.device,
        max_seq_length=args.max_seq_length,
        group_size=args.group_size,
    )
    if args.json:
        print(json.dumps(result.report.to_dict(), indent=2))
    else:
        print(result.summary())
    return 0
