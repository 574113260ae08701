"""``cogumi baseline build|import|show``: fill and inspect the baseline store."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._baseline import BaselineStore
from ._judge_cli import add_display_option


def _store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        help="baseline store folder (default $COGUMI_BASELINES_DIR or results/baselines)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    baseline = subparsers.add_parser(
        "baseline", help="generate, import and list stored baseline answers (e.g. GPT-4's)"
    )
    actions = baseline.add_subparsers(dest="baseline_command", metavar="<action>", required=True)

    build = actions.add_parser(
        "build", help="run a task through the baseline model; only answers not yet stored"
    )
    build.add_argument("task", help="task file (tasks/math.py) or registry name (cogumi/gsm8k)")
    build.add_argument("--model", required=True, help="baseline model, e.g. openai/gpt-4-turbo")
    build.add_argument("--limit", type=int, help="only the first N samples")
    build.add_argument(
        "-T",
        dest="task_args",
        action="append",
        default=[],
        metavar="K=V",
        help="task option, exactly as the judged runs set it (repeatable)",
    )
    build.add_argument(
        "-M",
        dest="model_args",
        action="append",
        default=[],
        metavar="K=V",
        help="model provider argument (repeatable; never stored)",
    )
    build.add_argument("--temperature", type=float, default=0.0, help="default 0")
    build.add_argument("--max-tokens", type=int, default=1024, help="default 1024")
    build.add_argument(
        "--budget-usd", type=float, help="stop before new calls pass this many dollars"
    )
    build.add_argument("--log-dir", help="where the build's eval log goes (default Inspect's)")
    _store_option(build)
    add_display_option(build)
    build.set_defaults(run=run_build)

    imp = actions.add_parser(
        "import", help="add answers from an eval log of the baseline model or a JSONL file"
    )
    imp.add_argument("source", help="eval log (.eval/.json) or .jsonl records")
    imp.add_argument("--task", help="task name for JSONL lines without one")
    imp.add_argument("--model", help="model name for JSONL lines without one")
    _store_option(imp)
    imp.set_defaults(run=run_import)

    show = actions.add_parser("show", help="summarise the stored answers")
    show.add_argument("--task", help="only this task")
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _store_option(show)
    show.set_defaults(run=run_show)


def _parse_kv(values: list[str]) -> dict[str, Any]:
    from inspect_ai._util.config import parse_cli_args

    return parse_cli_args(values)


def run_build(args: argparse.Namespace) -> int:
    from ._baseline_build import build_baselines
    from ._errors import BudgetExceededError

    results = build_baselines(
        args.task,
        args.model,
        limit=args.limit,
        task_args=_parse_kv(args.task_args),
        store=args.store,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        budget_usd=args.budget_usd,
        model_args=_parse_kv(args.model_args),
        log_dir=args.log_dir,
        display=args.display,
    )
    status = 0
    for r in results:
        print(
            f"{r.task} from {r.model}: {r.generated} generated, {r.reused} already stored, "
            f"{r.failed} failed; ${r.usd:.4f} spent\n  store: {r.file}\n  log:   {r.log}"
        )
        if r.stopped:
            if "budget" in r.stopped:
                raise BudgetExceededError(r.stopped)
            print(f"  stopped: {r.stopped}")
            status = 1
    return status


def run_import(args: argparse.Namespace) -> int:
    from ._baseline_build import import_baselines

    result = import_baselines(args.source, store=args.store, task=args.task, model=args.model)
    print(f"{result.added} answers added, {result.already_stored} already stored")
    for f in result.files:
        print(f"  {f}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    store = BaselineStore(args.store)
    rows: list[dict[str, Any]] = []
    for task in [args.task] if args.task else store.tasks():
        for model in store.models(task):
            records = store.records(task, model)
            configs: dict[str, int] = {}
            for r in records:
                configs[r.config_sha256[:12]] = configs.get(r.config_sha256[:12], 0) + 1
            rows.append(
                {
                    "task": task,
                    "model": model,
                    "answers": len(records),
                    "samples": len({r.sample_id for r in records}),
                    "inputs": len({r.input_sha256 for r in records}),
                    "configs": configs,
                    "versions": sorted({r.model_version or "?" for r in records}),
                    "tokens": sum(r.input_tokens + r.output_tokens for r in records),
                    "usd": round(sum(r.usd or 0.0 for r in records), 6),
                    "file": str(store.file_for(task, model)),
                }
            )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no baseline answers under {store.root}")
        return 0
    print(
        f"{'task':<10} {'model':<28} {'answers':>7} {'samples':>7} {'tokens':>9} {'usd':>9}"
        "  versions / configs"
    )
    for row in rows:
        counts: dict[str, int] = row["configs"]
        config_text = ", ".join(f"{k}×{v}" for k, v in counts.items())
        print(
            f"{row['task']:<10} {row['model']:<28} {row['answers']:>7} {row['samples']:>7} "
            f"{row['tokens']:>9} {row['usd']:>9.4f}  {', '.join(row['versions'])} / {config_text}"
        )
    return 0
