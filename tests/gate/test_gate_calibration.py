"""Calibration of the clustered rules: their false-fail rate at the margin is the nominal 2.5%.

A statistical test of the tests, with a fixed seed: MMLU-sized pairs of runs
(the 57 real subject sizes, 14,042 questions, item difficulty varying within
and between subjects, and a candidate whose change varies from subject to
subject around a true drop equal to the margin — the rule's H0 boundary).
The share of simulated candidates failed must not exceed α = 0.025 by more
than two Monte Carlo standard errors, sqrt(α (1 − α) / sims), 3.07% for the
paired-z test's 3,000 simulations: the z test on the CR1 standard error used
before false-failed 3.1-4.7% on such runs, the percentile bootstrap of whole
subjects 2.8-4.2%. The model is ``benchmarks/calibration.py``'s; the benchmark
measures the same rules through ``evaluate_gate`` at a larger size.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from cogumi_eval.gate import RunLog, evaluate_gate
from cogumi_eval.gate._logs import SampleKey, ScoreRecord
from cogumi_eval.gate._spec import parse_spec
from cogumi_eval.stats import paired_bootstrap, paired_difference

# questions per subject in the MMLU test split, subjects in sorted order
MMLU_SIZES = (
    100, 135, 152, 100, 265, 144, 100, 100, 100, 173, 102, 100, 235, 114, 145, 378, 126, 100, 310,
    203, 100, 165, 198, 193, 390, 270, 238, 151, 545, 216, 204, 237, 223, 131, 121, 108, 163, 112,
    103, 234, 100, 783, 346, 895, 306, 311, 324, 282, 1534, 272, 612, 110, 245, 201, 100, 166, 171,
)  # fmt: skip
ALPHA = 0.025
MARGIN = 0.01
SUBJECT_SD = 0.03
SHARED_DRAW = 0.7


class MMLUPairs:
    """Paired 0/1 outcomes of a baseline and a candidate worse by ``delta`` on average."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        sizes = np.array(MMLU_SIZES)
        self.subject = np.repeat(np.arange(sizes.size), sizes)
        latent = (
            0.6
            + self.rng.normal(0.0, 1.0, sizes.size)[self.subject]
            + self.rng.normal(0.0, 2.0, self.subject.size)
        )
        self.p = 0.17 + 0.76 / (1.0 + np.exp(-latent))

    def draw(self, delta: float) -> tuple[np.ndarray, np.ndarray]:
        effect = np.clip(
            self.rng.normal(0.0, SUBJECT_SD, len(MMLU_SIZES)), -2 * SUBJECT_SD, 2 * SUBJECT_SD
        )
        uniform = self.rng.random(self.subject.size)
        again = np.where(
            self.rng.random(self.subject.size) < SHARED_DRAW,
            uniform,
            self.rng.random(self.subject.size),
        )
        baseline = (uniform < self.p).astype(float)
        candidate = (again < self.p + effect[self.subject] - delta).astype(float)
        return candidate, baseline


def _bound(sims: int) -> float:
    return ALPHA + 2 * math.sqrt(ALPHA * (1 - ALPHA) / sims)


def test_clustered_paired_z_false_fails_at_most_the_nominal_rate_at_the_margin() -> None:
    pairs, sims = MMLUPairs(seed=0), 3000
    failed = 0
    for _ in range(sims):
        candidate, baseline = pairs.draw(MARGIN)
        test = paired_difference(
            candidate, baseline, clusters=pairs.subject, null=-MARGIN, alternative="less"
        )
        failed += test.pvalue <= ALPHA
    assert failed / sims <= _bound(sims)


def test_clustered_bootstrap_false_fails_at_most_the_nominal_rate_at_the_margin() -> None:
    pairs, sims = MMLUPairs(seed=1), 1000
    failed = 0
    for index in range(sims):
        candidate, baseline = pairs.draw(MARGIN)
        test = paired_bootstrap(
            candidate,
            baseline,
            clusters=pairs.subject,
            null=-MARGIN,
            alternative="less",
            resamples=999,
            seed=index,
        )
        failed += test.pvalue <= ALPHA
    assert failed / sims <= _bound(sims)


def _run(side: str, outcomes: np.ndarray, subjects: np.ndarray) -> RunLog:
    right, wrong = ScoreRecord("C", "A"), ScoreRecord("I", "B")
    run = RunLog(
        path=f"{side}.eval", task="mmlu", model=f"simulated/{side}", status="success", epochs=1
    )
    run.keys = [SampleKey(f"q-{i:05d}", 1) for i in range(outcomes.size)]
    run.errors = [None] * outcomes.size
    run.metadata = [{"subject": f"s{s:02d}"} for s in subjects.tolist()]
    run.scores = {"choice_letter": [right if o else wrong for o in outcomes.tolist()]}
    return run


@pytest.fixture(scope="module")
def clustered_spec() -> Any:
    rules = "".join(
        f'[[rule]]\nname = "{test}"\ntask = "mmlu"\nmetric = "accuracy"\nmax_drop = {MARGIN}\n'
        f'cluster = "subject"\ntest = "{test}"\nresamples = 999\n'
        for test in ("paired-z", "bootstrap")
    )
    import tomllib

    return parse_spec(tomllib.loads('[gate]\ncorrection = "none"\n' + rules))


def test_the_gate_decides_clustered_rules_with_the_calibrated_tests(clustered_spec: Any) -> None:
    pairs = MMLUPairs(seed=2)
    for _ in range(3):
        candidate, baseline = pairs.draw(MARGIN)
        report = evaluate_gate(
            {"mmlu": _run("baseline", baseline, pairs.subject)},
            {"mmlu": _run("candidate", candidate, pairs.subject)},
            clustered_spec,
        )
        z = paired_difference(
            candidate, baseline, clusters=pairs.subject, null=-MARGIN, alternative="less"
        )
        boot = paired_bootstrap(
            candidate,
            baseline,
            clusters=pairs.subject,
            null=-MARGIN,
            alternative="less",
            resamples=999,
        )
        assert report.rule("paired-z").pvalue == pytest.approx(z.pvalue, abs=1e-12)
        assert report.rule("bootstrap").pvalue == pytest.approx(boot.pvalue, abs=1e-12)
        assert "CR2" in (report.rule("paired-z").test or "")
        assert "wild cluster bootstrap-t" in (report.rule("bootstrap").test or "")
