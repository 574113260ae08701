"""Judging finished logs: ``judge_log`` (post hoc) and objective pairwise from two logs."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import eval
from inspect_ai.log import EvalLog, read_eval_log

from cogumi_eval.judge import BaselineMissingError, build_baselines, judge_log, objective_pairwise
from cogumi_eval.tasks import gsm8k

BASELINE = "mockllm/gpt-4-turbo"
FAIR = ["tie", "loss", "win", "tie"]


@pytest.fixture(scope="module")
def runs(
    scripted_solver: Any, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """A built store plus the baseline's build log and a candidate log, made once for the module."""
    folder = tmp_path_factory.mktemp("runs")
    base = scripted_solver(lambda i: i in (0, 1), name=BASELINE)
    (build,) = build_baselines(
        gsm8k(data_dir=str(data_dir)),
        base.model(),
        limit=4,
        store=folder / "store",
        log_dir=str(folder / "logs"),
    )
    cand = scripted_solver(lambda i: i in (0, 2), style="Here is my solution.")
    (candidate,) = eval(
        gsm8k(data_dir=str(data_dir)),
        model=cand.model(),
        limit=4,
        log_dir=str(folder / "logs"),
        display="none",
    )
    return {
        "store": folder / "store",
        "baseline_log": build.log,
        "candidate_log": candidate.location,
    }


def _answers(log: EvalLog) -> list[str]:
    return [s.scores["pairwise"].answer for s in log.samples]  # type: ignore[index, union-attr, misc]


def test_judging_a_log_adds_the_pairwise_score(
    runs: dict[str, Any], scripted_grader: Callable[..., Any], fair_rule: Any, tmp_path: Path
) -> None:
    result = judge_log(
        runs["candidate_log"],
        runs["store"],
        grader=scripted_grader(fair_rule).model(),
        output=tmp_path / "judged.eval",
    )
    written = read_eval_log(result.output)
    assert _answers(written) == FAIR
    assert [s.scores["final_number"].value for s in written.samples] == ["C", "I", "C", "I"]  # type: ignore[index, union-attr]


def test_judging_again_replaces_the_score_and_asks_nothing(
    runs: dict[str, Any], scripted_grader: Callable[..., Any], fair_rule: Any, tmp_path: Path
) -> None:
    grader = scripted_grader(fair_rule)
    first = judge_log(
        runs["candidate_log"], runs["store"], grader=grader.model(), output=tmp_path / "a.eval"
    )
    calls = grader.calls
    again = judge_log(
        first.output, runs["store"], grader=grader.model(), output=tmp_path / "b.eval"
    )
    assert grader.calls == calls
    assert sorted(read_eval_log(again.output).samples[0].scores) == ["final_number", "pairwise"]  # type: ignore[arg-type]


def test_the_baseline_can_be_the_baseline_models_own_log(
    runs: dict[str, Any], scripted_grader: Callable[..., Any], fair_rule: Any, tmp_path: Path
) -> None:
    result = judge_log(
        runs["candidate_log"],
        runs["baseline_log"],
        grader=scripted_grader(fair_rule).model(),
        output=tmp_path / "judged.eval",
    )
    assert _answers(result.log) == FAIR


def test_missing_baselines_stop_before_any_grader_call(
    runs: dict[str, Any], scripted_grader: Callable[..., Any], fair_rule: Any, tmp_path: Path
) -> None:
    grader = scripted_grader(fair_rule)
    partial = tmp_path / "partial"
    shutil.copytree(runs["store"], partial)
    path = next(partial.rglob("*.jsonl"))
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:2]))
    with pytest.raises(BaselineMissingError, match="2 of 4 samples have no usable baseline"):
        judge_log(runs["candidate_log"], partial, grader=grader.model(), output=tmp_path / "x.eval")
    assert grader.calls == 0 and grader.probes == 0


def test_allow_missing_judges_the_rest_and_counts_the_missing(
    runs: dict[str, Any], scripted_grader: Callable[..., Any], fair_rule: Any, tmp_path: Path
) -> None:
    partial = tmp_path / "partial"
    shutil.copytree(runs["store"], partial)
    path = next(partial.rglob("*.jsonl"))
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:2]))
    result = judge_log(
        runs["candidate_log"],
        partial,
        grader=scripted_grader(fair_rule).model(),
        allow_missing=True,
        output=tmp_path / "x.eval",
    )
    assert _answers(result.log) == ["tie", "loss", "error", "error"]
    assert result.missing_baseline == 2 and result.stats["missing_baseline"] == 2


def test_objective_pairwise_compares_correctness_sample_by_sample(runs: dict[str, Any]) -> None:
    result = objective_pairwise(runs["candidate_log"], runs["baseline_log"])
    assert result.scorer == "final_number"
    assert [o.outcome for o in result.outcomes] == FAIR


def test_objective_pairing_drops_the_registry_prefix_and_counts_unpaired_epochs(
    runs: dict[str, Any], scripted_solver: Any, tmp_path: Path
) -> None:
    cand = scripted_solver(lambda i: True)
    (two_epochs,) = eval(gsm8k(), model=cand.model(), limit=4, epochs=2, display="none")
    two_epochs.eval.task = "cogumi/gsm8k"
    result = objective_pairwise(two_epochs, runs["baseline_log"])
    assert [o.outcome for o in result.outcomes] == ["tie", "tie", "win", "win"]
    assert len(result.candidate_only) == 4  # epoch 2 has no baseline epoch 2
