"""Verdict cache speed, and what the cache saves on a judged GSM8K run.

Part 1 — the cache itself. Inserts (one committed transaction per verdict, as
the judge writes them), lookups that hit and lookups that miss, on Cogumi's
SQLite/WAL ``VerdictCache``, against the named peer in the same run: a
JSON-file annotation cache (one dict keyed by a hash of the pair, the way
AlpacaEval stores annotations), given the same guarantee as ours — a killed
process loses no verdict already returned — by an atomic rewrite of the file
after each insert (no fsync, as ours commits with synchronous=NORMAL), and
read from the loaded dict.

Part 2 — a judged GSM8K run. Candidate: ``cogumi/replay`` serving the GSM8K
paper's recorded 175B-verification solutions
(``$COGUMI_DATA_DIR/gsm8k/example_model_solutions.jsonl``). Baseline: answers
built once into a fresh store by a scripted model that writes the reference
solutions. Grader: a scripted ``mockllm`` that prefers the answer whose final
number matches the reference. The same judged run twice, with the same cache:
grader calls, cache hits and wall time of each.

Run: ``python benchmarks/judge_cache.py [--limit N] [--inserts N]``;
writes ``benchmarks/results/judge_cache.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "judge_cache.json"
_SOLUTION = re.compile(r"Solution ([AB]):\n<<<\n(.*?)\n>>>", re.DOTALL)


class JsonFileCache:
    """The peer: one JSON dict on disk, rewritten atomically (tmp + rename) after every insert."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, dict[str, Any]] = {}

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.data[key] = value
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w") as handle:
            json.dump(self.data, handle)
        os.replace(tmp, self.path)

    def get(self, key: str) -> dict[str, Any] | None:
        return self.data.get(key)


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def bench_cache(inserts: int, lookups: int) -> dict[str, Any]:
    from cogumi_eval.judge import CachedVerdict, VerdictCache
    from cogumi_eval.judge._cache import verdict_key

    reply = "Both solutions reach 18 by the same steps; they are even.\n[[C]]"
    keys = [
        verdict_key(question=f"q{i}", answer_a=f"a{i}", answer_b=f"b{i}") for i in range(inserts)
    ]
    misses = [verdict_key(question=f"missing{i}") for i in range(lookups)]
    with tempfile.TemporaryDirectory() as folder:
        cache = VerdictCache(Path(folder) / "verdicts.sqlite3")
        start = time.perf_counter()
        for key in keys:
            cache.put(
                CachedVerdict(
                    key,
                    "tie",
                    reply,
                    "openai/gpt-4-turbo",
                    "gpt-4-turbo-2024-04-09",
                    "pairwise-math",
                    "1",
                    800,
                    60,
                    0.0098,
                    time.time(),
                )
            )
        sqlite_insert = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(lookups):
            cache.get(keys[i % inserts])
        sqlite_hit = time.perf_counter() - start
        start = time.perf_counter()
        for key in misses:
            cache.get(key)
        sqlite_miss = time.perf_counter() - start
        cache.close()

        peer = JsonFileCache(Path(folder) / "annotations.json")
        start = time.perf_counter()
        for key in keys:
            peer.put(
                key,
                {
                    "verdict": "tie",
                    "reply": reply,
                    "grader": "gpt-4-turbo-2024-04-09",
                    "template": "pairwise-math@1",
                    "input_tokens": 800,
                    "output_tokens": 60,
                },
            )
        json_insert = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(lookups):
            peer.get(keys[i % inserts])
        json_hit = time.perf_counter() - start

    return {
        "inserts": inserts,
        "lookups": lookups,
        "sqlite": {
            "inserts_per_s": _rate(inserts, sqlite_insert),
            "hit_lookups_per_s": _rate(lookups, sqlite_hit),
            "miss_lookups_per_s": _rate(lookups, sqlite_miss),
        },
        "json_file_peer": {
            "inserts_per_s": _rate(inserts, json_insert),
            "hit_lookups_per_s": _rate(lookups, json_hit),
        },
        "ratio_inserts_sqlite_over_peer": json_insert / sqlite_insert,
        "ratio_hit_lookups_sqlite_over_peer": json_hit / sqlite_hit,
    }


def _final_number(text: str) -> str | None:
    from cogumi_eval.tasks._numeric import extract_final_number

    return extract_final_number(text).value


class FairGrader:
    """Prefers the solution whose final number matches the reference's (#### n); counts calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.probes = 0

    def __call__(self, prompt: str) -> str:
        found = dict(_SOLUTION.findall(prompt))
        if "A" not in found:
            self.probes += 1
            return "OK"
        self.calls += 1
        reference = re.search(r"#### (-?[\d.,]+)", prompt)
        truth = reference.group(1).replace(",", "") if reference else None
        a_ok = _final_number(found["A"]) == truth
        b_ok = _final_number(found["B"]) == truth
        if a_ok == b_ok:
            return "Both reach the same verdict on correctness.\n[[C]]"
        return "A matches the reference.\n[[A]]" if a_ok else "B matches the reference.\n[[B]]"


def bench_judged_run(limit: int | None) -> dict[str, Any]:
    from inspect_ai import eval
    from inspect_ai.model import get_model

    from cogumi_eval.data import load_gsm8k
    from cogumi_eval.judge import build_baselines
    from cogumi_eval.tasks import gsm8k
    from cogumi_eval.testing import scripted_model

    data_dir = Path(os.environ["COGUMI_DATA_DIR"])
    solutions = data_dir / "gsm8k" / "example_model_solutions.jsonl"
    references = {r.question: r.solution for r in load_gsm8k("test").records}

    def reference_writer(prompt: str) -> str:
        question = next((q for q in references if q in prompt), None)
        if question is None:
            return "ANSWER: 0"
        reasoning, answer = references[question].rsplit("####", 1)
        return f"{reasoning.strip()}\nANSWER: {answer.strip()}"

    with tempfile.TemporaryDirectory() as folder:
        os.environ["COGUMI_CACHE_DIR"] = str(Path(folder) / "cache")
        logs = str(Path(folder) / "logs")
        store = str(Path(folder) / "baselines")
        start = time.perf_counter()
        (build,) = build_baselines(
            gsm8k(),
            scripted_model(reference_writer, name="mockllm/gpt-4-turbo"),
            limit=limit,
            store=store,
            log_dir=logs,
        )
        build_s = time.perf_counter() - start
        grader = FairGrader()
        runs = []
        for _ in range(2):
            candidate = get_model(
                "cogumi/replay",
                source=str(solutions),
                response="175b_verification.solution",
                input="question",
            )
            calls_before, probes_before = grader.calls, grader.probes
            start = time.perf_counter()
            (log,) = eval(
                gsm8k(judge="pairwise", baseline="mockllm/gpt-4-turbo", baselines=store),
                model=candidate,
                model_roles={"grader": scripted_model(grader, name="mockllm/judge")},
                limit=limit,
                log_dir=logs,
                display="none",
            )
            seconds = time.perf_counter() - start
            assert log.status == "success", log.error
            metrics = {
                (s.name, k): m.value
                for s in log.results.scores
                for k, m in s.metrics.items()  # type: ignore[union-attr]
            }
            runs.append(
                {
                    "samples": len(log.samples or []),
                    "grader_calls": grader.calls - calls_before,
                    "probe_calls": grader.probes - probes_before,
                    "cache_hits": metrics[("pairwise", "cache_hits")],
                    "cache_misses": metrics[("pairwise", "cache_misses")],
                    "wall_s": seconds,
                    "win": metrics[("win", "mean")],
                    "tie": metrics[("tie", "mean")],
                    "loss": metrics[("loss", "mean")],
                    "error": metrics[("error", "mean")],
                    "inconsistent": metrics[("inconsistent", "mean")],
                    "accuracy": metrics[("final_number", "accuracy")],
                }
            )
    return {
        "candidate": "cogumi/replay of example_model_solutions.jsonl 175b_verification",
        "baseline": "mockllm/gpt-4-turbo writing the reference solutions (built once)",
        "grader": "mockllm/judge, fair by final number against the reference",
        "baseline_build": {"generated": build.generated, "wall_s": build_s},
        "first_run": runs[0],
        "second_run": runs[1],
        "ratio_wall_second_over_first": runs[1]["wall_s"] / runs[0]["wall_s"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--limit", type=int, default=None, help="GSM8K problems (default all 1,319)"
    )
    parser.add_argument("--inserts", type=int, default=2000)
    parser.add_argument("--lookups", type=int, default=20000)
    args = parser.parse_args()
    os.environ.setdefault(
        "COGUMI_DATA_DIR", str(Path(__file__).resolve().parents[2] / "shared" / "data")
    )

    load_before = os.getloadavg()[0]
    cache = bench_cache(args.inserts, args.lookups)
    run = bench_judged_run(args.limit)

    s, p = cache["sqlite"], cache["json_file_peer"]
    print(f"verdict cache, {args.inserts} inserts / {args.lookups} lookups")
    print(f"{'':<28} {'SQLite WAL':>12} {'JSON file':>12} {'ratio':>8}")
    print(
        f"{'inserts/s (kill-safe each)':<28} {s['inserts_per_s']:>12,.0f} "
        f"{p['inserts_per_s']:>12,.0f} "
        f"{cache['ratio_inserts_sqlite_over_peer']:>7.1f}x"
    )
    print(
        f"{'lookups/s (hit)':<28} {s['hit_lookups_per_s']:>12,.0f} "
        f"{p['hit_lookups_per_s']:>12,.0f} "
        f"{cache['ratio_hit_lookups_sqlite_over_peer']:>7.3f}x"
    )
    print(f"{'lookups/s (miss)':<28} {s['miss_lookups_per_s']:>12,.0f}")
    first, second = run["first_run"], run["second_run"]
    print(
        f"\njudged GSM8K run, {first['samples']} problems "
        "(candidate: cogumi/replay, 175B verification)"
    )
    print(
        f"{'':<10} {'grader calls':>12} {'probes':>7} {'hits':>6} "
        f"{'misses':>7} {'wall s':>8}  win/tie/loss"
    )
    for name, r in (("first", first), ("second", second)):
        print(
            f"{name:<10} {r['grader_calls']:>12} {r['probe_calls']:>7} {r['cache_hits']:>6.0f} "
            f"{r['cache_misses']:>7.0f} {r['wall_s']:>8.1f}  "
            f"{r['win']:.3f}/{r['tie']:.3f}/{r['loss']:.3f}"
        )

    result = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "sqlite": sqlite3.sqlite_version,
            # other work on the machine inflates wall times; grader calls are exact
            "load_average_1m_before_after": [load_before, os.getloadavg()[0]],
        },
        "command": "python benchmarks/judge_cache.py"
        + (f" --limit {args.limit}" if args.limit else ""),
        "cache": cache,
        "judged_run": run,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
