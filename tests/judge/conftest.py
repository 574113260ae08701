"""Judge test fixtures: an isolated baseline store, scripted graders that read the judge prompt."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from inspect_ai.model import ChatMessage, GenerateConfig, Model, ModelOutput, get_model

from cogumi_eval.testing import model_output

_SOLUTION = re.compile(r"(?:Solution|Answer|Completion) ([AB]):\n<<<\n(.*?)\n>>>", re.DOTALL)
_FINAL = re.compile(r"ANSWER:\s*(-?[\d.]+)")


@pytest.fixture(autouse=True)
def _baselines_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "baselines"
    monkeypatch.setenv("COGUMI_BASELINES_DIR", str(path))
    monkeypatch.delenv("COGUMI_PRICES", raising=False)
    monkeypatch.delenv("COGUMI_JUDGES_DIR", raising=False)
    return path


@dataclass
class JudgePrompt:
    """What the grader was shown: the two answers and the final numbers they give."""

    text: str
    answer_a: str
    answer_b: str

    @property
    def final_a(self) -> str | None:
        m = _FINAL.search(self.answer_a)
        return m.group(1) if m else None

    @property
    def final_b(self) -> str | None:
        m = _FINAL.search(self.answer_b)
        return m.group(1) if m else None

    @property
    def reference(self) -> str | None:
        m = re.search(r"#### (-?[\d.,]+)", self.text)
        return m.group(1).replace(",", "") if m else None


def parse_judge_prompt(text: str) -> JudgePrompt | None:
    found = {label: body for label, body in _SOLUTION.findall(text)}
    if "A" not in found or "B" not in found:
        return None  # e.g. the version probe
    return JudgePrompt(text, found["A"], found["B"])


@dataclass
class ScriptedGrader:
    """A mockllm grader: ``rule(prompt) -> reply``; counts verdict calls and probe calls."""

    rule: Callable[[JudgePrompt], str]
    name: str = "mockllm/judge"
    version: str | None = None  # what the API reports (None: the name asked for = pinned)
    prompts: list[JudgePrompt] = field(default_factory=list)
    probes: int = 0

    @property
    def calls(self) -> int:
        return len(self.prompts)

    def model(self) -> Model:
        def respond(
            messages: list[ChatMessage], tools: object, tool_choice: object, config: GenerateConfig
        ) -> ModelOutput:
            text = next((m.text for m in reversed(messages) if m.role == "user"), "")
            prompt = parse_judge_prompt(text)
            if prompt is None:
                self.probes += 1
                return model_output("OK", self.version or self.name)
            self.prompts.append(prompt)
            return model_output(self.rule(prompt), self.version or self.name)

        return get_model(self.name, custom_outputs=respond, memoize=False)


def by_correctness(prompt: JudgePrompt) -> str:
    """A fair grader: the answer whose final number matches the reference wins."""
    a_ok = prompt.final_a == prompt.reference
    b_ok = prompt.final_b == prompt.reference
    if a_ok == b_ok:
        return "Both are equally good.\n[[C]]"
    return "A is right.\n[[A]]" if a_ok else "B is right.\n[[B]]"


@pytest.fixture
def scripted_grader() -> Callable[..., ScriptedGrader]:
    return ScriptedGrader


@pytest.fixture
def fair_rule() -> Callable[[JudgePrompt], str]:
    return by_correctness


@dataclass
class Gsm8kItem:
    index: int
    id: str
    question: str
    answer: str


@pytest.fixture(scope="session")
def gsm8k_items(data_dir: Path) -> list[Gsm8kItem]:
    """The first 8 GSM8K test problems with their normalised answers."""
    from cogumi_eval.data import load_gsm8k
    from cogumi_eval.tasks._numeric import normalise_number

    records = load_gsm8k("test", data_dir=str(data_dir)).records[:8]
    return [
        Gsm8kItem(i, r.id, r.question, normalise_number(r.answer) or r.answer)
        for i, r in enumerate(records)
    ]


@dataclass
class ScriptedSolver:
    """A mockllm that answers GSM8K prompts right or wrong by problem index; counts calls."""

    items: list[Gsm8kItem]
    correct: Callable[[int], bool]
    name: str = "mockllm/model"
    style: str = "Working it out step by step."
    calls: int = 0

    def answer(self, prompt: str) -> str:
        self.calls += 1
        for item in self.items:
            if item.question in prompt:
                value = (
                    item.answer if self.correct(item.index) else str(int(float(item.answer)) + 1)
                )
                return f"{self.style}\nANSWER: {value}"
        return "ANSWER: 0"

    def model(self) -> Model:
        from cogumi_eval.testing import scripted_model

        return scripted_model(self.answer, name=self.name)


@pytest.fixture(scope="session")
def scripted_solver(gsm8k_items: list[Gsm8kItem]) -> Callable[..., ScriptedSolver]:
    def make(
        correct: Callable[[int], bool],
        name: str = "mockllm/model",
        style: str = "Working it out step by step.",
    ) -> ScriptedSolver:
        return ScriptedSolver(gsm8k_items, correct, name, style)

    return make
