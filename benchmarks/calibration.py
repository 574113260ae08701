"""Gate calibration: false-fail rate, power and underpowered share, measured by simulation.

Every simulated comparison goes through ``evaluate_gate`` — the function
``cogumi gate`` runs — with two ``RunLog`` objects built in memory (the form
``load_runs`` returns; only reading the .eval files is skipped), so what is
measured is the rule as users run it: pairing, exclusions, clustering, the
test, the power check and the verdict.

Simulated sets:

- GSM8K-sized: 1,319 problems, one epoch; also a 200-problem set.
- HumanEval-sized: 164 problems x 5 epochs (clustered by problem).
- MMLU-sized: the 57 subjects with their real test sizes (14,042 questions,
  read from ``$COGUMI_DATA_DIR/mmlu/test``), clustered by subject.

Model of two runs: item i has a success probability
p_i = 0.17 + 0.76 logistic(x_i), x_i ~ N(0.6, 2²) (plus a subject difficulty
~ N(0, 1) on MMLU): items from nearly always to rarely solved, and no
probability below ever leaves [0, 1]. The candidate's probability is
p_i + e_s − δ: δ is the true drop, and on MMLU e_s is a subject effect
~ N(0, τ = 0.03) truncated at ±2τ, drawn afresh for every simulated
candidate (checkpoints differ subject by subject; e_s has mean zero, so δ
stays the true drop). Each attempt succeeds when a uniform draw is below its
probability; the candidate reuses the baseline's draw with probability 0.7
(two checkpoints of one model get the same items right), which gives the
85-90% agreement of real checkpoint pairs. Judge verdicts are simulated the
same way on their own item probabilities: win or tie with probability q_i
(minus δ for the candidate, plus a subject effect on MMLU), a win being a
quarter of those; win+tie thus drops by δ.

For each set and δ the table gives, per rule, the share of simulated
candidates that FAIL (the false-fail rate at δ = 0 and at δ = margin, the
rule's H0 boundary, whose nominal value is α = 2.5%; the power above the
margin) and the share labelled UNDERPOWERED, each with its Monte Carlo
standard error sqrt(r (1 - r) / sims). The drop a rule catches 80% of the
time is interpolated on the simulated power curve. Rules run with
correction = "none" so each rule's own rate is measured (Holm only lowers
the rates further). The "before" rows recompute, on the same simulated
MMLU data, the clustered tests this project used until they were found to
over-reject: a z test on the CR1 standard error and the percentile
bootstrap of whole subjects (2,000 resamples).

Run: ``python benchmarks/calibration.py`` (a few minutes on 2 cores) or
``--quick`` (a smoke run of a few seconds); writes
``benchmarks/results/calibration.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cogumi_eval.gate import GateSpec, RunLog, evaluate_gate
from cogumi_eval.gate._logs import SampleKey, ScoreRecord
from cogumi_eval.gate._spec import parse_spec
from cogumi_eval.stats import bootstrap_differences, clustered_stderr
from cogumi_eval.stats._paired import z_pvalue, z_statistic

RESULTS = Path(__file__).parent / "results" / "calibration.json"
SHARED_DRAW = 0.7  # chance the candidate reuses the baseline's uniform draw for an attempt
SUBJECT_SD = 0.03  # tau: SD of the candidate's per-subject change (MMLU)
WIN_SHARE = 0.25  # share of good verdicts that are wins
ALPHA = 0.025
KEYS = ("win", "tie", "loss", "error", "inconsistent")


@dataclass
class Design:
    """One simulated benchmark: its size, its rules and the drops simulated."""

    name: str
    task: str
    scorer: str
    sizes: list[int]  # questions per cluster (one cluster of everything when unclustered)
    epochs: int
    rules: str  # TOML [[rule]] tables
    deltas: list[float]
    sims: dict[float, int]  # simulations per delta
    subject_sd: float = 0.0
    subjects: list[str] = field(default_factory=list)


def mmlu_sizes() -> tuple[list[str], list[int]]:
    """MMLU test questions per subject, read with the project's loader."""
    from cogumi_eval.data import load_mmlu

    counts: dict[str, int] = {}
    for record in load_mmlu("test", verify=False):
        counts[record.subject] = counts.get(record.subject, 0) + 1
    return list(counts), list(counts.values())


def _rule(name: str, task: str, metric: str, margin: float, **extra: Any) -> str:
    lines = [f'[[rule]]\nname = "{name}"\ntask = "{task}"\nmetric = "{metric}"']
    if metric != "verdicts":
        lines.append(f"max_drop = {margin}")
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def designs(scale: float) -> list[Design]:
    def sims(base: int, deltas: list[float], boundaries: dict[float, int]) -> dict[float, int]:
        """Simulations per drop: more at the margins, where the false-fail rate is measured."""
        return {d: max(10, round(boundaries.get(d, base) * scale)) for d in deltas}

    gsm_rules = (
        _rule("accuracy paired-z", "gsm8k", "accuracy", 0.03)
        + _rule("accuracy paired-z, margin 0.02", "gsm8k", "accuracy", 0.02)
        + _rule("accuracy bootstrap", "gsm8k", "accuracy", 0.03, test="bootstrap")
        + _rule("accuracy mcnemar", "gsm8k", "accuracy", 0.0, test="mcnemar")
        + _rule("win+tie paired-z", "gsm8k", "win+tie", 0.05)
        + _rule("verdicts stuart-maxwell", "gsm8k", "verdicts", 0.0)
    )
    gsm_deltas = [0.0, 0.02, 0.03, 0.05, 0.06, 0.08, 0.1]
    small_deltas = [0.0, 0.03, 0.05, 0.08, 0.12, 0.16]
    he_rules = (
        _rule("pass@1 paired-z", "humaneval", "pass@1", 0.05)
        + _rule("accuracy paired-z (clustered)", "humaneval", "accuracy", 0.05)
        + _rule("accuracy bootstrap (clustered)", "humaneval", "accuracy", 0.05, test="bootstrap")
        + _rule("win+tie paired-z (clustered)", "humaneval", "win+tie", 0.08)
    )
    he_deltas = [0.0, 0.05, 0.08, 0.1, 0.13, 0.16]
    mmlu_rules = (
        _rule("accuracy paired-z (clustered)", "mmlu", "accuracy", 0.01, cluster="subject")
        + _rule(
            "accuracy bootstrap (clustered)",
            "mmlu",
            "accuracy",
            0.01,
            test="bootstrap",
            cluster="subject",
        )
        + _rule("win+tie paired-z (clustered)", "mmlu", "win+tie", 0.02, cluster="subject")
    )
    mmlu_deltas = [0.0, 0.01, 0.02, 0.025, 0.03, 0.04, 0.05]
    subjects, sizes = mmlu_sizes()
    mmlu_sims = sims(200, mmlu_deltas, {0.01: 3000, 0.02: 800})
    return [
        Design(
            "GSM8K-sized",
            "gsm8k",
            "final_number",
            [1319],
            1,
            gsm_rules,
            gsm_deltas,
            sims(500, gsm_deltas, {0.03: 3000, 0.05: 800}),
        ),
        Design(
            "200 problems",
            "gsm8k",
            "final_number",
            [200],
            1,
            gsm_rules,
            small_deltas,
            sims(500, small_deltas, {0.03: 3000, 0.05: 800}),
        ),
        Design(
            "HumanEval-sized x5 epochs",
            "humaneval",
            "humaneval_tests",
            [164],
            5,
            he_rules,
            he_deltas,
            sims(300, he_deltas, {0.05: 1500, 0.08: 600}),
        ),
        Design(
            "MMLU-sized by subject",
            "mmlu",
            "choice_letter",
            sizes,
            1,
            mmlu_rules,
            mmlu_deltas,
            mmlu_sims,
            subject_sd=SUBJECT_SD,
            subjects=subjects,
        ),
    ]


class Simulator:
    """Draws pairs of runs for one design and hands them to ``evaluate_gate``."""

    def __init__(self, design: Design, items_seed: int) -> None:
        self.design = design
        rng = np.random.default_rng(items_seed)  # the test set: the same in every worker
        self.rng = rng
        sizes = np.array(design.sizes)
        self.cluster = np.repeat(np.arange(sizes.size), sizes)
        items = int(sizes.sum())
        shift = rng.normal(0.0, 1.0, sizes.size)[self.cluster] if sizes.size > 1 else 0.0
        self.p = 0.17 + 0.76 / (1.0 + np.exp(-(0.6 + shift + rng.normal(0.0, 2.0, items))))
        self.q = 0.17 + 0.76 / (1.0 + np.exp(-(0.6 + shift + rng.normal(0.0, 2.0, items))))
        names = design.subjects or [f"c{i}" for i in range(sizes.size)]
        ids = [f"q-{i:05d}" for i in range(items)]
        metadata = [{"subject": names[c]} for c in self.cluster]
        self.keys = [SampleKey(i, e) for i in ids for e in range(1, design.epochs + 1)]
        self.metadata = [m for m in metadata for _ in range(design.epochs)]
        self.correct = (ScoreRecord("I", "0"), ScoreRecord("C", "1"))
        self.verdict = {
            label: ScoreRecord({k: float(k == label) for k in KEYS}, label)
            for label in ("win", "tie", "loss")
        }
        self.spec: GateSpec = parse_spec(_spec_document(design.rules), source=design.name)
        self.template: dict[str, RunLog] = {}

    def _effects(self) -> np.ndarray:
        sd = self.design.subject_sd
        if sd <= 0:
            return np.zeros(self.cluster.size)
        effect = np.clip(self.rng.normal(0.0, sd, len(self.design.sizes)), -2 * sd, 2 * sd)
        return effect[self.cluster]

    def _attempts(self, base: np.ndarray, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        shape = (base.size, self.design.epochs)
        draw = self.rng.random(shape)
        redraw = np.where(self.rng.random(shape) < SHARED_DRAW, draw, self.rng.random(shape))
        return (draw < base[:, None]).ravel(), (redraw < cand[:, None]).ravel()

    def draw(self, delta: float) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Per-attempt correctness and verdicts for the baseline and the candidate."""
        base_right, cand_right = self._attempts(self.p, self.p + self._effects() - delta)
        base_good, cand_good = self._attempts(self.q, self.q + self._effects() - delta)
        size = base_good.size
        base_win = base_good & (self.rng.random(size) < WIN_SHARE)
        cand_win = cand_good & (self.rng.random(size) < WIN_SHARE)
        return (
            {"right": base_right, "good": base_good, "win": base_win},
            {"right": cand_right, "good": cand_good, "win": cand_win},
        )

    def run_log(self, side: str, drawn: dict[str, np.ndarray]) -> RunLog:
        correct, verdict = self.correct, self.verdict
        labels = np.where(drawn["win"], "win", np.where(drawn["good"], "tie", "loss"))
        run = RunLog(
            path=f"simulated-{side}.eval",
            task=self.design.task,
            model=f"simulated/{side}",
            status="success",
            epochs=self.design.epochs,
            keys=self.keys,
            errors=[None] * len(self.keys),
            metadata=self.metadata,
        )
        run.scores = {
            self.design.scorer: [correct[v] for v in drawn["right"].tolist()],
            "pairwise": [verdict[v] for v in labels.tolist()],
        }
        return run

    def gate(self, delta: float) -> tuple[Any, dict[str, np.ndarray], dict[str, np.ndarray]]:
        base, cand = self.draw(delta)
        task = self.design.task
        report = evaluate_gate(
            {task: self.run_log("baseline", base)},
            {task: self.run_log("candidate", cand)},
            self.spec,
        )
        return report, base, cand


def _spec_document(rules: str) -> dict[str, Any]:
    import tomllib

    gate = 'confidence = 0.95\ncorrection = "none"\nrequire_power = 0.8\non_underpowered = "warn"\n'
    text = "[gate]\n" + gate + rules
    return tomllib.loads(text)


def _before_rules(
    sim: Simulator, base: dict[str, np.ndarray], cand: dict[str, np.ndarray], seed: int
) -> dict[str, bool]:
    """The clustered tests used before this calibration, on the same simulated data: fail or not."""
    d = cand["right"].astype(float) - base["right"].astype(float)
    margin = 0.01
    se = clustered_stderr(d, sim.cluster).se  # CR1, with a normal reference
    z_fail = z_pvalue(z_statistic(float(d.mean()) + margin, se), "less") <= ALPHA
    deltas = bootstrap_differences(d, clusters=sim.cluster, resamples=2000, seed=seed)
    boot_fail = (1 + int(np.count_nonzero(deltas >= -margin))) / 2001 <= ALPHA
    return dict(zip(_BEFORE, (bool(z_fail), bool(boot_fail)), strict=True))


_BEFORE = ("accuracy CR1 + z (before)", "accuracy percentile cluster bootstrap (before)")


def _rate(count: int, sims: int) -> dict[str, float]:
    rate = count / sims
    return {"rate": rate, "mcse": math.sqrt(rate * (1 - rate) / sims), "count": count, "sims": sims}


_SIMULATORS: dict[tuple[str, int], Simulator] = {}


def _count(unit: tuple[Design, int, float, int, int]) -> dict[str, Any]:
    """Run ``sims`` simulated comparisons of one design at one drop; counts per rule."""
    design, items_seed, delta, sims, seed = unit
    key = (design.name, items_seed)
    if key not in _SIMULATORS:
        _SIMULATORS[key] = Simulator(design, items_seed)
    sim = _SIMULATORS[key]
    sim.rng = np.random.default_rng(seed)
    counts: dict[str, Any] = {"fail": {}, "underpowered": {}, "error": {}, "mde": {}, "sims": sims}
    start = time.process_time()
    for index in range(sims):
        report, base, cand = sim.gate(delta)
        for rule in report.rules:
            for verdict in ("fail", "underpowered", "error"):
                counts[verdict][rule.name] = counts[verdict].get(rule.name, 0) + (
                    rule.verdict == verdict
                )
            if rule.power is not None:
                counts["mde"][rule.name] = counts["mde"].get(rule.name, 0.0) + rule.power.mde
        if design.subject_sd > 0:
            for name, failed in _before_rules(sim, base, cand, seed=seed + index).items():
                counts["fail"][name] = counts["fail"].get(name, 0) + failed
    counts["cpu_seconds"] = time.process_time() - start
    return counts


def simulate(designs_to_run: list[Design], seed: int, workers: int) -> dict[str, Any]:
    """Every cell of every design, spread over ``workers`` processes."""
    units = []
    for offset, design in enumerate(designs_to_run):
        for delta in design.deltas:
            sims = design.sims[delta]
            chunks = max(1, min(4 * workers, sims // 25))
            for chunk in range(chunks):
                share = sims // chunks + (chunk < sims % chunks)
                units.append((design, seed + offset, delta, share, seed * 1000 + len(units)))
    if workers > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_count, units, chunksize=1)
    else:
        parts = [_count(unit) for unit in units]
    results: dict[str, Any] = {}
    for design in designs_to_run:
        cells: dict[str, dict[str, Any]] = {}
        cpu = 0.0
        evaluations = 0
        for unit, part in zip(units, parts, strict=True):
            if unit[0] is not design:
                continue
            cell = cells.setdefault(f"{unit[2]:g}", {"delta": unit[2], "counts": {}, "sims": 0})
            cell["sims"] += part["sims"]
            for kind in ("fail", "underpowered", "error", "mde"):
                for name, value in part[kind].items():
                    cell["counts"].setdefault(kind, {})
                    cell["counts"][kind][name] = cell["counts"][kind].get(name, 0) + value
            cpu += part["cpu_seconds"]
            evaluations += part["sims"]
        for cell in cells.values():
            sims = cell.pop("sims")
            counts = cell.pop("counts")
            cell["sims"] = sims
            cell["fail"] = {name: _rate(int(c), sims) for name, c in counts.get("fail", {}).items()}
            cell["underpowered"] = {
                name: _rate(int(c), sims) for name, c in counts.get("underpowered", {}).items()
            }
            cell["errors"] = {name: int(c) for name, c in counts.get("error", {}).items() if c}
            cell["mean_reported_mde"] = {
                name: c / sims for name, c in counts.get("mde", {}).items()
            }
        spec = parse_spec(_spec_document(design.rules), source=design.name)
        margins = {rule.name: float(rule.max_drop or 0.0) for rule in spec.rules}
        if design.subject_sd > 0:
            margins.update({name: 0.01 for name in _BEFORE})
        results[design.name] = {
            "items": int(sum(design.sizes)),
            "clusters": len(design.sizes) if len(design.sizes) > 1 else None,
            "epochs": design.epochs,
            "subject_sd": design.subject_sd,
            "margins": margins,
            "cells": cells,
            "rules": _summaries(margins, cells),
            "cpu_seconds": round(cpu, 1),
            "cpu_seconds_per_evaluation": round(cpu / max(1, evaluations), 5),
        }
    return results


def _summaries(margins: dict[str, float], cells: dict[str, dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    deltas = sorted(cell["delta"] for cell in cells.values())
    for name, margin in margins.items():
        curve = [
            (d, cells[f"{d:g}"]["fail"][name]) for d in deltas if name in cells[f"{d:g}"]["fail"]
        ]
        at = {d: r for d, r in curve}
        above = [(d, r["rate"]) for d, r in curve if d >= margin]
        catch_80 = None
        for (d0, r0), (d1, r1) in zip(above, above[1:], strict=False):
            if r0 < 0.8 <= r1:
                catch_80 = d0 + (0.8 - r0) * (d1 - d0) / (r1 - r0)
                break
        zero = cells["0"]["underpowered"].get(name)
        summary[name] = {
            "margin": margin,
            "false_fail_at_0": at.get(0.0),
            "false_fail_at_margin": at.get(margin) if margin > 0 else None,
            "power": {f"{d:g}": r for d, r in curve if d > margin},
            "drop_caught_80pct": catch_80,
            "underpowered_at_0": zero,
            "mean_reported_mde_at_0": cells["0"]["mean_reported_mde"].get(name),
        }
    return summary


def _pct(rate: dict[str, float] | None) -> str:
    if rate is None:
        return "-"
    return f"{100 * rate['rate']:.1f}±{100 * rate['mcse']:.1f}"


def print_table(results: dict[str, Any]) -> None:
    header = (
        f"{'set / rule':<52} {'margin':>6} {'FF@0 %':>10} {'FF@m %':>10} {'80% at':>7} "
        f"{'underp@0 %':>11}  power % at drop"
    )
    print(header)
    print("-" * len(header))
    for set_name, data in results["sets"].items():
        print(
            f"{set_name} ({data['items']} items"
            + (f", {data['clusters']} clusters" if data["clusters"] else "")
            + (f", {data['epochs']} epochs" if data["epochs"] > 1 else "")
            + f"; {data['cpu_seconds']:.0f} CPU s)"
        )
        for name, row in data["rules"].items():
            power = "  ".join(f"{d}:{_pct(r)}" for d, r in row["power"].items())
            catch = (
                f"{row['drop_caught_80pct']:.3f}" if row["drop_caught_80pct"] is not None else "-"
            )
            print(
                f"  {name:<50} {row['margin']:>6.3f} {_pct(row['false_fail_at_0']):>10} "
                f"{_pct(row['false_fail_at_margin']):>10} {catch:>7} "
                f"{_pct(row['underpowered_at_0']):>11}  {power}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: a few simulations per cell"
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every cell's simulations"
    )
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--workers", type=int, default=2, help="processes (one per core)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    scale = 0.001 if args.quick else args.scale  # quick: the floor of 10 simulations per cell
    load_before = os.getloadavg()
    start = time.perf_counter()
    results: dict[str, Any] = {
        "benchmark": "calibration",
        "nominal_false_fail": ALPHA,
        "confidence": 0.95,
        "model": {
            "item_probability": "0.17 + 0.76 logistic(N(0.6, 2^2) [+ subject N(0, 1)])",
            "shared_draw": SHARED_DRAW,
            "subject_sd": SUBJECT_SD,
            "win_share_of_good_verdicts": WIN_SHARE,
        },
        "quick": args.quick,
        "scale": scale,
        "seed": args.seed,
        "sets": {},
    }
    results["sets"] = simulate(designs(scale), args.seed, args.workers)
    results["seconds"] = round(time.perf_counter() - start, 1)
    results["machine"] = {
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "processor": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    print_table(results)
    print(
        f"\n{results['seconds']:.0f} s; load average {load_before[0]:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after"
    )
    if not args.quick:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
