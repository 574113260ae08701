"""``cogumi cache stats|prune``: look into and trim the verdict cache."""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import asdict
from datetime import UTC, datetime

from ._cache import CacheError, VerdictCache

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_age(text: str) -> float:
    """``90s``, ``30m``, ``12h``, ``30d``, ``2w`` -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if not match:
        raise CacheError(f"--older-than {text!r}: use a number and a unit, e.g. 30d, 12h, 2w")
    return float(match.group(1)) * _UNITS[match.group(2)]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cache = subparsers.add_parser("cache", help="verdict cache statistics and pruning")
    cache.add_argument("--path", help="cache file (default $COGUMI_CACHE_DIR/verdicts.sqlite3)")
    actions = cache.add_subparsers(dest="cache_command", metavar="<action>", required=True)
    stats = actions.add_parser("stats", help="verdicts per grader version and judge template")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(run=run_stats)
    prune = actions.add_parser("prune", help="delete verdicts by age, template and/or grader")
    prune.add_argument("--older-than", help="e.g. 30d, 12h, 2w")
    prune.add_argument("--template", help="judge id, or id@version (e.g. pairwise-math@1)")
    prune.add_argument("--grader", help="grader name as asked for or as reported")
    prune.add_argument("--dry-run", action="store_true", help="count only")
    prune.set_defaults(run=run_prune)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def run_stats(args: argparse.Namespace) -> int:
    with VerdictCache(args.path) as cache:
        stats = cache.stats()
    if args.json:
        print(json.dumps(asdict(stats), indent=2))
        return 0
    print(f"{stats.path}: {stats.verdicts} verdicts, {stats.size_bytes / 1024:.0f} KiB")
    if stats.groups:
        print(f"\n{'grader version':<34} {'template':<20} {'verdicts':>8} {'usd':>9}  stored")
        for g in stats.groups:
            print(
                f"{g.grader_version:<34} {g.template:<20} {g.verdicts:>8} {g.usd:>9.4f}  "
                f"{_when(g.oldest)} .. {_when(g.newest)}"
            )
    if stats.aliases:
        print(f"\n{'grader name':<34} {'resolves to':<34} kind      checked")
        for a in stats.aliases:
            kind = "pinned" if a.pinned else "floating"
            print(f"{a.alias:<34} {a.version:<34} {kind:<9} {_when(a.checked_at)}")
    return 0


def run_prune(args: argparse.Namespace) -> int:
    older = parse_age(args.older_than) if args.older_than else None
    with VerdictCache(args.path) as cache:
        count = cache.prune(older, args.template, args.grader, dry_run=args.dry_run)
    print(f"{count} verdicts {'would be ' if args.dry_run else ''}deleted from {cache.path}")
    return 0
