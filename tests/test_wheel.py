"""A non-editable install judges: the wheel carries judge definitions, prices and entry points.

``.ci/wheel-check`` builds the wheel, installs it into a fresh venv and runs a
judged eval with a scripted grader from a folder outside the checkout. CI runs
it as its own step (and sets COGUMI_WHEEL_CHECKED); elsewhere this test runs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("COGUMI_WHEEL_CHECKED") == "1", reason="ran as its own CI step")
@pytest.mark.skipif(
    shutil.which("git") is None, reason="the check copies the working tree with git"
)
def test_the_installed_wheel_runs_a_judged_eval_from_outside_the_checkout() -> None:
    done = subprocess.run(
        [str(REPO / ".ci" / "wheel-check")], capture_output=True, text=True, timeout=500, cwd=REPO
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "site-packages/cogumi_eval/__init__.py: verdicts ['loss', 'loss', 'tie']" in done.stdout
    assert done.stdout.rstrip().endswith("wheel-check: ok")
