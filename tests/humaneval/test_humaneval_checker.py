"""HumanEval through the checker: all canonical solutions pass; the helpers are the dataset's."""

from __future__ import annotations

from pathlib import Path

import pytest

from cogumi_eval.data import HumanEvalProblem, load_humaneval
from cogumi_eval.sandbox import Outcome, default_pool
from cogumi_eval.tasks._code_extract import extract_code
from cogumi_eval.tasks.humaneval import humaneval_program


@pytest.fixture(scope="module")
def problems(data_dir: Path) -> dict[str, HumanEvalProblem]:
    return {p.id: p for p in load_humaneval(data_dir=data_dir).records}


def _program(problem: HumanEvalProblem, answer: str):  # type: ignore[no-untyped-def]
    code = extract_code(answer, problem.prompt, problem.entry_point).code
    return humaneval_program(code, problem.prompt, problem.test, problem.entry_point)


def test_every_canonical_solution_passes_through_the_checker(
    problems: dict[str, HumanEvalProblem],
) -> None:
    ordered = list(problems.values())
    results = default_pool().map([_program(p, p.canonical_solution) for p in ordered])
    pairs = zip(ordered, results, strict=True)
    failed = {p.id: (r.outcome, r.detail) for p, r in pairs if not r.passed}
    assert len(results) == 164 and failed == {}
    assert results[0].isolation.checker.startswith("separate process")


def test_a_helper_redefined_by_the_answer_is_not_what_the_tests_use(
    problems: dict[str, HumanEvalProblem],
) -> None:
    # HumanEval/32's tests call the prompt's poly(); an answer that makes poly() always 0
    # and returns any number would pass if the tests used the answer's poly.
    problem = problems["HumanEval/32"]
    answer = (
        "```python\nimport math\n\ndef poly(xs, x):\n    return 0.0\n\n"
        "def find_zero(xs):\n    return 12345.0\n```\n"
    )
    result = default_pool().run(_program(problem, answer))
    assert result.outcome is Outcome.ASSERTION, result.detail


def test_the_entry_point_is_the_answers_even_where_the_tests_name_it(
    problems: dict[str, HumanEvalProblem],
) -> None:
    # HumanEval/33's tests compare candidate(x) with sort_third(x): both must be the answer's.
    problem = problems["HumanEval/33"]
    result = default_pool().run(_program(problem, "    return sorted(l)\n"))
    assert result.outcome is Outcome.ASSERTION, result.detail
