"""MMLU with `-T judge=pairwise`: the letter score and the verdict against stored baseline
answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ChatMessage, GenerateConfig, ModelOutput, get_model

from cogumi_eval.judge import BaselineMissingError, build_baselines
from cogumi_eval.tasks import mmlu
from cogumi_eval.testing import model_output, scripted_model

BASELINE = "mockllm/gpt-4-turbo"
OPTIONS = {"subjects": ["virology"], "split": "val"}


def _grader_prefers_letter(letter: str):  # type: ignore[no-untyped-def]
    """A grader that prefers whichever answer chose ``letter`` (ties otherwise)."""

    def respond(
        messages: list[ChatMessage], tools: object, tool_choice: object, config: GenerateConfig
    ) -> ModelOutput:
        text = next((m.text for m in reversed(messages) if m.role == "user"), "")
        answers = re.findall(r"(?:Solution|Answer|Completion) ([AB]):\n<<<\n(.*?)\n>>>", text, re.S)
        if len(answers) < 2:
            return model_output("OK", "mockllm/judge")  # the grader-version probe
        chose = {label: f"ANSWER: {letter}" in body for label, body in answers}
        if chose["A"] == chose["B"]:
            return model_output("Equal.\n[[C]]", "mockllm/judge")
        return model_output("[[A]]" if chose["A"] else "[[B]]", "mockllm/judge")

    return get_model("mockllm/judge", custom_outputs=respond, memoize=False)


@pytest.fixture
def baseline_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = tmp_path / "baselines"
    monkeypatch.setenv("COGUMI_BASELINES_DIR", str(store))
    build_baselines(
        mmlu(**OPTIONS),
        scripted_model(lambda prompt: "ANSWER: B", name=BASELINE),
        limit=3,
        store=store,
        log_dir=str(tmp_path / "baseline-logs"),
    )
    return store


def test_judged_mmlu_scores_letter_and_verdict(baseline_store: Path, tmp_path: Path) -> None:
    [log] = inspect_eval(
        mmlu(judge="pairwise", baseline=BASELINE, **OPTIONS),
        model=scripted_model(lambda prompt: "ANSWER: A"),
        model_roles={"grader": _grader_prefers_letter("A")},
        limit=3,
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    assert log.status == "success", log.error
    for sample in log.samples or []:
        assert sample.scores["choice_letter"].answer == "A"
        assert sample.scores["pairwise"].answer == "win"


def test_judged_mmlu_without_baseline_answers_says_to_build_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COGUMI_BASELINES_DIR", str(tmp_path / "empty"))
    with pytest.raises(BaselineMissingError, match="cogumi baseline build"):
        mmlu(judge="pairwise", baseline=BASELINE, **OPTIONS)
