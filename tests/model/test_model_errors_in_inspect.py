"""A user error inside ``inspect eval --model cogumi/...`` prints its message, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cogumi_eval._inspect_errors import shown_by_inspect
from cogumi_eval.model._errors import ModelRefError

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = "gsm8k/example_model_solutions.jsonl"


def _inspect_eval(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "inspect_ai",
        "eval",
        str(REPO / "tasks" / "math.py"),
        "--limit",
        "1",
    ]
    return subprocess.run(
        [*command, "--log-dir", str(cwd / "logs"), *args],
        cwd=cwd,
        env=dict(os.environ, COLUMNS="200"),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model_args", "message"),
    [
        (
            ["--model", "cogumi/./nope"],
            "model ref './nope' is neither a folder nor a registry name",
        ),
        (["--model", "cogumi/replay"], "the replay backend needs -M source="),
        (
            ["-M", "input=question", "-M", "response=175b_verification.solutoin"],
            "-M response=175b_verification.solutoin is not a field of",
        ),
        (
            ["-M", "colour=red"],
            "unknown -M option colour for the cogumi replay backend. Valid options:",
        ),
    ],
    ids=["missing-ref", "replay-without-source", "misspelt-response", "unknown-option"],
)
def test_a_user_error_prints_its_message_without_a_traceback(
    model_args: list[str], message: str, data_dir: Path, tmp_path: Path
) -> None:
    if model_args[0] == "-M":
        model_args = [
            "--model",
            "cogumi/replay",
            "-M",
            f"source={data_dir / SOLUTIONS}",
            *model_args,
        ]
    done = _inspect_eval(tmp_path, *model_args)
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert message in output and "Traceback" not in output
    assert len(output.strip().splitlines()) <= 8, output


def test_the_error_stays_its_own_class_with_its_message() -> None:
    shown = shown_by_inspect(ModelRefError("model ref 'x' is neither a folder nor a registry name"))
    assert isinstance(shown, ModelRefError) and str(shown).startswith("model ref 'x'")
    with pytest.raises(ModelRefError, match="neither a folder"):
        raise shown
