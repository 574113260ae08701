"""The MMLU task end to end with a scripted model: prompt, few-shot, subject filter, metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalLog

from cogumi_eval.data import DataError, load_mmlu
from cogumi_eval.tasks import mmlu
from cogumi_eval.testing import scripted_model

SUBJECTS = ["abstract_algebra", "anatomy"]


def _run(tmp_path: Path, respond, **options: object) -> EvalLog:  # type: ignore[no-untyped-def]
    limit = options.pop("limit", None)
    [log] = inspect_eval(
        mmlu(**options),
        model=scripted_model(respond),
        log_dir=str(tmp_path / "logs"),
        display="none",
        limit=limit,
    )
    assert log.status == "success", log.error
    return log


def _algebra_right_anatomy_always_a(prompt: str) -> str:
    if "about abstract algebra" in prompt:
        question = prompt.rsplit("Question: ", 1)[1].split("\nA) ", 1)[0]
        answer = next(
            r.answer
            for r in load_mmlu("val", subjects=["abstract_algebra"])
            if r.question == question
        )
        return f"Working...\nANSWER: {answer}"
    return "ANSWER: A"


def test_metrics_are_micro_macro_and_per_subject(tmp_path: Path) -> None:
    log = _run(tmp_path, _algebra_right_anatomy_always_a, subjects=SUBJECTS, split="val")
    records = load_mmlu("val", subjects=SUBJECTS)
    anatomy = [r for r in records if r.subject == "anatomy"]
    anatomy_accuracy = sum(r.answer == "A" for r in anatomy) / len(anatomy)
    algebra_count = len(records) - len(anatomy)
    metrics = {name: m.value for name, m in log.results.scores[0].metrics.items()}  # type: ignore[union-attr]
    assert metrics["abstract_algebra"] == 1.0
    assert metrics["anatomy"] == pytest.approx(anatomy_accuracy)
    assert metrics["macro_accuracy"] == pytest.approx((1.0 + anatomy_accuracy) / 2)
    micro = (algebra_count + anatomy_accuracy * len(anatomy)) / len(records)
    assert metrics["accuracy"] == pytest.approx(micro)
    assert metrics["stderr"] > 0


def test_samples_carry_subject_letter_answer_and_stable_ids(tmp_path: Path) -> None:
    log = _run(
        tmp_path, lambda prompt: "I think it is (B).", subjects=["anatomy"], split="val", limit=2
    )
    samples = log.samples or []
    assert [s.id for s in samples] == ["anatomy-val-0000", "anatomy-val-0001"]
    assert all(s.metadata["subject"] == "anatomy" for s in samples)
    assert all(s.scores["choice_letter"].answer == "B" for s in samples)
    assert all(s.scores["choice_letter"].metadata == {"rule": "marked"} for s in samples)


def test_five_shot_prompt_holds_the_subjects_dev_exemplars(tmp_path: Path) -> None:
    prompts: list[str] = []
    _run(
        tmp_path,
        lambda p: prompts.append(p) or "ANSWER: A",
        subjects=["virology"],
        fewshot=5,
        limit=1,
    )
    dev = load_mmlu("dev", subjects=["virology"])
    prompt = prompts[0]
    assert "about virology" in prompt and prompt.count("ANSWER: ") == 5 + 1  # + the instruction
    assert all(record.question in prompt for record in dev)
    assert prompt.rstrip().endswith(load_mmlu("test", subjects=["virology"])[0].choices[3])


def test_zero_shot_prompt_has_no_exemplars(tmp_path: Path) -> None:
    prompts: list[str] = []
    _run(tmp_path, lambda p: prompts.append(p) or "ANSWER: A", subjects=["virology"], limit=1)
    assert prompts[0].count("ANSWER: ") == 1


def test_empty_answer_is_incorrect_and_says_empty(tmp_path: Path) -> None:
    log = _run(tmp_path, lambda p: "", subjects=["virology"], limit=1)
    score = (log.samples or [])[0].scores["choice_letter"]
    assert score.value == "I" and score.answer is None and "empty" in (score.explanation or "")


def test_unknown_subject_fails_when_the_task_is_built() -> None:
    with pytest.raises(DataError, match="unknown MMLU subject 'virologyy'"):
        mmlu(subjects="virologyy")


def test_subjects_accepts_a_comma_separated_string(tmp_path: Path) -> None:
    log = _run(tmp_path, lambda p: "A", subjects="virology,anatomy", split="val")
    assert {s.metadata["subject"] for s in log.samples or []} == {"virology", "anatomy"}
