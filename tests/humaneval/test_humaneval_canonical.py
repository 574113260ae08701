"""All 164 canonical solutions pass, answered either way a model answers; a wrong one fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from cogumi_eval.data import HumanEvalProblem, load_humaneval
from cogumi_eval.sandbox import Outcome, Program, default_pool
from cogumi_eval.tasks._code_extract import extract_code
from cogumi_eval.tasks.humaneval import humaneval_checks


@pytest.fixture(scope="module")
def problems(data_dir: Path) -> list[HumanEvalProblem]:
    return load_humaneval(data_dir=data_dir).records


def _outcomes(problems: list[HumanEvalProblem], answer_for) -> dict[str, Outcome]:  # type: ignore[no-untyped-def]
    programs = [
        Program(
            extract_code(answer_for(p), p.prompt, p.entry_point).code,
            humaneval_checks(p.test, p.entry_point),
        )
        for p in problems
    ]
    return {p.id: r.outcome for p, r in zip(problems, default_pool().map(programs), strict=True)}


def test_every_canonical_body_passes(problems: list[HumanEvalProblem]) -> None:
    outcomes = _outcomes(problems, lambda p: p.canonical_solution)
    assert len(outcomes) == 164
    assert {pid: o for pid, o in outcomes.items() if o is not Outcome.PASS} == {}


def test_every_fenced_canonical_function_passes(problems: list[HumanEvalProblem]) -> None:
    outcomes = _outcomes(
        problems,
        lambda p: f"Here is the solution.\n\n```python\n{p.prompt}{p.canonical_solution}```\n",
    )
    assert {pid: o for pid, o in outcomes.items() if o is not Outcome.PASS} == {}


def test_a_wrong_completion_fails_every_problem(problems: list[HumanEvalProblem]) -> None:
    outcomes = _outcomes(problems, lambda p: "    return None\n")
    assert Outcome.PASS not in outcomes.values()
    assert set(outcomes.values()) <= {Outcome.ASSERTION, Outcome.EXCEPTION}
