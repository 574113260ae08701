"""Small eval logs for the analysis tests, written once per test session.

- a GSM8K series of four runs judged pairwise against a baseline, whose tie rate
  collapses from 70% to 28% at the merged checkpoint (the regression Cogumi exists for);
- a GSM8K run with three epochs whose answers wobble on some questions;
- two MMLU-shaped runs (subject metadata, ``choice_letter`` scores) that differ by subject;
- a folder with a good log, a truncated one, an errored one and one without scores.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import inspect_ai
import pytest
from inspect_ai import Task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.log import EvalLog, read_eval_log, write_eval_log
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Scorer, Target, accuracy, mean, scorer
from inspect_ai.solver import TaskState, generate

from cogumi_eval.data import load_gsm8k
from cogumi_eval.tasks import final_number, gsm8k
from cogumi_eval.testing import scripted_model

QUESTIONS = 50

# (name, wins, ties, losses) out of QUESTIONS: the tie collapse at "merged".
SERIES = [
    ("sft", 10, 35, 5),
    ("lora-4bit", 9, 33, 8),
    ("merged", 6, 14, 30),
    ("merged-phase2", 5, 15, 30),
]
# questions answered correctly (of QUESTIONS) by each run of the series
SERIES_CORRECT = {"sft": 40, "lora-4bit": 38, "merged": 22, "merged-phase2": 24}

SUBJECTS = ["astronomy", "college_physics", "world_religions", "virology"]
MMLU_PER_SUBJECT = 5
# correct answers per subject, baseline then candidate
MMLU_CORRECT = {
    "astronomy": (5, 2),
    "college_physics": (3, 3),
    "world_religions": (1, 4),
    "virology": (4, 0),
}


@dataclass(frozen=True)
class AnalysisLogs:
    series: list[Path]  # the four judged GSM8K runs, in training order
    epochs: Path  # GSM8K, three epochs
    mmlu_base: Path
    mmlu_candidate: Path
    bad_folder: Path  # good + truncated + errored + unscored
    root: Path


@scorer(
    metrics={"win": [mean()], "tie": [mean()], "loss": [mean()], "error": [mean()]}, name="pairwise"
)
def scripted_pairwise(verdicts: dict[str, str]) -> Scorer:
    """The judge's score shape, with the verdict for each sample id given in advance."""

    async def score(state: TaskState, target: Target) -> Score:
        verdict = verdicts[str(state.sample_id)]
        value = {k: float(k == verdict) for k in ("win", "tie", "loss", "error")}
        value["inconsistent"] = 0.0
        return Score(value=value, answer=verdict, metadata={"orders": [verdict, verdict]})

    return score


@scorer(metrics=[accuracy()], name="choice_letter")
def scripted_letter() -> Scorer:
    """MMLU's score shape: "C"/"I" with the letter as the answer."""

    async def score(state: TaskState, target: Target) -> Score:
        letter = state.output.completion.strip()[-1:]
        return Score(value=CORRECT if letter == target.text else INCORRECT, answer=letter)

    return score


def _gsm8k_answers(data_dir: Path) -> dict[str, tuple[int, str]]:
    """question text -> (index, normalised answer) for the first QUESTIONS test problems."""
    records = load_gsm8k("test", data_dir=str(data_dir)).records[:QUESTIONS]
    return {r.question: (i, r.answer.replace(",", "")) for i, r in enumerate(records)}


def _answering(
    answers: dict[str, tuple[int, str]], rule: Callable[[int, int], bool]
) -> Callable[[str], str]:
    """A model that answers question i right when rule(i, call number for that question) holds."""
    calls: Counter[str] = Counter()

    def respond(prompt: str) -> str:
        question = prompt.rsplit("Question: ", 1)[-1].strip()
        index, answer = answers[question]
        calls[question] += 1
        return f"Working...\nANSWER: {answer if rule(index, calls[question]) else int(answer) + 1}"

    return respond


def _run(task: Task, model: object, log_dir: Path, **kwargs: object) -> Path:
    [log] = inspect_ai.eval(task, model=model, log_dir=str(log_dir), display="none", **kwargs)  # type: ignore[arg-type]
    assert log.status == "success", log.error
    return Path(log.location.removeprefix("file://"))


def _judged_gsm8k(data_dir: Path, verdicts: dict[str, str]) -> Task:
    base = gsm8k(data_dir=str(data_dir))
    return Task(
        dataset=base.dataset,
        solver=base.solver,
        scorer=[final_number(), scripted_pairwise(verdicts)],
        name="gsm8k",
    )


def _verdicts(wins: int, ties: int, losses: int) -> dict[str, str]:
    order = ["win"] * wins + ["tie"] * ties + ["loss"] * losses
    assert len(order) == QUESTIONS
    # spread verdicts over questions so neighbouring ids differ
    return {f"test-{i:04d}": order[(i * 7) % QUESTIONS] for i in range(QUESTIONS)}


def _mmlu_task() -> Task:
    samples = [
        Sample(
            id=f"{subject}-test-{i:04d}",
            input=f"A question about {subject} number {i}?\nA) a\nB) b\nC) c\nD) d",
            target="ABCD"[i % 4],
            choices=["a", "b", "c", "d"],
            metadata={"subject": subject},
        )
        for subject in SUBJECTS
        for i in range(MMLU_PER_SUBJECT)
    ]
    return Task(
        dataset=MemoryDataset(samples), solver=generate(), scorer=scripted_letter(), name="mmlu"
    )


def _mmlu_model(which: int) -> object:
    def respond(prompt: str) -> str:
        subject = next(s for s in SUBJECTS if f"about {s} " in prompt)
        i = int(prompt.split("number ", 1)[1].split("?", 1)[0])
        right = "ABCD"[i % 4]
        wrong = "ABCD"[(i + 1) % 4]
        return f"ANSWER: {right if i < MMLU_CORRECT[subject][which] else wrong}"

    return scripted_model(respond, name=f"mockllm/{'base' if which == 0 else 'candidate'}")


def _truncate(source: Path, target: Path) -> None:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 3])


def _errored(log: EvalLog, target: Path) -> None:
    """The same log as if the run had died after 3 samples."""
    from inspect_ai._util.error import EvalError

    log.eval.eval_id = log.eval.eval_id + "-errored"
    log.status = "error"
    log.error = EvalError(message="RuntimeError: connection lost", traceback="", traceback_ansi="")
    log.samples = (log.samples or [])[:3]
    write_eval_log(log, str(target))


@pytest.fixture(scope="session")
def analysis_logs(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> AnalysisLogs:
    root = tmp_path_factory.mktemp("analysis-logs")
    answers = _gsm8k_answers(data_dir)

    series = []
    for name, wins, ties, losses in SERIES:
        right = SERIES_CORRECT[name]
        model = scripted_model(
            _answering(answers, lambda i, _c, r=right: i < r), name=f"mockllm/{name}"
        )
        lineage = {"name": name, "base": "llama-3-8b", "quantized_base": name != "sft"}
        series.append(
            _run(
                _judged_gsm8k(data_dir, _verdicts(wins, ties, losses)),
                model,
                root / "series",
                limit=QUESTIONS,
                metadata={"lineage": lineage},
            )
        )

    # right on every epoch for even questions, wrong on every epoch for 1 mod 4, wobbling on 3 mod 4
    wobble = _answering(answers, lambda i, c: i % 2 == 0 or (i % 4 == 3 and c == 2))
    epochs = _run(
        gsm8k(data_dir=str(data_dir)),
        scripted_model(wobble, name="mockllm/sampled"),
        root / "epochs",
        limit=12,
        epochs=3,
    )

    mmlu_base = _run(_mmlu_task(), _mmlu_model(0), root / "mmlu")
    mmlu_candidate = _run(_mmlu_task(), _mmlu_model(1), root / "mmlu")

    bad = root / "bad"
    bad.mkdir()
    good = _run(
        gsm8k(data_dir=str(data_dir)),
        scripted_model(_answering(answers, lambda i, c: i < 3), name="mockllm/good"),
        bad,
        limit=6,
    )
    _truncate(good, bad / "2026-01-01T00-00-00+00-00_gsm8k_truncated.eval")
    _errored(read_eval_log(str(good)), bad / "2026-01-01T00-00-01+00-00_gsm8k_errored.eval")
    unscored = gsm8k(data_dir=str(data_dir))
    _run(
        unscored,
        scripted_model(_answering(answers, lambda i, c: True), name="mockllm/unscored"),
        bad,
        limit=4,
        score=False,
    )

    return AnalysisLogs(series, epochs, mmlu_base, mmlu_candidate, bad, root)
