"""``cogumi promote``: exit 0 promoted, 1 refused by the gate, 2 error (nothing written then)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "promote",
        help="gate a model against a baseline and, on a pass, record it in the registry",
        description=(
            "Evaluate MODEL on the gate spec's tasks (or take --logs whose lineage weight hash "
            "is MODEL's), gate it against the baseline, and only on a pass record it in the "
            "registry (results/registry.toml or $COGUMI_REGISTRY) under NAME. "
            "Exit 0: promoted; 1: refused by the gate (report printed, nothing written); "
            "2: error."
        ),
    )
    parser.add_argument(
        "model", metavar="MODEL", help="checkpoint folder (or registry name) to promote"
    )
    parser.add_argument("--as", dest="name", required=True, metavar="NAME", help="registry name")
    parser.add_argument(
        "--baseline",
        required=True,
        help="registry name (its recorded logs), or eval log / log folder of the last good model",
    )
    parser.add_argument(
        "--spec", required=True, help="gate spec (TOML), e.g. results/gates/default.toml"
    )
    parser.add_argument(
        "--logs",
        metavar="DIR",
        help="use these eval logs of MODEL instead of evaluating (their lineage must be MODEL's)",
    )
    parser.add_argument("--replace", action="store_true", help="overwrite an existing entry NAME")
    parser.add_argument(
        "--registry",
        metavar="FILE",
        help="registry file (default $COGUMI_REGISTRY or results/registry.toml)",
    )
    parser.add_argument(
        "--task",
        action="append",
        default=[],
        metavar="NAME=TASK",
        help="evaluate the spec's task NAME with TASK (a task file or registry name); repeatable",
    )
    parser.add_argument(
        "-T", dest="task_args", action="append", default=[], metavar="KEY=VALUE", help="task option"
    )
    parser.add_argument(
        "-M",
        dest="model_args",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="model option",
    )
    parser.add_argument("--limit", type=int, help="evaluate at most this many samples per task")
    parser.add_argument("--epochs", type=int, help="epochs per sample (default: the task's)")
    parser.add_argument(
        "--log-dir",
        metavar="DIR",
        help="where the evaluation logs go (default logs/promote/NAME/<time>)",
    )
    parser.add_argument(
        "--json", dest="json_path", metavar="FILE", help="also write the gate report as JSON"
    )
    parser.add_argument(
        "--markdown",
        dest="markdown_path",
        metavar="FILE",
        help="also write the gate report as Markdown",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ._promote import parse_options, print_promotion, promote

    promotion = promote(
        args.model,
        name=args.name,
        baseline=args.baseline,
        spec=args.spec,
        logs=args.logs,
        replace=args.replace,
        registry=args.registry,
        tasks=dict(parse_options(args.task, "--task")),
        task_args=parse_options(args.task_args, "-T"),
        model_args=parse_options(args.model_args, "-M"),
        limit=args.limit,
        epochs=args.epochs,
        log_dir=args.log_dir,
    )
    if args.json_path:
        from pathlib import Path

        Path(args.json_path).write_text(promotion.report.to_json() + "\n", encoding="utf-8")
    if args.markdown_path:
        from pathlib import Path

        Path(args.markdown_path).write_text(promotion.report.to_markdown(), encoding="utf-8")
    print_promotion(promotion)
    return promotion.exit_code
