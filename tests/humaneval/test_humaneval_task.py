"""The HumanEval task end to end in-process: scripted answers, scores, epochs, pass@k, bad input."""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalLog

from cogumi_eval.data import HumanEvalProblem, load_humaneval
from cogumi_eval.sandbox import ExecutionResult, Outcome
from cogumi_eval.tasks import humaneval
from cogumi_eval.testing import scripted_model

from .test_humaneval_pass_at_k import enumerated_pass_at_k


@pytest.fixture(scope="module")
def problems(data_dir: Path) -> dict[str, HumanEvalProblem]:
    return {p.id: p for p in load_humaneval(data_dir=data_dir).records}


def _entry_point(prompt: str, problems: dict[str, HumanEvalProblem]) -> HumanEvalProblem:
    return next(p for p in problems.values() if p.prompt in prompt)


def _run(
    tmp_path: Path, respond: Callable[[str], str], task: object | None = None, **options: object
) -> EvalLog:
    [log] = inspect_eval(
        task or humaneval(),
        model=scripted_model(respond),
        log_dir=str(tmp_path / "logs"),
        display="none",
        **options,  # type: ignore[arg-type]
    )
    assert log.status == "success", log.error
    return log


def _fenced_canonical(problems: dict[str, HumanEvalProblem]) -> Callable[[str], str]:
    def respond(prompt: str) -> str:
        p = _entry_point(prompt, problems)
        return f"Sure.\n\n```python\n{p.prompt}{p.canonical_solution}```\nThat solves it."

    return respond


def test_fenced_canonical_solutions_all_pass(
    tmp_path: Path, problems: dict[str, HumanEvalProblem]
) -> None:
    log = _run(tmp_path, _fenced_canonical(problems))
    samples = log.samples or []
    assert len(samples) == 164
    assert {s.id: s.scores["humaneval_tests"].answer for s in samples} == {
        pid: "pass" for pid in problems
    }
    assert log.results and log.results.scores[0].metrics["accuracy"].value == 1.0


def test_score_metadata_holds_program_extraction_limits_and_isolation(
    tmp_path: Path, problems: dict[str, HumanEvalProblem]
) -> None:
    log = _run(tmp_path, _fenced_canonical(problems), limit=1)
    score = (log.samples or [])[0].scores["humaneval_tests"]
    assert (score.value, score.answer, score.explanation) == (
        "C",
        "pass",
        "pass: all tests ran to completion",
    )
    assert score.metadata is not None
    assert score.metadata["extraction"] == "fenced_function"
    assert "def has_close_elements" in score.metadata["program"]
    assert (
        score.metadata["limits"]["timeout_s"] == 10.0
        and score.metadata["limits"]["memory_mb"] == 1024
    )
    assert score.metadata["isolation"]["backend"] == "local"


def test_three_epochs_are_three_scored_samples_each_with_answer(
    tmp_path: Path, problems: dict[str, HumanEvalProblem]
) -> None:
    log = _run(tmp_path, _fenced_canonical(problems), limit=3, epochs=3)
    samples = log.samples or []
    assert sorted((s.id, s.epoch) for s in samples) == [
        (f"HumanEval/{i}", e) for i in range(3) for e in (1, 2, 3)
    ]
    assert {s.scores["humaneval_tests"].answer for s in samples} == {"pass"}


def test_pass_at_k_over_epochs_matches_enumeration(
    tmp_path: Path, problems: dict[str, HumanEvalProblem]
) -> None:
    # Problem i is answered correctly in i of its 4 epochs (the order does not matter).
    served: Counter[str] = Counter()

    def respond(prompt: str) -> str:
        p = _entry_point(prompt, problems)
        index = int(p.id.split("/")[1])
        served[p.id] += 1
        right = served[p.id] <= index
        return p.canonical_solution if right else "    raise NotImplementedError\n"

    log = _run(tmp_path, respond, task=humaneval(style="completion", epochs=4, k="1,2,4"), limit=5)
    metrics = {n: m.value for s in log.results.scores for n, m in s.metrics.items()}  # type: ignore[union-attr]
    for k in (1, 2, 4):
        expected = sum(enumerated_pass_at_k(4, min(c, 4), k) for c in range(5)) / 5
        assert metrics[f"pass@{k}"] == pytest.approx(float(expected))


def test_pass_at_k_results_are_named_pass_at_k_not_repeated_accuracy(tmp_path: Path) -> None:
    task = humaneval(style="completion", epochs=2, k="1,2")
    log = _run(tmp_path, lambda prompt: "", task=task, limit=2)
    shown = [(s.name, n) for s in log.results.scores for n in s.metrics]  # type: ignore[union-attr]
    assert ("humaneval_tests", "pass@1") in shown and ("humaneval_tests", "pass@2") in shown
    assert len(shown) == len(set(shown)), shown


def test_empty_answer_is_incorrect_and_says_empty(tmp_path: Path) -> None:
    log = _run(tmp_path, lambda prompt: "", limit=1)
    score = (log.samples or [])[0].scores["humaneval_tests"]
    assert (score.value, score.answer) == ("I", "empty")
    assert score.explanation and score.explanation.startswith("empty answer")


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (
            "```python\ndef has_close_elements(numbers, threshold):\n    return '\udcff'\n```",
            "encoding",
        ),
        ("```python\ndef has_close_elements(numbers, threshold)\n    return True\n```", "syntax"),
        ("    import sys\n    sys.exit(0)\n", "exit"),  # the function exits when the tests call it
        (
            "```python\ndef has_close_elements(numbers, threshold):\n    return True\n\n"
            "import os\nos._exit(0)\n```",
            "exit",
        ),
    ],
    ids=["invalid-utf8", "invalid-python", "exit-in-function", "exit-before-tests"],
)
def test_bad_answers_are_scored_and_the_run_carries_on(
    tmp_path: Path, problems: dict[str, HumanEvalProblem], answer: str, kind: str
) -> None:
    def respond(prompt: str) -> str:
        return (
            answer if "has_close_elements" in prompt else problems["HumanEval/1"].canonical_solution
        )

    log = _run(tmp_path, respond, task=humaneval(style="completion"), limit=2)
    first, second = log.samples or []
    assert (first.scores["humaneval_tests"].value, first.scores["humaneval_tests"].answer) == (
        "I",
        kind,
    )
    assert second.scores["humaneval_tests"].answer == "pass"  # scored normally after it


def test_completion_style_sends_the_bare_prompt(
    tmp_path: Path, problems: dict[str, HumanEvalProblem]
) -> None:
    seen: list[str] = []
    _run(
        tmp_path,
        lambda prompt: seen.append(prompt) or "",
        task=humaneval(style="completion"),
        limit=1,
    )
    assert seen == [problems["HumanEval/0"].prompt]


def test_chat_style_asks_for_a_fenced_function(
    tmp_path: Path, problems: dict[str, HumanEvalProblem]
) -> None:
    seen: list[str] = []
    _run(tmp_path, lambda prompt: seen.append(prompt) or "", limit=1)
    assert re.match(
        r"Complete the following Python function\. .*```python block\.|Complete the following",
        seen[0],
    )
    assert f"```python\n{problems['HumanEval/0'].prompt}```" in seen[0]


def test_sandbox_failure_is_an_error_not_a_wrong_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(program: object, limits: object, sandbox: str) -> ExecutionResult:
        return ExecutionResult(Outcome.SANDBOX_ERROR, "sandbox set-up failed: OSError: landlock")

    # The package exports the task factory under the module's name: patch the module itself.
    monkeypatch.setattr(sys.modules["cogumi_eval.tasks.humaneval"], "run_program", broken)
    [log] = inspect_eval(
        humaneval(),
        model=scripted_model(lambda p: "    return 1\n"),
        limit=1,
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    assert log.status == "error"
    assert log.error and "the sandbox could not run HumanEval/0" in log.error.message


def test_k_above_epochs_is_refused_before_running() -> None:
    with pytest.raises(ValueError, match="pass@10 needs at least 10 epochs but epochs=3"):
        humaneval(epochs=3, k="1,10")


def test_unknown_sandbox_is_refused() -> None:
    with pytest.raises(ValueError, match="sandbox='firejail' is not one of local, docker"):
        humaneval(sandbox="firejail")
