"""Gate speed on an MMLU-sized comparison: 14,042 paired questions, three bootstrap rules.

Builds two eval logs (baseline and candidate) of the 14,042 MMLU test
questions (real inputs, ids and subjects from ``$COGUMI_DATA_DIR``) with a
correctness score and a pairwise verdict each — simulated outcomes of two
checkpoints that agree on most questions — then times ``cogumi gate``'s work
with three rules, every one a paired bootstrap with 10,000 resamples:

- accuracy (resampling questions), tie rate (resampling questions) and
  win+tie (resampling whole subjects, the cluster bootstrap);
- the whole gate from log files to JSON and Markdown reports, and the
  evaluation alone (logs already read);
- the same three bootstraps as plain loops over resamples, in the same run:
  a pure-Python loop (``random.choices`` per resample; timed on a slice of the
  resamples and scaled linearly, since every resample costs the same) and a
  numpy-per-resample loop (``np.random.choice`` per resample, the way
  Inspect's ``bootstrap_stderr`` resamples; timed in full).

Writing the two logs with Inspect's writer takes minutes, so they are kept in
the temp folder and reused by later runs. Times are the best of ``REPEATS``.

Run: ``python benchmarks/gate.py``; writes ``benchmarks/results/gate.json``.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

QUESTIONS = 14_042
SUBJECTS = 57
RESAMPLES = 10_000
PYTHON_LOOP_RESAMPLES = 100  # timed slice of the pure-Python loop, scaled to RESAMPLES
REPEATS = 7
LOG_VERSION = "v1"  # bump when the logs written below change

SPEC = f"""
[gate]
test = "bootstrap"
resamples = {RESAMPLES}
seed = 0

[[rule]]
name = "MMLU accuracy"
task = "mmlu"
metric = "accuracy"
max_drop = 0.01

[[rule]]
name = "MMLU tie rate"
task = "mmlu"
metric = "tie_rate"
max_drop = 0.02

[[rule]]
name = "MMLU win+tie by subject"
task = "mmlu"
metric = "win+tie"
cluster = "subject"
max_drop = 0.02
"""

VERDICT_KEYS = ("win", "tie", "loss", "error", "inconsistent")


def _questions() -> list[Any]:
    """The MMLU test questions as Inspect samples (the task's own sample builder)."""
    from cogumi_eval.data import load_mmlu
    from cogumi_eval.tasks.mmlu import mmlu_samples

    os.environ.setdefault(
        "COGUMI_DATA_DIR", str(Path(__file__).resolve().parents[2] / "shared" / "data")
    )
    samples = mmlu_samples(load_mmlu("test").records)
    if len(samples) != QUESTIONS:
        raise SystemExit(f"expected {QUESTIONS} MMLU test questions, found {len(samples)}")
    return samples


def _outcomes(
    subject: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Baseline/candidate correctness and verdicts: checkpoints that agree on most questions."""
    rng = np.random.default_rng(seed)
    difficulty = rng.uniform(0.35, 0.85, SUBJECTS)[subject]
    base_correct = rng.random(QUESTIONS) < difficulty
    flip = rng.random(QUESTIONS) < 0.08
    cand_correct = np.where(flip, ~base_correct, base_correct)
    labels = np.array(["win", "tie", "loss"])
    base_verdict = labels[rng.choice(3, QUESTIONS, p=[0.2, 0.65, 0.15])]
    moved = rng.random(QUESTIONS) < 0.1
    cand_verdict = np.where(
        moved, labels[rng.choice(3, QUESTIONS, p=[0.15, 0.6, 0.25])], base_verdict
    )
    return base_correct, cand_correct, base_verdict, cand_verdict


def _write_log(
    template: Any,
    questions: list[Any],
    path: Path,
    correct: np.ndarray,
    verdicts: np.ndarray,
    model: str,
) -> None:
    from inspect_ai.log import EvalSample, write_eval_log
    from inspect_ai.model import ModelOutput
    from inspect_ai.scorer import Score

    letters = "ABCD"
    samples = []
    for i, question in enumerate(questions):
        target = str(question.target)
        answer = target if correct[i] else letters[(letters.index(target) + 1) % 4]
        verdict = str(verdicts[i])
        samples.append(
            EvalSample(
                id=question.id,
                epoch=1,
                input=question.input,
                choices=question.choices,
                target=target,
                messages=[],
                output=ModelOutput.from_content(model=model, content=f"ANSWER: {answer}"),
                scores={
                    "choice_letter": Score(value="C" if correct[i] else "I", answer=answer),
                    "pairwise": Score(
                        value={k: float(k == verdict) for k in VERDICT_KEYS}, answer=verdict
                    ),
                },
                metadata=dict(question.metadata),
            )
        )
    log = template.model_copy(deep=True)
    log.eval.task = "mmlu"
    log.eval.model = model
    log.eval.dataset.samples = QUESTIONS
    log.eval.dataset.sample_ids = [s.id for s in samples]
    log.samples = samples
    log.reductions = None
    write_eval_log(log, str(path))


def _template(workdir: Path) -> Any:
    """A real log header from a two-sample scripted run, reused for the large logs."""
    from inspect_ai import Task
    from inspect_ai import eval as inspect_eval
    from inspect_ai.dataset import MemoryDataset, Sample
    from inspect_ai.solver import generate

    from cogumi_eval.tasks.mmlu import choice_letter
    from cogumi_eval.testing import scripted_model

    dataset = MemoryDataset(
        [Sample(id=f"s{i}", input="q", target="A", choices=["a", "b", "c", "d"]) for i in range(2)]
    )
    [log] = inspect_eval(
        Task(dataset=dataset, solver=generate(), scorer=choice_letter(), name="mmlu"),
        model=scripted_model(lambda _: "ANSWER: A"),
        log_dir=str(workdir / "template"),
        display="none",
    )
    return log


def _python_loop_bootstrap(d: list[float], resamples: int, seed: int) -> list[float]:
    """The plain loop: draw n indices per resample, average."""
    rng = random.Random(seed)
    n = len(d)
    return [sum(rng.choices(d, k=n)) / n for _ in range(resamples)]


def _python_cluster_bootstrap(
    sums: list[float], sizes: list[float], resamples: int, seed: int
) -> list[float]:
    rng = random.Random(seed)
    clusters = len(sums)
    out = []
    for _ in range(resamples):
        picks = rng.choices(range(clusters), k=clusters)
        out.append(sum(sums[p] for p in picks) / sum(sizes[p] for p in picks))
    return out


def _numpy_loop_bootstrap(d: np.ndarray, resamples: int, seed: int) -> list[float]:
    """One numpy draw per resample, as Inspect's bootstrap_stderr does."""
    rng = np.random.default_rng(seed)
    return [float(np.mean(rng.choice(d, d.size, replace=True))) for _ in range(resamples)]


def _numpy_loop_cluster(groups: list[np.ndarray], resamples: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(resamples):
        picks = rng.choice(len(groups), len(groups), replace=True)
        out.append(float(np.mean(np.concatenate([groups[p] for p in picks]))))
    return out


def _best(fn: Any, repeats: int = REPEATS) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> dict[str, Any]:
    from cogumi_eval.gate import evaluate_gate, load_runs, load_spec
    from cogumi_eval.stats import bootstrap_differences

    load_at_start = os.getloadavg()[0]
    workdir = Path(tempfile.gettempdir()) / f"cogumi-gate-bench-{LOG_VERSION}"
    workdir.mkdir(exist_ok=True)
    questions = _questions()
    subject_names = sorted({q.metadata["subject"] for q in questions})
    subject = np.array([subject_names.index(q.metadata["subject"]) for q in questions])
    base_correct, cand_correct, base_verdict, cand_verdict = _outcomes(subject, seed=7)
    base_path, cand_path = workdir / "baseline.eval", workdir / "candidate.eval"
    start = time.perf_counter()
    if not (base_path.is_file() and cand_path.is_file()):
        template = _template(workdir)
        _write_log(template, questions, base_path, base_correct, base_verdict, "hf/base")
        _write_log(template, questions, cand_path, cand_correct, cand_verdict, "hf/candidate")
    build_seconds = time.perf_counter() - start
    spec_path = workdir / "spec.toml"
    spec_path.write_text(SPEC, encoding="utf-8")
    spec = load_spec(spec_path)

    def whole_gate() -> Any:
        report = evaluate_gate(base_path, cand_path, spec_path)
        report.to_json()
        report.to_markdown()
        return report

    gate_seconds, report = _best(whole_gate)
    load_seconds, runs = _best(
        lambda: (load_runs(base_path, "baseline"), load_runs(cand_path, "candidate"))
    )
    evaluate_seconds, _ = _best(lambda: evaluate_gate(runs[0], runs[1], spec))

    # the three bootstraps alone: vectorised (as the gate runs them) and as plain loops
    accuracy_d = cand_correct.astype(float) - base_correct.astype(float)
    tie_d = (cand_verdict == "tie").astype(float) - (base_verdict == "tie").astype(float)
    good = ("win", "tie")
    wintie_d = np.isin(cand_verdict, good).astype(float) - np.isin(base_verdict, good).astype(float)

    def vectorised() -> list[np.ndarray]:
        return [
            bootstrap_differences(accuracy_d, resamples=RESAMPLES, seed=0),
            bootstrap_differences(tie_d, resamples=RESAMPLES, seed=0),
            bootstrap_differences(wintie_d, clusters=subject, resamples=RESAMPLES, seed=0),
        ]

    vector_seconds, vector_draws = _best(vectorised)
    sums = np.bincount(subject, weights=wintie_d).tolist()
    sizes = np.bincount(subject).astype(float).tolist()

    def python_slice() -> list[list[float]]:
        return [
            _python_loop_bootstrap(accuracy_d.tolist(), PYTHON_LOOP_RESAMPLES, 0),
            _python_loop_bootstrap(tie_d.tolist(), PYTHON_LOOP_RESAMPLES, 0),
            _python_cluster_bootstrap(sums, sizes, PYTHON_LOOP_RESAMPLES, 0),
        ]

    python_slice_seconds, _ = _best(python_slice, repeats=1)
    python_seconds = python_slice_seconds * RESAMPLES / PYTHON_LOOP_RESAMPLES
    groups = [wintie_d[subject == s] for s in range(SUBJECTS)]

    def numpy_loop() -> list[list[float]]:
        return [
            _numpy_loop_bootstrap(accuracy_d, RESAMPLES, 0),
            _numpy_loop_bootstrap(tie_d, RESAMPLES, 0),
            _numpy_loop_cluster(groups, RESAMPLES, 0),
        ]

    numpy_loop_seconds, numpy_draws = _best(numpy_loop, repeats=1)
    # same distribution, different random streams: the bootstrap SEs agree to Monte-Carlo error
    se_vector = [float(np.std(x, ddof=1)) for x in vector_draws]
    se_numpy_loop = [statistics.stdev(x) for x in numpy_draws]

    result = {
        "benchmark": "gate",
        "questions": QUESTIONS,
        "subjects": SUBJECTS,
        "rules": [r.name for r in spec.rules],
        "resamples": RESAMPLES,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1min": [round(load_at_start, 2), round(os.getloadavg()[0], 2)],
            "processor": platform.processor() or platform.machine(),
            "python": sys.version.split()[0],
            "numpy": np.__version__,
        },
        "log_size_bytes": {
            "baseline": base_path.stat().st_size,
            "candidate": cand_path.stat().st_size,
        },
        "seconds": {
            "build_logs_once_or_reuse": round(build_seconds, 3),
            "gate_end_to_end": round(gate_seconds, 4),
            "read_logs": round(load_seconds, 4),
            "evaluate_rules": round(evaluate_seconds, 4),
            "bootstrap_vectorised_3_rules": round(vector_seconds, 5),
            "bootstrap_numpy_loop_3_rules": round(numpy_loop_seconds, 3),
            "bootstrap_python_loop_3_rules": round(python_seconds, 2),
        },
        "python_loop_timed_resamples": PYTHON_LOOP_RESAMPLES,
        "speedup": {
            "bootstrap_vs_python_loop": round(python_seconds / vector_seconds, 1),
            "bootstrap_vs_numpy_loop": round(numpy_loop_seconds / vector_seconds, 1),
        },
        "bootstrap_se": {"vectorised": se_vector, "numpy_loop": se_numpy_loop},
        "target_seconds": 2.0,
        "meets_target": gate_seconds < 2.0,
        "verdicts": {r.name: r.verdict for r in report.rules},
    }
    rows = [
        ("gate, log files -> reports (3 rules x 10,000 resamples)", gate_seconds, "target < 2 s"),
        ("  read two 14,042-sample logs", load_seconds, ""),
        ("  evaluate three rules", evaluate_seconds, ""),
        ("bootstrap only, vectorised (3 x 10,000)", vector_seconds, "1.0x"),
        (
            "bootstrap only, numpy draw per resample",
            numpy_loop_seconds,
            f"{result['speedup']['bootstrap_vs_numpy_loop']}x slower",
        ),
        (
            f"bootstrap only, pure Python loop (scaled from {PYTHON_LOOP_RESAMPLES})",
            python_seconds,
            f"{result['speedup']['bootstrap_vs_python_loop']}x slower",
        ),
    ]
    print(
        f"Cogumi gate benchmark: {QUESTIONS:,} paired questions, {SUBJECTS} subjects, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"{'what':<68}{'seconds':>10}  note")
    for name, seconds, note in rows:
        print(f"{name:<68}{seconds:>10.4f}  {note}")
    out = Path(__file__).resolve().parent / "results" / "gate.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
