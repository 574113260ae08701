"""The pairwise scorer in a task run, with scripted mockllm graders that read the judge prompt.

Baselines for the first 4 GSM8K problems: right on problems 0 and 1, wrong on 2 and 3.
The candidate is right on 0 and 2. A fair grader therefore gives tie, loss, win, tie.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import eval
from inspect_ai.log import EvalLog

from cogumi_eval.judge import build_baselines, cohen_kappa, judges_dir
from cogumi_eval.tasks import gsm8k

BASELINE = "mockllm/gpt-4-turbo"
FAIR = ["tie", "loss", "win", "tie"]


@pytest.fixture(scope="module")
def built_store(
    scripted_solver: Any, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Any]:
    """Built once per module (the build itself is tested in test_judge_build.py)."""
    folder = tmp_path_factory.mktemp("built")
    solver = scripted_solver(lambda i: i in (0, 1), name=BASELINE)
    build_baselines(
        gsm8k(data_dir=str(data_dir)),
        solver.model(),
        limit=4,
        store=folder / "store",
        log_dir=str(folder / "logs"),
    )
    return folder / "store", solver


@pytest.fixture
def baselines(built_store: tuple[Path, Any], _baselines_dir: Path) -> Any:
    shutil.copytree(built_store[0], _baselines_dir)
    return built_store[1]


@pytest.fixture
def candidate(scripted_solver: Any) -> Any:
    # worded unlike the baseline, so no judge prompt shows two identical answers
    return scripted_solver(lambda i: i in (0, 2), style="Here is my solution.")


def judged(candidate: Any, grader: Any, limit: int = 4, **options: Any) -> EvalLog:
    task_args = {"judge": "pairwise", "baseline": BASELINE, **options}
    (log,) = eval(
        gsm8k(**task_args),
        model=candidate.model(),
        model_roles={"grader": grader.model()},
        limit=limit,
        display="none",
    )
    return log


def answers(log: EvalLog) -> list[str]:
    return [s.scores["pairwise"].answer for s in log.samples]  # type: ignore[index, union-attr, misc]


def stats(log: EvalLog) -> dict[str, float]:
    assert log.results is not None
    for score in log.results.scores:
        if score.name == "pairwise" and "cache_hits" in score.metrics:
            return {k: m.value for k, m in score.metrics.items()}
    raise AssertionError("no judge_stats in the log")


def test_a_fair_grader_gives_the_candidate_win_tie_and_loss(
    baselines: Any, candidate: Any, scripted_grader: Callable[..., Any], fair_rule: Any
) -> None:
    log = judged(candidate, scripted_grader(fair_rule))
    assert answers(log) == FAIR


def test_each_pair_is_judged_with_the_candidate_shown_first_and_second(
    baselines: Any, candidate: Any, scripted_grader: Callable[..., Any], fair_rule: Any
) -> None:
    grader = scripted_grader(fair_rule)
    judged(candidate, grader, limit=2)
    # problem 1: the baseline is right, the candidate wrong, so the right answer moves A <-> B
    problem_1 = [p for p in grader.prompts if p.final_a != p.final_b]
    first, second = problem_1
    assert (first.answer_a, first.answer_b) == (second.answer_b, second.answer_a)


def test_a_grader_that_always_picks_position_a_gives_inconsistent_ties(
    baselines: Any, candidate: Any, scripted_grader: Callable[..., Any]
) -> None:
    log = judged(candidate, scripted_grader(lambda p: "[[A]]"))
    values = [s.scores["pairwise"].value for s in log.samples]  # type: ignore[index, union-attr, misc]
    assert answers(log) == ["tie"] * 4
    assert all(v["inconsistent"] == 1.0 for v in values)  # type: ignore[index]


def test_an_unparseable_reply_is_asked_once_more(
    baselines: Any, candidate: Any, scripted_grader: Callable[..., Any], fair_rule: Any
) -> None:
    seen: set[str] = set()

    def flaky(prompt: Any) -> str:
        if prompt.text not in seen:
            seen.add(prompt.text)
            return "I think the first one, probably."
        return fair_rule(prompt)

    log = judged(candidate, scripted_grader(flaky))
    # problem 1: the two orders show different prompts (the answers differ)
    calls = log.samples[1].scores["pairwise"].metadata["calls"]  # type: ignore[index, union-attr]
    assert answers(log) == FAIR
    assert [c["attempts"] for c in calls] == [2, 2]


def test_a_reply_unparseable_twice_is_an_error_never_a_tie(
    baselines: Any, candidate: Any, scripted_grader: Callable[..., Any]
) -> None:
    grader = scripted_grader(lambda p: "Both answers have merit.")
    log = judged(candidate, grader, limit=2)
    assert answers(log) == ["error", "error"]
    assert log.samples[0].scores["pairwise"].value["tie"] == 0.0  # type: ignore[index, union-attr]
    assert grader.calls == 2 * 2 * 2  # samples x orders x (ask + one retry)


def test_an_empty_grader_reply_is_an_error(
    baselines: Any, candidate: Any, scripted_grader: Callable[..., Any]
) -> None:
    assert answers(judged(candidate, scripted_grader(lambda p: ""), limit=1)) == ["error"]


def test_a_second_identical_run_asks_nothing_and_agrees(
    baselines: Any,
    candidate: Any,
    scripted_grader: Callable[..., Any],
    fair_rule: Any,
    _baselines_dir: Path,
) -> None:
    grader = scripted_grader(fair_rule)
    first = judged(candidate, grader)
    calls, probes = grader.calls, grader.probes
    store_before = {p: p.read_bytes() for p in _baselines_dir.rglob("*.jsonl")}
    second = judged(candidate, grader)
    assert (grader.calls, grader.probes) == (calls, probes)
    assert baselines.calls == 4  # the baseline model was only ever called by the build
    assert {p: p.read_bytes() for p in _baselines_dir.rglob("*.jsonl")} == store_before
    assert answers(second) == answers(first)
    assert stats(second)["grader_calls"] == 0 and stats(second)["cache_hits"] == 8


def test_a_changed_template_version_misses_the_cache(
    baselines: Any,
    candidate: Any,
    scripted_grader: Callable[..., Any],
    fair_rule: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    grader = scripted_grader(fair_rule)
    judged(candidate, grader)
    bumped = tmp_path / "judges"
    shutil.copytree(judges_dir(), bumped)
    path = bumped / "pairwise-math.toml"
    path.write_text(path.read_text().replace("version = 1", "version = 2"))
    monkeypatch.setenv("COGUMI_JUDGES_DIR", str(bumped))
    log = judged(candidate, grader)
    assert stats(log)["cache_misses"] == 8 and stats(log)["cache_hits"] == 0


def test_a_floating_alias_is_probed_and_a_new_version_reuses_nothing(
    baselines: Any, candidate: Any, scripted_grader: Callable[..., Any], fair_rule: Any
) -> None:
    grader = scripted_grader(fair_rule, name="mockllm/judge-latest", version="judge-2024-01")
    judged(candidate, grader)
    judged(candidate, grader)
    assert (grader.calls, grader.probes) == (8, 2)  # same version: one probe, no verdict calls
    grader.version = "judge-2024-06"
    log = judged(candidate, grader)
    assert stats(log)["cache_hits"] == 0 and grader.calls == 16
    meta = log.samples[0].scores["pairwise"].metadata  # type: ignore[index, union-attr]
    assert (meta["grader"], meta["grader_version"]) == ("mockllm/judge-latest", "judge-2024-06")


def test_the_log_records_grader_version_template_and_cache_use(
    baselines: Any, candidate: Any, scripted_grader: Callable[..., Any], fair_rule: Any
) -> None:
    meta = (
        judged(candidate, scripted_grader(fair_rule), limit=1)
        .samples[0]
        .scores["pairwise"]
        .metadata
    )  # type: ignore[index, union-attr]
    assert (meta["template"], meta["template_version"]) == ("pairwise-math", "1")
    assert meta["grader_version"] == "mockllm/judge"
    assert [c["cache"] for c in meta["calls"]] == ["miss", "miss"]
    assert [c["replies"][0].splitlines()[-1] for c in meta["calls"]] == ["[[C]]", "[[C]]"]


def test_a_sample_without_a_baseline_fails_the_run_with_the_fix(
    baselines: Any, candidate: Any, scripted_grader: Callable[..., Any], fair_rule: Any
) -> None:
    log = judged(candidate, scripted_grader(fair_rule), limit=6)
    assert log.status == "error"
    assert "cogumi baseline build" in log.error.message  # type: ignore[union-attr]


def test_allow_missing_scores_the_missing_samples_error_and_counts_them(
    baselines: Any, candidate: Any, scripted_grader: Callable[..., Any], fair_rule: Any
) -> None:
    log = judged(candidate, scripted_grader(fair_rule), limit=6, allow_missing=True)
    assert answers(log) == [*FAIR, "error", "error"]
    assert stats(log)["missing_baseline"] == 2


def test_a_baseline_answer_for_a_changed_input_is_refused(
    baselines: Any, candidate: Any, scripted_grader: Callable[..., Any], fair_rule: Any
) -> None:
    log = judged(candidate, scripted_grader(fair_rule), limit=2, fewshot=1)
    assert log.status == "error"
    assert "generated for a different input" in log.error.message  # type: ignore[union-attr]


def test_no_baseline_answers_at_all_is_an_error_before_the_run(candidate: Any) -> None:
    from cogumi_eval.judge import BaselineMissingError

    with pytest.raises(BaselineMissingError, match="no baseline answers for gsm8k"):
        gsm8k(judge="pairwise", baseline=BASELINE)


def test_one_order_per_sample_without_swap(
    baselines: Any, candidate: Any, scripted_grader: Callable[..., Any], fair_rule: Any
) -> None:
    grader = scripted_grader(fair_rule)
    log = judged(candidate, grader, judge_swap=False)
    assert grader.calls == 4 and answers(log) == FAIR


def test_repeats_are_separate_cache_entries_and_report_cohens_kappa(
    baselines: Any, candidate: Any, scripted_grader: Callable[..., Any], fair_rule: Any
) -> None:
    asked: dict[str, int] = {}

    def noisy(prompt: Any) -> str:
        asked[prompt.text] = asked.get(prompt.text, 0) + 1
        return fair_rule(prompt) if asked[prompt.text] == 1 else "[[A]]"

    grader = scripted_grader(noisy)
    log = judged(candidate, grader, judge_repeats=2)
    assert grader.calls == 4 * 2 * 2
    calls = [c for s in log.samples for c in s.scores["pairwise"].metadata["calls"]]  # type: ignore[index, union-attr]
    first = [c["verdict"] for c in calls if c["repeat"] == 0]
    second = [c["verdict"] for c in calls if c["repeat"] == 1]
    assert stats(log)["self_kappa"] == pytest.approx(cohen_kappa(first, second))
    assert stats(log)["self_agreement"] == pytest.approx(
        sum(a == b for a, b in zip(first, second, strict=False)) / 8
    )


def test_a_budget_stops_grading_and_a_rerun_resumes_from_the_cache(
    baselines: Any,
    candidate: Any,
    scripted_grader: Callable[..., Any],
    fair_rule: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cogumi_eval.judge import VerdictCache

    prices = tmp_path / "prices.toml"
    # ~$1.5 reserved per call (prompt/3 + 1024 tokens at 1000 $/M); about $0.01 actually spent
    prices.write_text('[models]\n"mockllm/judge" = { input = 1000.0, output = 1000.0 }\n')
    monkeypatch.setenv("COGUMI_PRICES", str(prices))
    grader = scripted_grader(fair_rule)
    stopped = judged(candidate, grader, budget_usd=2.0)
    assert stopped.status == "error" and "budget of $2.00 reached" in stopped.error.message  # type: ignore[union-attr]
    bought = VerdictCache().count()
    resumed = judged(candidate, grader)
    assert answers(resumed) == FAIR
    assert stats(resumed)["cache_hits"] == bought
    assert grader.calls == 8
