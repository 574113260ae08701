"""The task files a user runs: `inspect eval tasks/<file> --model mockllm/model` offline,
epochs logged."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
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
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [info] = list_eval_logs(str(log_dir))
    return Path(info.name.removeprefix("file://"))


@pytest.mark.parametrize(
    ("task_file", "scorer", "answer"),
    [
        ("tasks/math.py", "final_number", "none"),
        ("tasks/reasoning.py", "choice_letter", "none"),
        ("tasks/code.py", "humaneval_tests", "syntax"),
    ],
)
def test_task_file_logs_three_scored_epochs_per_sample(
    tmp_path: Path, task_file: str, scorer: str, answer: str
) -> None:
    log = read_eval_log(str(_inspect_eval(tmp_path, task_file, "--limit", "5", "--epochs", "3")))
    assert log.status == "success"
    samples = log.samples or []
    assert len(samples) == 15
    per_id: dict[str, list[int]] = {}
    for sample in samples:
        score = sample.scores[scorer]
        # mockllm's default text holds no number, no option letter and no Python
        extracted = score.answer if scorer == "humaneval_tests" else score.metadata["rule"]
        assert score.value == "I" and extracted == answer
        per_id.setdefault(str(sample.id), []).append(sample.epoch)
    assert len(per_id) == 5 and all(sorted(e) == [1, 2, 3] for e in per_id.values())


def test_registered_task_name_runs_after_install(tmp_path: Path) -> None:
    log = read_eval_log(str(_inspect_eval(tmp_path, "cogumi/gsm8k", "--limit", "2")))
    assert log.eval.task == "cogumi/gsm8k" and len(log.samples or []) == 2
