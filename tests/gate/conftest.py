"""Real Inspect eval logs for gate tests, written by scripted models.

Each sample's input is its id; the scripted model answers from a table
(sample id -> one response per epoch). A response "ANSWER: 1" is correct for
the ``final_number`` scorer (every target is 1) and "VERDICT: tie" is read by
the test scorer named ``pairwise``, which emits the judge contract's shape:
``answer`` in {win, tie, loss, error}, value a dict of 0/1 rates.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.scorer import Score, Scorer, Target, mean, scorer
from inspect_ai.solver import TaskState, generate

from cogumi_eval.tasks import final_number
from cogumi_eval.testing import scripted_model

VERDICT = re.compile(r"VERDICT: (\w+)")
KEYS = ("win", "tie", "loss", "error", "inconsistent")


@scorer(metrics={key: [mean()] for key in KEYS}, name="pairwise")
def pairwise() -> Scorer:
    """Stand-in for the judge: the verdict is written in the completion."""

    async def score(state: TaskState, target: Target) -> Score:
        found = VERDICT.search(state.output.completion if state.output else "")
        verdict = found.group(1) if found else "error"
        return Score(value={key: float(key == verdict) for key in KEYS}, answer=verdict)

    return score


Responses = dict[str, Sequence[str]]


def write_log(
    directory: Path,
    task: str,
    responses: Responses,
    *,
    scorers: Sequence[str] = ("final_number",),
    metadata: dict[str, dict[str, Any]] | None = None,
    fail: set[str] | None = None,
    epochs: int = 1,
) -> Path:
    """Run a scripted eval of ``task`` and return its log file."""
    calls: dict[str, int] = defaultdict(int)
    failing = fail or set()

    def respond(prompt: str) -> str:
        if prompt in failing:
            raise RuntimeError(f"scripted failure on {prompt}")
        answers = responses[prompt]
        answer = answers[calls[prompt] % len(answers)]
        calls[prompt] += 1
        return answer

    chosen = {"final_number": final_number, "pairwise": pairwise}
    samples = [
        Sample(
            id=sample_id, input=sample_id, target="1", metadata=(metadata or {}).get(sample_id, {})
        )
        for sample_id in responses
    ]
    [log] = inspect_eval(
        Task(
            dataset=MemoryDataset(samples),
            solver=generate(),
            scorer=[chosen[s]() for s in scorers],
            name=task,
        ),
        model=scripted_model(respond),
        epochs=epochs,
        log_dir=str(directory),
        display="none",
        fail_on_error=False,
        max_connections=1,
    )
    return Path(log.location)


def correctness(outcomes: Sequence[int], prefix: str = "q") -> Responses:
    """Responses for 0/1 outcomes, one sample per outcome."""
    return {
        f"{prefix}-{i:03d}": ["ANSWER: 1" if o else "ANSWER: 0"] for i, o in enumerate(outcomes)
    }


def verdicts(labels: Sequence[str], prefix: str = "q") -> Responses:
    return {f"{prefix}-{i:03d}": [f"ANSWER: 1\nVERDICT: {v}"] for i, v in enumerate(labels)}


@pytest.fixture(scope="session")
def gate_logs(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``gate_logs(name, task, responses, **options)``: a log file, written once per session per
    name."""
    root = tmp_path_factory.mktemp("gate-logs")
    made: dict[str, Path] = {}

    def make(name: str, task: str, responses: Responses, **options: Any) -> Path:
        if name not in made:
            made[name] = write_log(root / name, task, responses, **options)
        return made[name]

    return make


def tie_collapse() -> tuple[list[str], list[str]]:
    """The project's regression: ties 70% -> 28% on 100 samples (wins 20% -> 12%)."""
    baseline = ["tie"] * 70 + ["win"] * 20 + ["loss"] * 10
    candidate = ["tie"] * 28 + ["loss"] * 42 + ["win"] * 12 + ["loss"] * 8 + ["loss"] * 10
    return baseline, candidate


@pytest.fixture(scope="session")
def tie_logs(gate_logs: Callable[..., Path]) -> tuple[Path, Path]:
    baseline, candidate = tie_collapse()
    return (
        gate_logs(
            "ties-baseline", "gsm8k", verdicts(baseline), scorers=("final_number", "pairwise")
        ),
        gate_logs(
            "ties-candidate",
            "cogumi/gsm8k",
            verdicts(candidate),
            scorers=("final_number", "pairwise"),
        ),
    )


def sixty_six_vs_seventy() -> tuple[list[int], list[int]]:
    """50 samples: baseline 35 right (70%), candidate 33 (66%): 3 lost, 1 gained."""
    baseline = [1] * 35 + [0] * 15
    candidate = [0, 0, 0] + [1] * 32 + [1] + [0] * 14
    return baseline, candidate


@pytest.fixture(scope="session")
def small_outcomes() -> tuple[list[int], list[int]]:
    return sixty_six_vs_seventy()


@pytest.fixture(scope="session")
def small_logs(gate_logs: Callable[..., Path]) -> tuple[Path, Path]:
    baseline, candidate = sixty_six_vs_seventy()
    return (
        gate_logs("small-baseline", "gsm8k", correctness(baseline)),
        gate_logs("small-candidate", "gsm8k", correctness(candidate)),
    )


def spec_file(directory: Path, text: str, name: str = "spec.toml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[[str], Path]:
    return lambda text: spec_file(tmp_path, text)


def synthetic_run(
    task: str,
    *,
    outcomes: Sequence[int] | None = None,
    verdict_labels: Sequence[str] | None = None,
    answers: Sequence[Sequence[str]] | None = None,
    epochs: int = 1,
    metadata: Sequence[dict[str, Any]] | None = None,
    errors: Sequence[int] = (),
    log_metrics: dict[str, dict[str, float]] | None = None,
    path: str = "synthetic.eval",
) -> Any:
    """A ``RunLog`` built in memory (no Inspect run): fast rules-level tests.

    ``outcomes``: 0/1 per sample (one epoch); ``answers``: per sample, one answer per
    epoch, correct when "1"; ``verdict_labels``: pairwise verdict per sample.
    """
    from cogumi_eval.gate import RunLog
    from cogumi_eval.gate._logs import SampleKey, ScoreRecord

    run = RunLog(
        path=path,
        task=task,
        model="mockllm/model",
        status="success",
        epochs=epochs,
        log_metrics=log_metrics or {},
    )
    if answers is None:
        base = outcomes if outcomes is not None else [1] * len(verdict_labels or [])
        answers = [["1" if o else "0"] for o in base]
    run.scores = {"final_number": []}
    if verdict_labels is not None:
        run.scores["pairwise"] = []
    for i, sample_answers in enumerate(answers):
        for epoch, answer in enumerate(sample_answers, start=1):
            run.keys.append(SampleKey(f"q-{i:04d}", epoch))
            run.errors.append("boom" if i in errors else None)
            run.metadata.append(dict(metadata[i]) if metadata else {})
            run.scores["final_number"].append(
                None if i in errors else ScoreRecord("C" if answer == "1" else "I", answer)
            )
            if verdict_labels is not None:
                label = verdict_labels[i]
                run.scores["pairwise"].append(
                    None
                    if i in errors
                    else ScoreRecord({k: float(k == label) for k in KEYS}, label)
                )
    return run


@pytest.fixture
def runs() -> Callable[..., Any]:
    """``runs(**options)`` -> a synthetic ``RunLog`` (see ``synthetic_run``)."""
    return synthetic_run
