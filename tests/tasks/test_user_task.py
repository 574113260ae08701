"""A user's own task, written outside Cogumi, is gated, judged and analysed with no change to it.

The task reuses Cogumi's GSM8K prompt and ``final_number`` scorer on its own
word problems under its own name; ``cogumi_task`` records the task descriptor
in the log, and gate, judge and analysis read it from there.
"""

from __future__ import annotations

import json
import re
from contextlib import chdir
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import eval
from inspect_ai.log import read_eval_log
from inspect_ai.model import ChatMessage, GenerateConfig, ModelOutput, get_model

from cogumi_eval import analysis
from cogumi_eval.cli import main
from cogumi_eval.judge import build_baselines, judge_log
from cogumi_eval.tasks import GSM8K, METADATA_KEY, TaskDescriptor, task_descriptor
from cogumi_eval.testing import model_output, scripted_model

# (question, answer): 12 problems; the candidate gets the odd ones wrong
PROBLEMS = [
    (f"Ava has {n} apples and buys {n + 3} more. How many apples has she now?", 2 * n + 3)
    for n in range(12)
]

TASK_FILE = """
from inspect_ai import task
from inspect_ai.dataset import Sample
from inspect_ai.solver import generate

from cogumi_eval.tasks import cogumi_task, final_number, gsm8k_prompt

PROBLEMS = {problems!r}


@task
def word_problems(
    judge: str | None = None, baseline: str | None = None, baselines: str | None = None
):
    samples = [
        Sample(
            id=f"wp-{{i:02d}}",
            input=question,
            target=str(answer),
            metadata={{"reference_solution": f"Add them up.\\n#### {{answer}}", "family": "base"}},
        )
        for i, (question, answer) in enumerate(PROBLEMS)
    ]
    return cogumi_task(
        "word_problems",
        dataset=samples,
        solver=[gsm8k_prompt(), generate()],
        scorer=final_number(),
        judge=judge,
        baseline=baseline,
        baselines=baselines,
    )
"""

SPEC = """
[[rule]]
name = "word problems accuracy"
task = "word_problems"
metric = "accuracy"
max_drop = 0.02
"""


def _solver(wrong_odd: bool) -> Any:
    def answer(prompt: str) -> str:
        for index, (question, value) in enumerate(PROBLEMS):
            if question in prompt:
                shown = value + 1 if wrong_odd and index % 2 else value
                return f"Adding step by step.\nANSWER: {shown}"
        return "ANSWER: 0"

    return scripted_model(answer)


def _fair_grader() -> Any:
    """Prefers the solution whose ANSWER matches the reference's '#### N'."""

    def respond(
        messages: list[ChatMessage], tools: Any, tool_choice: Any, config: GenerateConfig
    ) -> ModelOutput:
        text = next((m.text for m in reversed(messages) if m.role == "user"), "")
        reference = re.search(r"#### (\d+)", text)
        answers = re.findall(r"Solution [AB]:\n<<<\n.*?ANSWER: (\d+)\n>>>", text, re.DOTALL)
        if reference is None or len(answers) != 2:
            return model_output("OK", "mockllm/judge")  # the grader's version probe
        a_ok, b_ok = (found == reference.group(1) for found in answers)
        verdict = "[[C]]" if a_ok == b_ok else ("[[A]]" if a_ok else "[[B]]")
        return model_output(f"Checked against the reference.\n{verdict}", "mockllm/judge")

    return get_model("mockllm/judge", custom_outputs=respond, memoize=False)


@pytest.fixture(scope="module")
def user_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The user's task file (outside the repository) run for a good baseline and a worse one."""
    folder = tmp_path_factory.mktemp("user")
    task_file = folder / "word_problems.py"
    task_file.write_text(TASK_FILE.format(problems=PROBLEMS))
    with chdir(folder):
        (baseline,) = eval("word_problems.py", model=_solver(False), log_dir="base", display="none")
        (candidate,) = eval("word_problems.py", model=_solver(True), log_dir="cand", display="none")
    spec = folder / "gate.toml"
    spec.write_text(SPEC)
    return {
        "folder": folder,
        "task_file": task_file,
        "base": baseline.location,
        "cand": candidate.location,
        "spec": spec,
    }


def test_the_log_records_the_descriptor_of_the_scorer_it_reuses(user_runs: dict[str, Any]) -> None:
    header = read_eval_log(user_runs["cand"], header_only=True)
    assert header.eval.task == "word_problems"
    assert TaskDescriptor.from_metadata(header.eval.metadata[METADATA_KEY]) == GSM8K  # type: ignore[index]


def test_the_gate_reads_the_users_task_by_its_name(
    user_runs: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "gate.json"
    status = main(
        [
            "gate",
            "--baseline",
            user_runs["base"],
            "--candidate",
            user_runs["cand"],
            "--spec",
            str(user_runs["spec"]),
            "--json",
            str(out),
        ]
    )
    (rule,) = json.loads(out.read_text())["rules"]
    assert (status, rule["scorer"], rule["verdict"]) == (1, "final_number", "fail")
    assert (rule["baseline"], rule["candidate"]) == (1.0, 0.5)


def test_objective_judging_reads_the_users_scorer(
    user_runs: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["judge", user_runs["cand"], "--objective", "--baseline", user_runs["base"], "--json"]
    )
    result = json.loads(capsys.readouterr().out)
    assert (status, result["task"], result["scorer"], result["paired"]) == (
        0,
        "word_problems",
        "final_number",
        12,
    )
    assert (result["rates"]["tie"], result["rates"]["loss"]) == (0.5, 0.5)


def _judged(user_runs: dict[str, Any], folder: Path) -> Any:
    """The candidate's log judged pairwise against the baseline model's stored answers."""
    store = folder / "baselines"
    with chdir(user_runs["folder"]):
        build_baselines(
            "word_problems.py", _solver(False), store=store, log_dir=str(folder / "logs")
        )
    return judge_log(user_runs["cand"], store, grader=_fair_grader(), output=folder / "judged.eval")


def test_pairwise_judging_uses_the_descriptors_judge_and_reference(
    user_runs: dict[str, Any], tmp_path: Path
) -> None:
    judged = _judged(user_runs, tmp_path)
    assert (judged.rates.rates["tie"], judged.rates.rates["loss"]) == (0.5, 0.5)
    log = read_eval_log(judged.output)
    (scorer,) = [s for s in log.eval.scorers or [] if s.name.endswith("pairwise")]
    assert scorer.options is not None and scorer.options["template"] == "pairwise-math"
    assert scorer.options["reference"] == "metadata:reference_solution"


def test_analysis_reads_correctness_and_verdicts_of_the_users_task(
    user_runs: dict[str, Any], tmp_path: Path
) -> None:
    judged = _judged(user_runs, tmp_path)
    frame = analysis.samples([user_runs["base"], judged.output])
    assert set(frame["task"]) == {"word_problems"} and set(frame["scorer"]) == {"final_number"}
    assert frame.groupby("run")["correct"].mean().sort_values().tolist() == [0.5, 1.0]
    verdicts = frame["verdict"].dropna()
    assert sorted(verdicts.value_counts().items()) == [("loss", 6), ("tie", 6)]
    figure = analysis.plot_verdicts([judged.output])
    assert figure.axes and figure.axes[0].get_title()


def test_a_descriptor_for_another_scorer_names_it(tmp_path: Path) -> None:
    descriptor = TaskDescriptor(scorer="exact_words", answer="text", columns=("family",))
    recorded = {METADATA_KEY: descriptor.to_metadata()}
    assert task_descriptor(recorded, "my_task", ["exact_words"]) == descriptor


def test_old_logs_without_a_descriptor_fall_back_to_the_task_name() -> None:
    assert task_descriptor({}, "cogumi/gsm8k") == GSM8K
    assert task_descriptor(None, "word_problems", ["final_number", "pairwise"]) == GSM8K
    assert task_descriptor(None, "my_task", ["exact_words"]) is None


def test_a_user_scorer_without_a_descriptor_is_refused_with_the_fix() -> None:
    from inspect_ai.scorer import Score, Target, accuracy, scorer

    from cogumi_eval.tasks import cogumi_task

    @scorer(metrics=[accuracy()])
    def exact_words() -> Any:
        async def score(state: Any, target: Target) -> Score:
            return Score(value="C")

        return score

    with pytest.raises(ValueError, match=r"descriptor=TaskDescriptor\(scorer='exact_words'"):
        cogumi_task("mine", dataset=[], solver=[], scorer=exact_words())
