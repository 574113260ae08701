"""The GSM8K task end to end with a scripted model: prompt, few-shot, scores, epochs."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalLog

from cogumi_eval.data import load_gsm8k
from cogumi_eval.tasks import gsm8k
from cogumi_eval.tasks.gsm8k import fewshot_block
from cogumi_eval.testing import scripted_model


def _run(tmp_path: Path, respond, **options: object) -> EvalLog:  # type: ignore[no-untyped-def]
    limit = options.pop("limit", 3)
    epochs = options.pop("epochs", 1)
    [log] = inspect_eval(
        gsm8k(**options),
        model=scripted_model(respond),
        limit=limit,
        epochs=epochs,
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    assert log.status == "success", log.error
    return log


def test_correct_final_answer_scores_correct_with_normalised_answer(tmp_path: Path) -> None:
    answers = {
        "Janet": "She makes $18.00.\nANSWER: $18.00",
        "robe": "ANSWER: 3",
        "Josh": "ANSWER: 1",
    }

    def respond(prompt: str) -> str:
        return next(text for key, text in answers.items() if key in prompt)

    log = _run(tmp_path, respond)
    scores = {s.id: s.scores["final_number"] for s in log.samples or []}
    assert scores["test-0000"].value == "C" and scores["test-0000"].answer == "18"
    assert scores["test-0001"].value == "C" and scores["test-0001"].metadata == {
        "rule": "answer",
        "extracted_from": "3",
    }
    assert scores["test-0002"].value == "I" and scores["test-0002"].answer == "1"
    assert log.results is not None
    assert log.results.scores[0].metrics["accuracy"].value == 2 / 3


def test_empty_answer_is_incorrect_and_says_empty(tmp_path: Path) -> None:
    log = _run(tmp_path, lambda prompt: "", limit=1)
    score = (log.samples or [])[0].scores["final_number"]
    assert score.value == "I" and score.answer is None
    assert "empty" in (score.explanation or "")


def test_three_epochs_give_three_scored_epochs_per_sample(tmp_path: Path) -> None:
    log = _run(tmp_path, lambda prompt: "ANSWER: 7", limit=2, epochs=3)
    seen = sorted((s.id, s.epoch, s.scores["final_number"].answer) for s in log.samples or [])
    assert seen == [(i, e, "7") for i in ("test-0000", "test-0001") for e in (1, 2, 3)]


def test_epochs_report_consistency_and_a_single_epoch_leaves_it_undefined(tmp_path: Path) -> None:
    robe = iter(["ANSWER: 3", "ANSWER: 4", "ANSWER: 3"])  # target 3: split answers, majority right

    def respond(prompt: str) -> str:
        return "ANSWER: 18" if "Janet" in prompt else next(robe)

    log = _run(tmp_path / "three", respond, limit=2, epochs=3)
    # unreduced metrics are a second score entry of the same scorer (reducer None)
    metrics = {n: m.value for s in log.results.scores for n, m in s.metrics.items()}  # type: ignore[union-attr]
    assert metrics["consistency"] == pytest.approx(1 / 2)
    assert metrics["agreement"] == pytest.approx((1 + 1 / 3) / 2)
    assert metrics["majority_accuracy"] == pytest.approx(1.0)
    assert metrics["accuracy"] == pytest.approx((1 + 2 / 3) / 2)
    single = _run(tmp_path / "one", lambda prompt: "ANSWER: 18", limit=2)
    single_metrics = {n: m.value for s in single.results.scores for n, m in s.metrics.items()}  # type: ignore[union-attr]
    assert math.isnan(single_metrics["consistency"])


def test_prompt_asks_for_answer_line_and_contains_the_question(tmp_path: Path) -> None:
    prompts: list[str] = []
    _run(tmp_path, lambda prompt: prompts.append(prompt) or "ANSWER: 1", limit=1)
    assert "ANSWER: $ANSWER" in prompts[0]
    assert prompts[0].rstrip().endswith(load_gsm8k("test")[0].question)


def test_fewshot_exemplars_are_seeded_and_stripped_of_calculator_marks(tmp_path: Path) -> None:
    train = load_gsm8k("train").records
    block = fewshot_block(train, 4, seed=7)
    assert block == fewshot_block(train, 4, seed=7)
    assert block != fewshot_block(train, 4, seed=8)
    assert block.count("ANSWER:") == 4 and "<<" not in block
    prompts: list[str] = []
    _run(
        tmp_path,
        lambda prompt: prompts.append(prompt) or "ANSWER: 1",
        limit=1,
        fewshot=4,
        fewshot_seed=7,
    )
    assert block in prompts[0]


def test_sample_ids_and_targets_are_stable(tmp_path: Path) -> None:
    first = _run(tmp_path / "a", lambda prompt: "ANSWER: 0", limit=3)
    second = _run(tmp_path / "b", lambda prompt: "ANSWER: 0", limit=3)
    ids = [(s.id, s.target) for s in first.samples or []]
    assert ids == [(s.id, s.target) for s in second.samples or []]
    assert ids[0] == ("test-0000", "18")


def test_task_metadata_records_data_source_and_options(tmp_path: Path, data_dir: Path) -> None:
    log = _run(tmp_path, lambda prompt: "ANSWER: 0", limit=1, fewshot=2)
    meta = log.eval.metadata or {}
    assert meta["benchmark"] == "gsm8k" and meta["records"] == 1319
    assert meta["data_source"] == f"local:{data_dir}"
    assert meta["fewshot"] == 2 and meta["skipped_records"] == []


def test_plain_mockllm_runs_offline_without_tiktoken_download(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # An empty tiktoken cache forces the download path, which has no network here or in CI.
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken"))
    [log] = inspect_eval(
        gsm8k(), model="mockllm/model", limit=2, log_dir=str(tmp_path / "logs"), display="none"
    )
    assert log.status == "success", log.error
    assert len(log.samples or []) == 2


def _mockllm_patched_after_loading_cogumi(switch: str | None) -> bool:
    env = {k: v for k, v in os.environ.items() if k != "COGUMI_MOCKLLM_OFFLINE"}
    if switch is not None:
        env["COGUMI_MOCKLLM_OFFLINE"] = switch
    code = (
        "from inspect_ai._util.entrypoints import ensure_entry_points; ensure_entry_points()\n"
        "import sys; assert 'cogumi._registry' in sys.modules\n"
        "from inspect_ai.model import ModelAPI\n"
        "from inspect_ai.model._providers.mockllm import MockLLM\n"
        "print(MockLLM.count_text_tokens is not ModelAPI.count_text_tokens)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1] == "True"


def test_loading_cogumi_through_inspects_entry_point_leaves_mockllm_alone() -> None:
    assert _mockllm_patched_after_loading_cogumi(None) is False


def test_the_offline_mockllm_switch_turns_the_fallback_on() -> None:
    assert _mockllm_patched_after_loading_cogumi("1") is True
