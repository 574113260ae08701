"""Judged GSM8K through a grader server failing 10% of requests, against the same run with none.

Candidate: ``cogumi/replay`` of the GSM8K paper's 175B-verification solutions
(``$COGUMI_DATA_DIR/gsm8k/example_model_solutions.jsonl``, as in the README's
main job). Baseline: the 175B-finetuning final answers, built into a fresh
store through the server. Grader: the server, fair by final number against the
reference. Everything goes over HTTP on 127.0.0.1 through Inspect's
OpenAI-compatible provider (``openai-api/local/...``), with Inspect's retry
policy as shipped (exponential back-off from 3 s, ``max_retries`` 6 as the judge
sets by default), the OpenAI SDK's own retries off and a 10 s limit per HTTP
attempt.

Runs, each with its own verdict cache except the last:

1. no faults;
2. 10% of requests fail, drawn evenly from: 429, 429 with Retry-After, 500,
   503, connection reset, no response (hang until the 10 s limit), truncated
   JSON, a reply with no verdict;
3. a rerun of 2 with its cache and no faults: it asks only for the orders
   scored ``error`` in 2.

Verdicts lost: samples whose verdict in 2 is neither the no-fault verdict nor
``error`` (a silent wrong answer; goal 0), and samples still not right after 3.

Run: ``python benchmarks/judge_faults.py [--limit N] [--rate 0.1]``;
writes ``benchmarks/results/judge_faults.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "judge_faults.json"
BASELINE = "openai-api/local/gpt-base"
GRADER = "openai-api/local/judge-1"


def _load(name: str) -> ModuleType:
    path = ROOT / "tests" / "judge" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _served(name: str, url: str, connections: int) -> Any:
    from inspect_ai.model import GenerateConfig, get_model

    return get_model(
        name,
        base_url=url,
        config=GenerateConfig(max_connections=connections),
        client_timeout=10.0,
        max_retries=0,  # the OpenAI SDK's own retries: off, so every retry is Inspect's
        memoize=False,
    )


def _judged(url: str, store: str, logs: str, limit: int | None, connections: int) -> Any:
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model

    from cogumi_eval.tasks import gsm8k

    solutions = Path(os.environ["COGUMI_DATA_DIR"]) / "gsm8k" / "example_model_solutions.jsonl"
    candidate = get_model(
        "cogumi/replay",
        source=str(solutions),
        response="175b_verification.solution",
        input="question",
        memoize=False,
    )
    (log,) = inspect_eval(
        gsm8k(judge="pairwise", baseline=BASELINE, baselines=store),
        model=candidate,
        model_roles={"grader": _served(GRADER, url, connections)},
        limit=limit,
        log_dir=logs,
        display="none",
        max_connections=connections,
    )
    return log


def _verdicts(log: Any) -> dict[str, str]:
    return {
        str(s.id): str(s.scores["pairwise"].answer)
        for s in log.samples or []
        if s.scores and "pairwise" in s.scores
    }


def _run(
    fs: ModuleType,
    server: Any,
    plan: Any,
    store: str,
    logs: str,
    limit: int | None,
    connections: int,
) -> dict[str, Any]:
    server.reset()
    server.plan = plan
    start = time.perf_counter()
    log = _judged(server.url, store, logs, limit, connections)
    seconds = time.perf_counter() - start
    seen = list(server.seen)
    transient = {"429", "429-retry-after", "500", "503", "reset", "hang"}
    faults: dict[str, int] = {}
    for r in seen:
        if r.fault != "ok":
            faults[r.fault] = faults.get(r.fault, 0) + 1
    verdicts = _verdicts(log)
    return {
        "status": log.status,
        "error": log.error.message if log.error else None,
        "samples": len(log.samples or []),
        "wall_s": seconds,
        "requests": len(seen),
        "grader_requests": sum(r.part == "grader" for r in seen),
        "probe_requests": sum(r.part == "probe" for r in seen),
        "failed_requests": sum(faults.values()),
        "faults": faults,
        "inspect_retries": sum(n for k, n in faults.items() if k in transient),
        "judge_reasks": faults.get("truncated", 0) + faults.get("unparseable", 0),
        "peers": sorted({r.peer for r in seen}),
        "errors": sum(v == "error" for v in verdicts.values()),
        "verdicts": verdicts,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--limit", type=int, default=None, help="GSM8K problems (default all 1,319)"
    )
    parser.add_argument("--rate", type=float, default=0.10, help="share of requests that fail")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    os.environ.setdefault("COGUMI_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    key = f"sk-cogumi-bench-{uuid.uuid4().hex}"
    os.environ["LOCAL_API_KEY"] = key

    fs = _load("_fault_server")
    hj = _load("_http_judging")
    from cogumi_eval.data import load_gsm8k
    from cogumi_eval.judge import build_baselines
    from cogumi_eval.tasks import gsm8k
    from cogumi_eval.tasks._numeric import extract_final_number

    solutions = Path(os.environ["COGUMI_DATA_DIR"]) / "gsm8k" / "example_model_solutions.jsonl"
    recorded = [json.loads(line) for line in solutions.read_text().splitlines() if line.strip()]
    answers = {
        r["question"]: extract_final_number(r["175b_finetuning"]["solution"]).value or "0"
        for r in recorded
    }
    n_problems = args.limit or len(load_gsm8k("test").records)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        os.environ["COGUMI_CACHE_DIR"] = str(root / "cache-clean")
        store = str(root / "baselines")
        with fs.FaultServer(answers=answers, hang_s=60.0, lifetime_s=3600) as server:
            start = time.perf_counter()
            (built,) = build_baselines(
                gsm8k(),
                _served(BASELINE, server.url, args.connections),
                limit=args.limit,
                store=store,
                log_dir=str(root / "logs"),
            )
            build = {
                "generated": built.generated,
                "requests": len(server.seen),
                "wall_s": time.perf_counter() - start,
            }
            clean = _run(
                fs, server, fs.no_faults, store, str(root / "logs"), args.limit, args.connections
            )
            os.environ["COGUMI_CACHE_DIR"] = str(root / "cache-faults")
            kinds = fs.FAULTS[1:]
            faulty = _run(
                fs,
                server,
                fs.random_faults(args.rate, args.seed, kinds),
                store,
                str(root / "logs"),
                args.limit,
                args.connections,
            )
            rerun = _run(
                fs, server, fs.no_faults, store, str(root / "logs"), args.limit, args.connections
            )
        leaked = hj.files_containing(root, key)
        files = hj.count_files(root)

    truth = clean["verdicts"]
    silent = sorted(s for s, v in faulty["verdicts"].items() if v not in (truth.get(s), "error"))
    missing = sorted(set(truth) - set(faulty["verdicts"]))
    unrecovered = sorted(s for s, v in rerun["verdicts"].items() if v != truth.get(s))
    for run in (clean, faulty, rerun):
        run["verdict_counts"] = {
            k: sum(v == k for v in run["verdicts"].values())
            for k in ("win", "tie", "loss", "error")
        }
        del run["verdicts"]

    print(f"judged GSM8K, {n_problems} problems, both orders, grader over HTTP on 127.0.0.1")
    head = (
        f"{'run':<22} {'wall s':>7} {'requests':>8} {'failed':>6} {'Inspect':>7} {'re-ask':>6} "
        f"{'errors':>6}  win/tie/loss"
    )
    print(head)
    for name, r in (
        ("no faults", clean),
        (f"{args.rate:.0%} failing", faulty),
        ("rerun of the faulty", rerun),
    ):
        c = r["verdict_counts"]
        print(
            f"{name:<22} {r['wall_s']:>7.1f} {r['requests']:>8} {r['failed_requests']:>6} "
            f"{r['inspect_retries']:>7} {r['judge_reasks']:>6} {r['errors']:>6}  "
            f"{c['win']}/{c['tie']}/{c['loss']}"
        )
    print(
        f"verdicts lost: {len(silent)} silently wrong, {len(missing)} missing, "
        f"{len(unrecovered)} not right after the rerun; "
        f"API key found in {len(leaked)} of {files} files written"
    )

    result = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            # other work on the machine inflates wall times; request counts are exact
            "load_average_1m_before_after": [load_before, os.getloadavg()[0]],
        },
        "command": "python benchmarks/judge_faults.py"
        + (f" --limit {args.limit}" if args.limit else "")
        + (f" --rate {args.rate}" if args.rate != 0.10 else ""),
        "problems": n_problems,
        "fault_rate": args.rate,
        "fault_kinds": list(fs.FAULTS[1:]),
        "connections": args.connections,
        "baseline_build": build,
        "no_faults": clean,
        "faults": faulty,
        "rerun_after_faults": rerun,
        "verdicts_lost": {
            "silently_wrong": silent,
            "missing": missing,
            "not_right_after_rerun": unrecovered,
        },
        "ratio_wall_faults_over_clean": faulty["wall_s"] / clean["wall_s"],
        "api_key_in_files": leaked,
        "files_written": files,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
