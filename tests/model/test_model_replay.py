"""The replay backend: recorded answers served back by sample id, epoch or input; never an
empty answer."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import MemoryDataset
from inspect_ai.model import ChatMessageUser, get_model

from cogumi_eval import gsm8k
from cogumi_eval.model import ReplayError, read_lineage
from cogumi_eval.testing import scripted_model

SOLUTIONS = ("175b_verification", "175b_finetuning", "6b_verification", "6b_finetuning")
FAST = {
    "log_samples": False,
    "log_realtime": False,
    "score_display": False,
    "log_model_api": False,
    "display": "none",
}


def test_gsm8k_scorer_agrees_with_every_recorded_is_correct_label(data_dir: Path) -> None:
    source = data_dir / "gsm8k" / "example_model_solutions.jsonl"
    records = [json.loads(line) for line in source.read_text().splitlines()]
    models = [
        get_model(
            f"cogumi/{name}",
            backend="replay",
            source=str(source),
            input="question",
            response=f"{name}.solution",
        )
        for name in SOLUTIONS
    ]
    logs = eval(gsm8k(), model=models, max_samples=len(records), **FAST)

    for name, log in zip(SOLUTIONS, logs, strict=False):
        assert log.status == "success"
        [reduction] = log.reductions
        scored = {s.sample_id: s.value == 1.0 for s in reduction.samples}
        labels = {f"test-{i:04d}": r[name]["is_correct"] for i, r in enumerate(records)}
        disagreements = [i for i in labels if scored[i] != labels[i]]
        assert (len(scored), disagreements) == (1319, []), name


def test_readme_replay_resolves_a_source_relative_to_the_shell(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PWD", str(data_dir))
    log = eval(
        gsm8k(),
        model="cogumi/replay",
        model_args={
            "source": "gsm8k/example_model_solutions.jsonl",
            "input": "question",
            "response": "175b_verification.solution",
        },
        limit=4,
        display="none",
    )[0]

    assert log.status == "success"
    assert [s.output.completion.splitlines()[-1] for s in log.samples][:1] == ["A: 18"]
    assert all(s.output.usage.output_tokens > 0 for s in log.samples)
    lineage = read_lineage(log)
    assert lineage["kind"] == "replay"
    assert lineage["replay"]["response"] == "175b_verification.solution"
    assert lineage["replay"]["source"] == str(data_dir / "gsm8k" / "example_model_solutions.jsonl")


def _answers(seed_text: str) -> object:
    # different answers per question so a mismatched replay would show
    return lambda prompt: f"{seed_text} ANSWER: {len(prompt) % 7}"


def test_replaying_a_log_reproduces_its_scores_exactly(tmp_path: Path) -> None:
    recorded = eval(
        gsm8k(),
        model=scripted_model(_answers("first")),
        limit=4,
        epochs=2,
        log_dir=str(tmp_path),
        display="none",
    )[0]
    replayed = eval(
        gsm8k(),
        model=get_model("cogumi/replay", source=recorded.location),
        limit=4,
        epochs=2,
        display="none",
    )[0]

    def scores(log):
        return {
            (s.id, s.epoch): (
                s.scores["final_number"].value,
                s.scores["final_number"].answer,
                s.output.completion,
            )
            for s in log.samples
        }

    assert replayed.status == "success"
    assert scores(replayed) == scores(recorded)
    assert replayed.results.scores[0].metrics == recorded.results.scores[0].metrics
    assert read_lineage(replayed)["replay"]["recorded_model"] == "mockllm/model"


def test_a_log_replays_by_input_when_sample_ids_differ(tmp_path: Path) -> None:
    recorded = eval(
        gsm8k(),
        model=scripted_model(_answers("second")),
        limit=3,
        log_dir=str(tmp_path),
        display="none",
    )[0]
    task = gsm8k()
    renamed = [
        s.model_copy(update={"id": f"renamed-{i}"}) for i, s in enumerate(list(task.dataset)[:3])
    ]
    relabelled = Task(dataset=MemoryDataset(renamed), solver=task.solver, scorer=task.scorer)
    replayed = eval(
        relabelled, model=get_model("cogumi/replay", source=recorded.location), display="none"
    )[0]

    assert replayed.status == "success"
    assert [s.output.completion for s in replayed.samples] == [
        s.output.completion for s in recorded.samples
    ]
    assert {s.output.metadata["replay"]["matched_by"] for s in replayed.samples} == {"input hash"}


def test_a_sample_without_recording_is_an_error_naming_it(tmp_path: Path) -> None:
    recorded = eval(
        gsm8k(),
        model=scripted_model(_answers("third")),
        limit=2,
        log_dir=str(tmp_path),
        display="none",
    )[0]
    replayed = eval(
        gsm8k(), model=get_model("cogumi/replay", source=recorded.location), limit=3, display="none"
    )[0]

    assert replayed.status == "error"
    assert "test-0002" in replayed.error.message
    assert "no recording" in replayed.error.message


def test_an_epoch_beyond_the_recording_is_an_error(tmp_path: Path) -> None:
    recorded = eval(
        gsm8k(),
        model=scripted_model(_answers("fourth")),
        limit=1,
        log_dir=str(tmp_path),
        display="none",
    )[0]
    replayed = eval(
        gsm8k(),
        model=get_model("cogumi/replay", source=recorded.location),
        limit=1,
        epochs=2,
        display="none",
    )[0]

    assert replayed.status == "error"
    assert "epoch 2" in replayed.error.message and "recorded epochs [1]" in replayed.error.message


def test_jsonl_without_response_field_lists_the_fields(data_dir: Path) -> None:
    source = data_dir / "gsm8k" / "example_model_solutions.jsonl"
    with pytest.raises(ReplayError, match=r"-M response=.*175b_verification\.solution"):
        get_model("cogumi/replay", source=str(source), input="question", memoize=False)


def test_jsonl_with_a_wrong_field_lists_the_fields(data_dir: Path) -> None:
    source = data_dir / "gsm8k" / "example_model_solutions.jsonl"
    with pytest.raises(
        ReplayError, match=r"175b_verify\.solution is not a field.*6b_finetuning\.is_correct"
    ):
        get_model(
            "cogumi/replay",
            source=str(source),
            input="question",
            response="175b_verify.solution",
            memoize=False,
        )


def test_missing_source_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="nowhere.jsonl"):
        get_model("cogumi/replay", source=str(tmp_path / "nowhere.jsonl"), memoize=False)


def test_outside_an_eval_the_question_is_found_inside_the_prompt(data_dir: Path) -> None:
    source = data_dir / "gsm8k" / "example_model_solutions.jsonl"
    first = json.loads(source.read_text().splitlines()[0])
    model = get_model(
        "cogumi/replay",
        source=str(source),
        input="question",
        response="6b_finetuning.solution",
        memoize=False,
    )
    prompt = f"Solve this.\n\nQuestion: {first['question']}"
    output = asyncio.run(model.generate([ChatMessageUser(content=prompt)]))

    assert output.completion == first["6b_finetuning"]["solution"]


def test_tool_calls_are_refused_rather_than_ignored(data_dir: Path) -> None:
    from inspect_ai.tool import ToolInfo, ToolParams

    from cogumi_eval.model import ModelError

    model = get_model(
        "cogumi/replay",
        source=str(data_dir / "gsm8k" / "example_model_solutions.jsonl"),
        input="question",
        response="6b_finetuning.solution",
        memoize=False,
    )
    tool = ToolInfo(name="calculator", description="adds", parameters=ToolParams())
    with pytest.raises(ModelError, match="does not support tool calls"):
        asyncio.run(model.generate([ChatMessageUser(content="2+2?")], tools=[tool]))
