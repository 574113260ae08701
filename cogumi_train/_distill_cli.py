"""``cogumi train distill``: self-consistent answers of a model, written as SFT JSONL."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "distill",
        help="N answers per prompt; keep the majority-consistent (and correct) ones as SFT data",
        description=(
            "For each prompt (JSONL), generate N answers through the harness (Inspect's epochs), "
            "compare them as the prompt's category says (final number, exact text, ...), keep "
            "answers that agree with the majority and with the reference where there is one, "
            "and write SFT JSONL plus the counts per category."
        ),
    )
    parser.add_argument(
        "prompts",
        metavar="PROMPTS",
        help="JSONL of prompts (fields: prompt, category, reference, id)",
    )
    parser.add_argument(
        "--model", required=True, help="any Inspect model, e.g. cogumi/<folder> or openai/gpt-4o"
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="SFT JSONL to write")
    parser.add_argument(
        "--categories",
        metavar="TOML",
        help="category config (temperature, n, compare); default built in",
    )
    parser.add_argument(
        "--format",
        choices=["instruction", "messages"],
        default="instruction",
        help="SFT record shape",
    )
    parser.add_argument(
        "--prompt-field", default="prompt", help="field holding the prompt (default prompt)"
    )
    parser.add_argument(
        "--category-field", default="category", help="field holding the category (default category)"
    )
    parser.add_argument(
        "--reference-field", default="reference", help="field holding the reference answer, if any"
    )
    parser.add_argument(
        "--id-field", default="id", help="field holding the record id (default: line number)"
    )
    parser.add_argument(
        "-M",
        dest="model_args",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="model option",
    )
    parser.add_argument("--log-dir", metavar="DIR", help="where the eval log of the answers goes")
    parser.add_argument("--limit", type=int, help="use at most this many prompts")
    parser.add_argument(
        "--strict", action="store_true", help="a bad JSONL line is fatal instead of skipped"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ._distill import distill
    from ._promote import parse_options

    result = distill(
        args.prompts,
        model=args.model,
        out=args.out,
        categories=args.categories,
        record_format=args.format,
        prompt_field=args.prompt_field,
        category_field=args.category_field,
        reference_field=args.reference_field,
        id_field=args.id_field,
        model_args=parse_options(args.model_args, "-M"),
        log_dir=args.log_dir,
        limit=args.limit,
        strict=args.strict,
    )
    result.print_table()
    return 0
