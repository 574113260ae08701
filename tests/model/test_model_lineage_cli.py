"""``cogumi lineage`` and ``read_lineage``: what a user sees about a ref or a log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai.log import read_eval_log

from cogumi_eval import gsm8k
from cogumi_eval.cli import main
from cogumi_eval.model import read_lineage, weights_digest
from cogumi_eval.testing import scripted_model


def test_lineage_command_prints_adapter_base_and_hashes(
    tiny_adapter: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lineage", str(tiny_adapter)]) == 0

    out = capsys.readouterr().out
    assert f"base          {tiny_checkpoint}  ({tiny_checkpoint.resolve()})" in out
    assert f"sha256 {weights_digest(tiny_adapter).sha256[:16]}" in out
    assert "adapter base  clean" in out


def test_lineage_command_json_is_the_full_record(
    tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lineage", str(tiny_checkpoint), "--json"]) == 0

    record = json.loads(capsys.readouterr().out)
    assert record["weights"]["sha256"] == weights_digest(tiny_checkpoint).sha256
    assert record["kind"] == "checkpoint"


def test_lineage_command_reads_a_log(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = eval(
        gsm8k(),
        model=f"cogumi/{tiny_checkpoint}",
        limit=1,
        max_tokens=4,
        seed=3,
        log_dir=str(tmp_path),
        display="none",
    )[0]

    assert main(["lineage", log.location]) == 0
    assert (
        "determinism   backend=hf, decoding=greedy, seed=3, batch_size=8" in capsys.readouterr().out
    )


def test_lineage_command_bad_ref_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lineage", str(tmp_path / "missing")]) == 2
    assert "is neither a folder nor a registry name" in capsys.readouterr().err


def test_lineage_survives_a_header_only_read(tiny_checkpoint: Path, tmp_path: Path) -> None:
    log = eval(
        gsm8k(),
        model=f"cogumi/{tiny_checkpoint}",
        limit=1,
        max_tokens=4,
        log_dir=str(tmp_path),
        display="none",
    )[0]

    header = read_eval_log(log.location, header_only=True)
    assert read_lineage(header) == read_lineage(log)
    assert read_lineage(header)["path"] == str(tiny_checkpoint.resolve())


def test_logs_of_other_models_have_no_lineage(tmp_path: Path) -> None:
    log = eval(
        gsm8k(), model=scripted_model(["ANSWER: 1"]), limit=1, log_dir=str(tmp_path), display="none"
    )[0]

    assert read_lineage(log) is None
