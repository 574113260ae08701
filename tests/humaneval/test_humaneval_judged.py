"""HumanEval with `-T judge=pairwise`: the test outcome and the verdict, across epochs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ChatMessage, GenerateConfig, ModelOutput, get_model

from cogumi_eval.data import load_humaneval
from cogumi_eval.judge import build_baselines
from cogumi_eval.tasks import humaneval
from cogumi_eval.testing import model_output, scripted_model

BASELINE = "mockllm/gpt-4-turbo"


def _canonical(prompt: str) -> str:
    problem = next(p for p in load_humaneval() if p.prompt.strip() in prompt)
    return f"```python\n{problem.prompt}{problem.canonical_solution}```"


def _broken(prompt: str) -> str:
    problem = next(p for p in load_humaneval() if p.prompt.strip() in prompt)
    return f"```python\n{problem.prompt}    raise NotImplementedError\n```"


def _grader_prefers_working_code() -> object:
    def respond(
        messages: list[ChatMessage], tools: object, tool_choice: object, config: GenerateConfig
    ) -> ModelOutput:
        text = next((m.text for m in reversed(messages) if m.role == "user"), "")
        answers = dict(
            re.findall(r"(?:Solution|Answer|Completion) ([AB]):\n<<<\n(.*?)\n>>>", text, re.S)
        )
        if len(answers) < 2:
            return model_output("OK", "mockllm/judge")  # the grader-version probe
        broken = {label: "NotImplementedError" in body for label, body in answers.items()}
        if broken["A"] == broken["B"]:
            return model_output("[[C]]", "mockllm/judge")
        return model_output("[[B]]" if broken["A"] else "[[A]]", "mockllm/judge")

    return get_model("mockllm/judge", custom_outputs=respond, memoize=False)


@pytest.fixture
def baseline_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = tmp_path / "baselines"
    monkeypatch.setenv("COGUMI_BASELINES_DIR", str(store))
    build_baselines(
        humaneval(),
        scripted_model(_canonical, name=BASELINE),
        limit=2,
        store=store,
        log_dir=str(tmp_path / "baseline-logs"),
    )
    return store


def test_judged_humaneval_scores_outcome_and_verdict_over_epochs(
    baseline_store: Path, tmp_path: Path
) -> None:
    [log] = inspect_eval(
        humaneval(judge="pairwise", baseline=BASELINE, epochs=2, k=1),
        model=scripted_model(_broken),
        model_roles={"grader": _grader_prefers_working_code()},
        limit=2,
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    assert log.status == "success", log.error
    samples = log.samples or []
    assert len(samples) == 4
    for sample in samples:
        assert sample.scores["humaneval_tests"].answer == "exception"
        assert sample.scores["pairwise"].answer == "loss"
    metrics = {(s.name, n): m.value for s in log.results.scores for n, m in s.metrics.items()}  # type: ignore[union-attr]
    assert metrics[("humaneval_tests", "accuracy")] == 0.0
    assert metrics[("humaneval_tests", "consistency")] == 1.0
