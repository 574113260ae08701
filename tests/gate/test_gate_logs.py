"""Reading runs: the stored-summaries path gives exactly what Inspect's public reader gives."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cogumi_eval.gate._logs import _public_summaries, _stored_summaries, read_run_log, task_name


def test_stored_summaries_equal_inspects_public_reader(gate_logs: Callable[..., Path]) -> None:
    responses = {
        f"q-{i}": ["ANSWER: 1\nVERDICT: tie", "ANSWER: 2\nVERDICT: loss"] for i in range(6)
    }
    path = gate_logs(
        "read-both-ways",
        "gsm8k",
        responses,
        scorers=("final_number", "pairwise"),
        epochs=2,
        fail={"q-4"},
    )
    stored = _stored_summaries(str(path))
    assert stored is not None
    assert sorted(stored) == sorted(_public_summaries(str(path)))
    errored = [s for s in stored if s.error]
    assert {s.id for s in errored} == {"q-4"} and len(errored) == 2


def test_a_run_log_keeps_every_sample_epoch_and_scorer(gate_logs: Callable[..., Path]) -> None:
    responses = {
        f"q-{i}": ["ANSWER: 1\nVERDICT: tie", "ANSWER: 2\nVERDICT: loss"] for i in range(6)
    }
    path = gate_logs(
        "read-both-ways",
        "gsm8k",
        responses,
        scorers=("final_number", "pairwise"),
        epochs=2,
        fail={"q-4"},
    )
    run = read_run_log(path)
    assert (run.task, run.epochs, len(run.keys), run.errored) == ("gsm8k", 2, 12, 2)
    assert set(run.scores) == {"final_number", "pairwise"}
    assert run.log_metrics["pairwise"]["tie/mean"] == 0.5


def test_json_logs_are_read_through_the_public_reader(
    gate_logs: Callable[..., Path], tmp_path: Path
) -> None:
    from inspect_ai.log import read_eval_log, write_eval_log

    path = gate_logs("read-both-ways-json", "gsm8k", {"q-0": ["ANSWER: 1"], "q-1": ["ANSWER: 0"]})
    json_path = tmp_path / "log.json"
    write_eval_log(read_eval_log(str(path)), str(json_path))
    assert _stored_summaries(str(json_path)) is None
    run = read_run_log(json_path)
    assert [k.id for k in run.keys] == ["q-0", "q-1"]
    assert [s.value for s in run.scores["final_number"] if s is not None] == ["C", "I"]


def test_registry_prefix_is_dropped_from_task_names() -> None:
    assert task_name("cogumi/gsm8k") == "gsm8k" and task_name("mmlu") == "mmlu"


def test_the_installed_package_prefix_is_dropped_from_task_names() -> None:
    # a factory called from Python with Cogumi installed non-editable logs "cogumi_eval/gsm8k"
    assert task_name("cogumi_eval/gsm8k") == "gsm8k" and task_name("my_pkg/gsm8k") == "my_pkg/gsm8k"
