"""``cogumi data verify [DIR]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._source import DATA_DIR_ENV, DataSourceError, resolve_data_dir
from ._verify import verify_data_dir


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    data = subparsers.add_parser("data", help="inspect the benchmark data folder")
    actions = data.add_subparsers(dest="data_command", metavar="<action>", required=True)
    verify = actions.add_parser(
        "verify", help="check every benchmark file: record count and sha256 against the release"
    )
    verify.add_argument("dir", nargs="?", help=f"data folder (default ${DATA_DIR_ENV})")
    verify.add_argument(
        "--dataset",
        action="append",
        choices=["gsm8k", "humaneval", "mmlu"],
        help="check only this dataset (repeatable)",
    )
    verify.set_defaults(run=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    folder = resolve_data_dir(args.dir)
    if folder is None:
        raise DataSourceError(
            "no data folder given: pass one (cogumi data verify /path/to/data) "
            f"or set {DATA_DIR_ENV}"
        )
    datasets = tuple(args.dataset) if args.dataset else ("gsm8k", "humaneval", "mmlu")
    reports = verify_data_dir(Path(folder), datasets)
    width = max(len(r.path) for r in reports)
    print(f"{'file':<{width}}  {'records':>13}  status    sha256")
    for r in reports:
        count = "-" if r.records is None else str(r.records)
        records = f"{count}/{r.expected_records}"
        sha = (r.sha256 or "")[:16]
        note = "" if r.status == "ok" else f"  expected {r.expected_sha256[:16]}"
        print(f"{r.path:<{width}}  {records:>13}  {r.status:<8}  {sha}{note}")
    bad = [r for r in reports if r.status != "ok" or r.records != r.expected_records]
    print(
        f"\n{len(reports) - len(bad)} of {len(reports)} files match the published release "
        f"in {folder}"
    )
    return 1 if bad else 0
