"""Bad input: every case gives a message that names the input and what is there, and exit 2."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cogumi_eval.cli import main
from cogumi_eval.gate import LogError, evaluate_gate

ACCURACY = '[[rule]]\nname = "acc"\ntask = "gsm8k"\nmetric = "accuracy"\nmax_drop = 0.05\n'


def _gate(baseline: Path, candidate: Path, spec: Path) -> int:
    return main(
        [
            "gate",
            "--baseline",
            str(baseline),
            "--candidate",
            str(candidate),
            "--spec",
            str(spec),
            "--quiet",
        ]
    )


def test_a_metric_absent_from_the_logs_is_an_error_listing_what_is_there(
    small_logs: tuple[Path, Path], write_spec: Callable[[str], Path]
) -> None:
    spec = write_spec('[[rule]]\nname = "f1"\ntask = "gsm8k"\nmetric = "f1"\nmin = 0.5\n')
    report = evaluate_gate(*small_logs, spec)
    rule = report.rule("f1")
    assert rule.verdict == "error"
    assert "metric 'f1' is not available" in rule.reason
    assert "accuracy" in rule.reason and "final_number/stderr" in rule.reason
    assert report.exit_code == 2


def test_a_task_absent_from_the_logs_is_an_error_listing_the_tasks(
    small_logs: tuple[Path, Path], write_spec: Callable[[str], Path]
) -> None:
    spec = write_spec('[[rule]]\nname = "m"\ntask = "mmlu"\nmetric = "accuracy"\nmax_drop = 0.01\n')
    rule = evaluate_gate(*small_logs, spec).rule("m")
    assert rule.verdict == "error"
    assert "'mmlu' is in neither log set" in rule.reason and "['gsm8k']" in rule.reason


def test_a_verdict_metric_on_logs_without_judge_scores_names_the_scorers(
    small_logs: tuple[Path, Path], write_spec: Callable[[str], Path]
) -> None:
    spec = write_spec(
        '[[rule]]\nname = "t"\ntask = "gsm8k"\nmetric = "tie_rate"\nmax_drop = 0.05\n'
    )
    rule = evaluate_gate(*small_logs, spec).rule("t")
    assert (
        rule.verdict == "error" and "no 'pairwise' scores; its scorers: final_number" in rule.reason
    )


def test_a_gate_whose_every_rule_is_skipped_is_an_error_not_a_pass(
    small_logs: tuple[Path, Path],
    write_spec: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = write_spec(
        '[[rule]]\nname = "m"\ntask = "mmlu"\nmetric = "accuracy"\n'
        "max_drop = 0.01\nrequired = false\n"
    )
    report = evaluate_gate(*small_logs, spec)
    assert report.rule("m").verdict == "skipped"
    assert report.exit_code == 2 and not report.passed
    assert "nothing was checked" in report.summary() and "['gsm8k']" in report.summary()
    assert _gate(*small_logs, spec) == 2


def test_logs_of_different_tasks_cannot_be_paired(
    gate_logs: Callable[..., Path],
    small_logs: tuple[Path, Path],
    write_spec: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = gate_logs("other-task", "mmlu", {"m-0": ["ANSWER: 1"], "m-1": ["ANSWER: 0"]})
    with pytest.raises(LogError, match=r"task\(s\) \['gsm8k'\].*\['mmlu'\].*no task in common"):
        evaluate_gate(small_logs[0], other, write_spec(ACCURACY))
    assert _gate(small_logs[0], other, write_spec(ACCURACY)) == 2
    assert "no task in common" in capsys.readouterr().err


@pytest.fixture(scope="module")
def errored_logs(gate_logs: Callable[..., Path]) -> tuple[Path, Path]:
    responses = {f"q-{i:03d}": ["ANSWER: 1"] for i in range(40)}
    baseline = gate_logs("errored-baseline", "gsm8k", responses)
    candidate = gate_logs("errored-candidate", "gsm8k", responses, fail={"q-003", "q-017"})
    return baseline, candidate


def test_errored_samples_are_counted_and_shown_never_dropped_silently(
    errored_logs: tuple[Path, Path], write_spec: Callable[[str], Path]
) -> None:
    report = evaluate_gate(*errored_logs, write_spec(ACCURACY + "max_error_rate = 0.1\n"))
    rule = report.rule("acc")
    assert rule.n == 38
    assert rule.exclusions["errored_candidate"] == 2 and rule.exclusions["errored_baseline"] == 0
    assert "errored 0/2" in rule.row()
    assert report.candidate[0]["errored_samples"] == 2


def test_errored_samples_beyond_the_allowed_rate_make_the_rule_an_error(
    errored_logs: tuple[Path, Path], write_spec: Callable[[str], Path]
) -> None:
    rule = evaluate_gate(*errored_logs, write_spec(ACCURACY + "max_error_rate = 0.02\n")).rule(
        "acc"
    )
    assert rule.verdict == "error"
    assert "2 of 40 candidate samples errored" in rule.reason and "eval-retry" in rule.reason


def test_an_empty_folder_is_an_error(
    tmp_path: Path,
    small_logs: tuple[Path, Path],
    write_spec: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _gate(empty, small_logs[1], write_spec(ACCURACY)) == 2
    assert "baseline folder" in capsys.readouterr().err


def test_an_unreadable_log_is_an_error_naming_the_file(
    tmp_path: Path, small_logs: tuple[Path, Path], write_spec: Callable[[str], Path]
) -> None:
    broken = tmp_path / "broken.eval"
    broken.write_bytes(b"this is not a zip archive")
    with pytest.raises(LogError, match=r"cannot read eval log .*broken\.eval"):
        evaluate_gate(small_logs[0], broken, write_spec(ACCURACY))


def test_a_missing_path_is_an_error(
    tmp_path: Path, small_logs: tuple[Path, Path], write_spec: Callable[[str], Path]
) -> None:
    with pytest.raises(LogError, match="candidate .*nope does not exist"):
        evaluate_gate(small_logs[0], tmp_path / "nope", write_spec(ACCURACY))


def test_a_folder_with_two_logs_of_one_task_asks_for_the_file(
    tmp_path: Path, small_logs: tuple[Path, Path], write_spec: Callable[[str], Path]
) -> None:
    folder = tmp_path / "two"
    folder.mkdir()
    shutil.copy(small_logs[0], folder / "a.eval")
    shutil.copy(small_logs[1], folder / "b.eval")
    with pytest.raises(LogError, match="2 logs of task 'gsm8k'"):
        evaluate_gate(folder, small_logs[1], write_spec(ACCURACY))


def test_a_folder_with_one_log_per_task_works(
    tmp_path: Path, small_logs: tuple[Path, Path], write_spec: Callable[[str], Path]
) -> None:
    folder = tmp_path / "run"
    (folder / "nested").mkdir(parents=True)
    shutil.copy(small_logs[1], folder / "nested" / "candidate.eval")
    assert evaluate_gate(small_logs[0], folder, write_spec(ACCURACY)).rule("acc").n == 50


def test_a_bad_spec_exits_2_with_its_message(
    small_logs: tuple[Path, Path],
    write_spec: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _gate(*small_logs, write_spec("[[rule]\n")) == 2
    assert "is not valid TOML" in capsys.readouterr().err


def test_samples_that_do_not_pair_are_an_error_unless_allowed(
    runs: Callable[..., object], write_spec: Callable[[str], Path]
) -> None:
    baseline = {"gsm8k": runs("gsm8k", outcomes=[1] * 30)}
    candidate = {"gsm8k": runs("gsm8k", outcomes=[1] * 27)}
    refused = evaluate_gate(baseline, candidate, write_spec(ACCURACY)).rule("acc")
    assert refused.verdict == "error"
    assert "3 only in the baseline (q-0027#1, q-0028#1, q-0029#1)" in refused.reason
    allowed = evaluate_gate(
        baseline, candidate, write_spec(ACCURACY + "allow_unpaired = true\n")
    ).rule("acc")
    assert (
        allowed.verdict == "pass"
        and allowed.n == 27
        and allowed.exclusions["unpaired_baseline"] == 3
    )
