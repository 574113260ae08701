"""``cogumi gate``: exit 0 when the candidate holds up, 1 on a regression, 2 when the gate
cannot be evaluated."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "gate",
        help="fail when a candidate run regressed against a baseline run",
        description=(
            "Compare a candidate run with a baseline run, rule by rule, with paired tests. "
            "Exit 0: pass (warnings allowed); 1: regression; 2: error (unreadable log, bad spec, "
            "a rule that cannot be evaluated)."
        ),
    )
    parser.add_argument(
        "--baseline", required=True, help="eval log or folder of logs of the last good model"
    )
    parser.add_argument(
        "--candidate", required=True, help="eval log or folder of logs of the new model"
    )
    parser.add_argument(
        "--spec", required=True, help="gate spec (TOML), e.g. results/gates/default.toml"
    )
    parser.add_argument(
        "--json", dest="json_path", metavar="FILE", help="also write the report as JSON"
    )
    parser.add_argument(
        "--markdown", dest="markdown_path", metavar="FILE", help="also write the report as Markdown"
    )
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ._evaluate import evaluate_gate

    report = evaluate_gate(args.baseline, args.candidate, args.spec)
    if args.json_path:
        Path(args.json_path).write_text(report.to_json() + "\n", encoding="utf-8")
    if args.markdown_path:
        Path(args.markdown_path).write_text(report.to_markdown(), encoding="utf-8")
    if args.quiet:
        print(report.summary())
    else:
        report.print_table()
    return report.exit_code
