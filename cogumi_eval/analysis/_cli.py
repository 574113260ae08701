"""``cogumi report LOGS... --out report.html|report.md``."""

from __future__ import annotations

import argparse
import os
import sys

from ._report import build_report, write_report


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = subparsers.add_parser(
        "report",
        help="write an HTML or Markdown report (tables and plots) of eval logs",
        description=(
            "Read eval logs (files or folders) and write one page: runs with intervals, "
            "win/tie/loss, consistency, a paired comparison, and gate results with --spec. "
            "Unreadable logs are listed in the report and skipped."
        ),
    )
    report.add_argument("logs", nargs="*", help="eval log files or folders")
    report.add_argument(
        "--out",
        "-o",
        required=True,
        help="report file: .html (self-contained) or .md (PNGs beside it)",
    )
    report.add_argument("--baseline", help="run to compare against: log path, run label or eval id")
    report.add_argument("--candidate", help="run compared with the baseline")
    report.add_argument(
        "--spec",
        help=(
            "gate spec (TOML) evaluated on baseline and candidate; "
            "exit code as cogumi gate (1 regression)"
        ),
    )
    report.add_argument("--title", help='page title (default "Cogumi report")')
    report.set_defaults(run=run_report)


def run_report(args: argparse.Namespace) -> int:
    logs: list[str] = list(args.logs)
    # baseline and candidate logs need not be repeated among the positional logs
    logs += [p for p in (args.baseline, args.candidate) if p and os.path.isfile(p)]
    report = build_report(
        logs, baseline=args.baseline, candidate=args.candidate, spec=args.spec, title=args.title
    )
    for problem in report.logset.problems:
        action = "skipped" if problem.skipped else "loaded as it is"
        print(f"warning: {problem.log}: {problem.reason} ({action})", file=sys.stderr)
    out = write_report(report, args.out)
    print(f"wrote {out} ({len(report.logset.runs)} runs)")
    gate = next((s.banner for s in report.sections if s.banner), None)
    if gate is not None:
        print(gate[1])
    return report.gate_exit_code or 0
