"""No API key value is ever written into a cache, baseline or log file."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import eval

from cogumi_eval.judge import VerdictCache, build_baselines, judge_log
from cogumi_eval.tasks import gsm8k

SECRET = "sk-test-SECRET"


def _contents(path: Path) -> list[bytes]:
    if zipfile.is_zipfile(path):  # .eval logs are zip archives: read every member decompressed
        with zipfile.ZipFile(path) as archive:
            return [archive.read(name) for name in archive.namelist()]
    return [path.read_bytes()]


def test_no_api_key_reaches_any_written_file(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    scripted_solver: Any,
    scripted_grader: Any,
    fair_rule: Any,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    base = scripted_solver(lambda i: i == 0, name="mockllm/gpt-4-turbo")
    build_baselines(gsm8k(), base.model(), limit=2)
    grader = scripted_grader(fair_rule)
    (log,) = eval(
        gsm8k(judge="pairwise", baseline="mockllm/gpt-4-turbo"),
        model=scripted_solver(lambda i: True, style="Mine.").model(),
        model_roles={"grader": grader.model()},
        limit=2,
        display="none",
    )
    judge_log(log.location, grader=grader.model(), output=tmp_path / "logs" / "judged.eval")
    VerdictCache().close()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite3" for p in written) and any(
        p.suffix == ".jsonl" for p in written
    )
    assert sum(p.suffix == ".eval" for p in written) >= 3
    leaks = [str(p) for p in written for blob in _contents(p) if SECRET.encode() in blob]
    assert leaks == []
