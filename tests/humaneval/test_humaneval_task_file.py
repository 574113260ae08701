"""What a user types: `inspect eval tasks/code.py` (and `cogumi/humaneval`) offline with mockllm."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from inspect_ai.log import list_eval_logs, read_eval_log

REPO = Path(__file__).resolve().parents[2]
INSPECT = str(Path(sys.executable).with_name("inspect"))


def _inspect_eval(tmp_path: Path, target: str, *extra: str) -> Path:
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(tmp_path / "tiktoken")}
    log_dir = tmp_path / "logs"
    result = subprocess.run(
        [
            INSPECT,
            "eval",
            target,
            "--model",
            "mockllm/model",
            "--log-dir",
            str(log_dir),
            "--display",
            "plain",
            *extra,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [info] = list_eval_logs(str(log_dir))
    return Path(info.name.removeprefix("file://"))


def test_task_file_logs_three_scored_epochs_per_sample_with_answer(tmp_path: Path) -> None:
    log = read_eval_log(
        str(_inspect_eval(tmp_path, "tasks/code.py", "--limit", "5", "--epochs", "3"))
    )
    assert (log.status, log.eval.task) == ("success", "humaneval")
    metrics = {n for s in log.results.scores for n in s.metrics} if log.results else set()
    assert "pass@1" in metrics
    samples = log.samples or []
    assert sorted((s.id, s.epoch) for s in samples) == [
        (f"HumanEval/{i}", e) for i in range(5) for e in (1, 2, 3)
    ]
    for sample in samples:
        score = sample.scores["humaneval_tests"]
        # mockllm's default text is prose: extracted as a body, it does not compile
        assert (score.value, score.answer) == ("I", "syntax")
        assert score.explanation and score.explanation.startswith("syntax: SyntaxError")


def test_registered_task_name_runs(tmp_path: Path) -> None:
    log = read_eval_log(str(_inspect_eval(tmp_path, "cogumi/humaneval", "--limit", "2")))
    assert log.eval.task == "cogumi/humaneval" and len(log.samples or []) == 2
