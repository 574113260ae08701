"""``cogumi train dedup`` and ``cogumi train filter``.

Imports nothing heavy at module level: datasketch, numpy and the language model
are loaded by the step that runs.
"""

from __future__ import annotations

import argparse
import os
from typing import Any


def register(steps: Any) -> None:
    dedup = steps.add_parser(
        "dedup",
        help="remove exact and near-duplicate records (MinHash LSH)",
        description="Stream JSONL records, drop exact duplicates of the normalised text, then "
        "near-duplicates by MinHash LSH; the first record of each cluster is kept.",
    )
    _common(dedup)
    dedup.add_argument(
        "--threshold", type=float, default=0.8, help="Jaccard similarity of near-duplicates"
    )
    dedup.add_argument("--num-perm", type=int, default=128, help="MinHash permutations")
    dedup.add_argument("--ngram", type=int, default=3, help="word n-gram shingle size")
    dedup.add_argument(
        "--report",
        help="write every removed record here with the id it duplicates and the Jaccard",
    )
    dedup.set_defaults(run=run_dedup)

    filt = steps.add_parser(
        "filter",
        help="drop low-quality or off-language records",
        description="Stream JSONL records and drop those whose heuristic quality score is below "
        "--min-score, or whose language is not --language.",
    )
    _common(filt)
    filt.add_argument(
        "--language",
        help="keep only this language (ISO 639-1 code, e.g. en); identified offline",
    )
    filt.add_argument(
        "--min-score", type=float, default=0.6, help="lowest quality score kept, 0..1"
    )
    filt.add_argument(
        "--weights",
        default="30,30,20,20",
        help="weights of english,coherence,length,complexity in the score",
    )
    filt.add_argument("--report", help="write every dropped record here with its reason")
    filt.set_defaults(run=run_filter)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="JSONL file of records")
    parser.add_argument("--out", required=True, help="JSONL file of the records kept")
    parser.add_argument(
        "--field",
        default="text",
        help="the text: a dotted path (meta.body) or fields joined by + (instruction+response)",
    )
    parser.add_argument(
        "--id-field",
        default="id",
        help="field naming a record in reports (default id; the line number when absent)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"worker processes (default: all cores, {os.cpu_count()} here)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="stop at the first bad line instead of skipping it"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or counts table")


def run_dedup(args: argparse.Namespace) -> int:
    from ._dedup import dedup
    from ._progress import print_dedup

    result = dedup(
        args.input,
        args.out,
        field=args.field,
        id_field=args.id_field,
        report=args.report,
        threshold=args.threshold,
        num_perm=args.num_perm,
        ngram=args.ngram,
        workers=args.workers,
        strict=args.strict,
        progress=not args.quiet,
    )
    if not args.quiet:
        print_dedup(result)
    return 0


def run_filter(args: argparse.Namespace) -> int:
    from ._filter import QualityWeights, filter_data
    from ._progress import print_filter

    result = filter_data(
        args.input,
        args.out,
        field=args.field,
        id_field=args.id_field,
        language=args.language,
        min_score=args.min_score,
        weights=QualityWeights.parse(args.weights),
        report=args.report,
        workers=args.workers,
        strict=args.strict,
        progress=not args.quiet,
    )
    if not args.quiet:
        print_filter(result)
    return 0
