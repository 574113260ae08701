"""``cogumi judge <log> --baseline <store|log>``: judge a finished run without regenerating it."""

from __future__ import annotations

import argparse
import json
import math

from ..metrics import VERDICT_KEYS, VerdictRates

DISPLAYS = ("full", "conversation", "rich", "plain", "log", "none")
"""Inspect's display types (``inspect eval --display``)."""


def add_display_option(parser: argparse.ArgumentParser) -> None:
    """``--display``: Inspect's progress display for commands that run model calls."""
    parser.add_argument(
        "--display",
        choices=DISPLAYS,
        default=None,
        help="Inspect's progress display (default: Inspect's own, as inspect eval; none: silent)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    judge = subparsers.add_parser(
        "judge",
        help="pairwise-judge an eval log against baseline answers (or --objective: by correctness)",
    )
    judge.add_argument("log", help="the candidate's eval log")
    judge.add_argument(
        "--baseline",
        help="baseline store folder, .jsonl file or baseline eval log "
        "(default $COGUMI_BASELINES_DIR or results/baselines; with --objective: an eval log)",
    )
    judge.add_argument("--baseline-model", help="which stored baseline model (if several)")
    judge.add_argument(
        "--grader", help="grader model (default: the log's grader role, else openai/gpt-4-turbo)"
    )
    judge.add_argument("--template", help="judge definition id or .toml path (default: the task's)")
    judge.add_argument(
        "--repeats", type=int, default=1, help="grader calls per order (judge noise)"
    )
    judge.add_argument("--no-swap", action="store_true", help="judge one order per sample")
    judge.add_argument(
        "--allow-missing",
        action="store_true",
        help="score samples without a baseline answer 'error' instead of stopping",
    )
    judge.add_argument("--budget-usd", type=float, help="stop before new grader calls pass this")
    judge.add_argument(
        "--output",
        help="judged log path (default <log>-judged.eval; with --objective: only when given)",
    )
    judge.add_argument(
        "--objective",
        action="store_true",
        help="no grader: win/tie/loss from both logs' correctness scores",
    )
    judge.add_argument("--scorer", help="with --objective: the correctness score to compare")
    judge.add_argument("--json", action="store_true", help="print the figures as JSON")
    add_display_option(judge)
    judge.set_defaults(run=run_judge)


def _fmt(value: float | None) -> str:
    return (
        "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"
    )


def _print_rates(rates: VerdictRates) -> None:
    print(f"{'':<13} {'rate':>6} {'stderr':>7}")
    for key in VERDICT_KEYS:
        print(f"{key:<13} {_fmt(rates.rates[key]):>6} {_fmt(rates.stderr[key]):>7}")
    print(f"{'preference':<13} {_fmt(rates.preference):>6}   (win + tie/2, errors left out)")
    print(f"n = {rates.n}")


def run_judge(args: argparse.Namespace) -> int:
    from ._errors import BaselineError

    if args.objective:
        from ._objective import objective_pairwise

        if not args.baseline:
            raise BaselineError("--objective needs --baseline <baseline eval log>")
        result = objective_pairwise(args.log, args.baseline, scorer=args.scorer)
        if args.output:
            from ._objective import write_objective_log

            write_objective_log(result, args.output)
        if args.json:
            print(json.dumps(result.to_dict(), indent=2))
            return 0
        print(f"{result.task}: objective pairwise on {result.scorer!r}")
        _print_rates(result.rates)
        if result.candidate_only or result.baseline_only or result.unscored:
            print(
                f"unpaired: {len(result.candidate_only)} only in the candidate, "
                f"{len(result.baseline_only)} only in the baseline, {result.unscored} unscored"
            )
        return 0

    from ._posthoc import judge_log

    judged = judge_log(
        args.log,
        args.baseline,
        baseline=args.baseline_model,
        grader=args.grader,
        template=args.template,
        repeats=args.repeats,
        swap=not args.no_swap,
        allow_missing=args.allow_missing,
        budget_usd=args.budget_usd,
        output=args.output,
        display=args.display,
    )
    if args.json:
        print(
            json.dumps(
                {
                    "output": judged.output,
                    "n": judged.rates.n,
                    "rates": judged.rates.rates,
                    "stderr": judged.rates.stderr,
                    "missing_baseline": judged.missing_baseline,
                    "stats": judged.stats,
                },
                indent=2,
            )
        )
        return 0
    _print_rates(judged.rates)
    stats = judged.stats
    if stats:
        print(
            f"grader calls {int(stats.get('grader_calls', 0))}, cache hits "
            f"{int(stats.get('cache_hits', 0))}, misses {int(stats.get('cache_misses', 0))}, "
            f"spent ${stats.get('usd', 0.0):.4f} "
            f"(cached verdicts had cost ${stats.get('usd_cached', 0.0):.4f})"
        )
    if judged.missing_baseline:
        print(
            f"{judged.missing_baseline} samples had no usable baseline answer "
            "and were scored 'error'"
        )
    print(f"judged log: {judged.output}")
    return 0
