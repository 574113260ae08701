"""``kill -9`` of a judging process mid-run: committed verdicts survive; a rerun asks the rest."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _load(name: str) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


fs = _load("_fault_server")
hj = _load("_http_judging")

N = 8
GRADER = "openai-api/local/judge-1"

JUDGE_SCRIPT = """
import sys
from inspect_ai.model import GenerateConfig, get_model
from cogumi_eval.judge import judge_log

url, log, out = sys.argv[1:4]
grader = get_model({grader!r}, base_url=url, config=GenerateConfig(max_connections=2),
                   client_timeout=10.0, max_retries=0)
judge_log(log, grader=grader, output=out)
"""


def _candidate_log(items: Any, log_dir: Path) -> str:
    from inspect_ai import eval as inspect_eval

    from cogumi_eval.tasks import gsm8k
    from cogumi_eval.testing import scripted_model

    (log,) = inspect_eval(
        gsm8k(),
        model=scripted_model(items.candidate_answer, name="mockllm/candidate"),
        limit=N,
        log_dir=str(log_dir),
        display="none",
    )
    return log.location


def _keys(path: Path) -> set[str]:
    import sqlite3

    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT key FROM verdicts")}


def _committed(path: Path) -> int:
    """Verdicts committed so far (0 while the judging process is still creating the file)."""
    import sqlite3

    try:
        return len(_keys(path)) if path.exists() else 0
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_kill_9_mid_run_keeps_committed_verdicts_and_a_rerun_asks_only_for_the_rest(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cogumi_eval.judge import default_cache_path, judge_log

    monkeypatch.setenv(hj.KEY_VAR, f"sk-cogumi-test-{uuid.uuid4().hex}")
    items = hj.problems(data_dir, N)
    cache = default_cache_path()
    script = tmp_path / "judge.py"
    script.write_text(textwrap.dedent(JUDGE_SCRIPT.format(grader=GRADER)))
    with fs.FaultServer(answers=items.baseline_answers(), lifetime_s=180) as server:
        hj.build(server.url, N)
        log = _candidate_log(items, tmp_path / "logs")
        server.reset()
        server.delay_s = 0.3  # two connections, sixteen orders: the run lasts ~2.5 s

        judging = subprocess.Popen(
            [sys.executable, str(script), server.url, log, str(tmp_path / "killed.eval")],
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and judging.poll() is None:
            if _committed(cache) >= 4:
                break
            time.sleep(0.02)
        judging.send_signal(signal.SIGKILL)
        judging.wait(timeout=30)
        assert judging.returncode == -signal.SIGKILL
        committed = _keys(cache)
        asked_before = server.count("grader")
        assert 4 <= len(committed) < 2 * N

        server.reset()
        server.delay_s = 0.0
        rerun = judge_log(
            log, grader=hj.served_model(GRADER, server.url), output=tmp_path / "rerun.eval"
        )

    assert committed <= _keys(cache)  # nothing committed before the kill was lost
    assert server.count("grader") == 2 * N - len(committed)  # only the missing orders
    assert asked_before >= len(committed)
    assert hj.verdicts(rerun.log) == {
        str(s.id): items.expected(items.index_of(s.input)) for s in rerun.log.samples or []
    }
    hits = sum(s.scores["pairwise"].metadata["cache_hits"] for s in rerun.log.samples or [])
    assert hits == len(committed)
