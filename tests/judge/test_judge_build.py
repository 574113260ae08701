"""``build_baselines``: only missing answers reach the model; budget; import of earlier runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cogumi_eval.judge import BaselineStore, build_baselines, import_baselines
from cogumi_eval.tasks import gsm8k

MODEL = "mockllm/gpt-4-turbo"


def _build(solver: Any, limit: int, **kwargs: Any) -> Any:
    (result,) = build_baselines(
        gsm8k(**kwargs.pop("task_args", {})), solver.model(), limit=limit, **kwargs
    )
    return result


def test_a_second_build_generates_only_the_missing_answers(scripted_solver: Any) -> None:
    solver = scripted_solver(lambda i: True, name=MODEL)
    first = _build(solver, limit=3)
    second = _build(solver, limit=5)
    assert (first.generated, second.generated, second.reused) == (3, 2, 3)
    assert solver.calls == 5


def test_a_complete_store_makes_no_model_calls(scripted_solver: Any) -> None:
    solver = scripted_solver(lambda i: True, name=MODEL)
    _build(solver, limit=3)
    calls = solver.calls
    again = _build(solver, limit=3)
    assert (again.generated, solver.calls) == (0, calls)


def test_a_changed_prompt_regenerates_instead_of_reusing(scripted_solver: Any) -> None:
    solver = scripted_solver(lambda i: True, name=MODEL)
    _build(solver, limit=2)
    changed = _build(solver, limit=2, task_args={"fewshot": 1})
    assert changed.generated == 2
    records = BaselineStore().records("gsm8k", MODEL)
    assert len({r.input_sha256 for r in records}) == 4


def test_stored_answers_carry_model_config_and_usage(scripted_solver: Any) -> None:
    solver = scripted_solver(lambda i: True, name=MODEL)
    _build(solver, limit=1)
    (record,) = BaselineStore().records("gsm8k", MODEL)
    assert record.config == {"max_tokens": 1024, "temperature": 0.0}
    assert record.output_tokens > 0 and record.model_version == MODEL


def test_importing_the_build_log_finds_every_answer_already_stored(scripted_solver: Any) -> None:
    solver = scripted_solver(lambda i: True, name=MODEL)
    result = _build(solver, limit=3)
    imported = import_baselines(result.log)
    assert (imported.added, imported.already_stored) == (0, 3)


def test_an_earlier_run_of_the_baseline_model_can_be_imported(
    scripted_solver: Any, tmp_path: Path
) -> None:
    from inspect_ai import eval

    solver = scripted_solver(lambda i: True, name=MODEL)
    (log,) = eval(
        gsm8k(), model=solver.model(), limit=2, temperature=0.0, max_tokens=1024, display="none"
    )
    assert import_baselines(log.location).added == 2
    again = _build(solver, limit=2)
    assert (again.generated, solver.calls) == (0, 2)


def test_a_build_budget_stops_before_the_cap_and_keeps_what_it_bought(
    scripted_solver: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prices = tmp_path / "prices.toml"
    # 1000 $/M tokens: a call reserves ~prompt/3 + 1024 output tokens, i.e. about $1.1
    prices.write_text(f'[models]\n"{MODEL}" = {{ input = 1000.0, output = 1000.0 }}\n')
    monkeypatch.setenv("COGUMI_PRICES", str(prices))
    solver = scripted_solver(lambda i: True, name=MODEL)
    result = _build(solver, limit=4, budget_usd=1.15)
    assert result.stopped is not None and "budget of $1.15 reached" in result.stopped
    assert result.usd <= 1.15
    assert len(BaselineStore().records("gsm8k", MODEL)) == result.generated


def test_a_build_stopped_by_its_budget_resumes_without_paying_twice(
    scripted_solver: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text(f'[models]\n"{MODEL}" = {{ input = 1000.0, output = 1000.0 }}\n')
    monkeypatch.setenv("COGUMI_PRICES", str(prices))
    solver = scripted_solver(lambda i: True, name=MODEL)
    first = _build(solver, limit=4, budget_usd=1.15)
    resumed = _build(solver, limit=4, budget_usd=100.0)
    assert resumed.reused == first.generated
    assert solver.calls == 4
