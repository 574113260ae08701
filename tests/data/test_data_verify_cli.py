"""``cogumi data verify``: one line per file, exit 0 when all match, 1 otherwise, 2 on bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cogumi_eval.cli import main


def test_verify_reports_every_file_ok(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "verify", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "gsm8k/test.jsonl" in out and "1319/1319" in out
    assert "humaneval/HumanEval.jsonl.gz" in out and "164/164" in out
    assert "mmlu/test/virology_test.csv" in out
    assert "177 of 177 files match" in out


def test_verify_flags_an_edited_and_a_missing_file(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(data_dir / "gsm8k", tmp_path / "gsm8k")
    (tmp_path / "gsm8k" / "train.jsonl").chmod(0o644)
    (tmp_path / "gsm8k" / "train.jsonl").write_text('{"question": "x", "answer": "#### 1"}\n')
    (tmp_path / "gsm8k" / "test.jsonl").chmod(0o644)
    (tmp_path / "gsm8k" / "test.jsonl").unlink()
    assert main(["data", "verify", str(tmp_path), "--dataset", "gsm8k"]) == 1
    lines = {
        line.split()[0]: line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("gsm8k/")
    }
    assert "mismatch" in lines["gsm8k/train.jsonl"] and "1/7473" in lines["gsm8k/train.jsonl"]
    assert "missing" in lines["gsm8k/test.jsonl"]


def test_verify_without_a_folder_exits_2_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("COGUMI_DATA_DIR")
    assert main(["data", "verify"]) == 2
    assert "COGUMI_DATA_DIR" in capsys.readouterr().err
