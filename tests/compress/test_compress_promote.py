"""Compressed models earn their place through ``cogumi promote`` under the compression gate.

The taught tiny model (``tests/train/_taught.py``) answers 12 of 16 GSM8K test
questions correctly; its destroyed copy (half its layers zeroed) answers none.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from inspect_ai.log import read_eval_log

from cogumi_compress import compress
from cogumi_eval.cli import main
from cogumi_eval.model import read_lineage, weights_digest
from cogumi_train import promote

from ..train import _taught as taught

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "results" / "gates" / "compression.toml"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    return tmp_path_factory.mktemp("taught-models")


@pytest.fixture(scope="module")
def taught_checkpoint(models: Path, data_dir: Path) -> Path:
    return Path(taught.taught_model(models, data_dir=data_dir))


@pytest.fixture(scope="module")
def taught_logs(taught_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One GSM8K log of the taught model on ``taught.EVAL_IDS``: the baseline."""
    from inspect_ai import eval as inspect_eval

    from cogumi_eval import gsm8k

    folder = tmp_path_factory.mktemp("taught-logs")
    log = inspect_eval(
        gsm8k(),
        model=f"cogumi/{taught_checkpoint}",
        sample_id=list(taught.EVAL_IDS),
        max_tokens=16,
        display="none",
        log_dir=str(folder),
    )[0]
    assert log.status == "success"
    assert log.results is not None
    assert log.results.scores[0].metrics["accuracy"].value == 0.75  # 12 taught of 16
    return folder


def test_destroyed_model_is_refused_by_promote_with_the_gate_report(
    taught_logs: Path,
    models: Path,
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    destroyed = Path(taught.destroyed_model(models, data_dir=data_dir))
    registry = tmp_path / "registry.toml"

    code = main(
        [
            "promote",
            str(destroyed),
            "--as",
            "taught-destroyed",
            "--baseline",
            str(taught_logs),
            "--spec",
            str(SPEC),
            "--registry",
            str(registry),
            "--log-dir",
            str(tmp_path / "logs"),
            "--json",
            str(tmp_path / "gate.json"),
        ]
    )

    out = capsys.readouterr().out
    assert code == 1
    assert "GSM8K accuracy" in out and "fail" in out and "NOT PROMOTED" in out
    rules = json.loads((tmp_path / "gate.json").read_text())["rules"]
    [rule] = [r for r in rules if r["verdict"] != "skipped"]
    assert rule["name"] == "GSM8K accuracy" and rule["verdict"] == "fail"
    assert rule["baseline"] == 0.75 and rule["candidate"] == 0.0
    assert not registry.exists()


def test_w8a8_copy_of_the_taught_model_keeps_its_answers_and_is_promoted(
    taught_checkpoint: Path, taught_logs: Path, tmp_path: Path, data_dir: Path
) -> None:
    result = compress(
        taught_checkpoint,
        recipe="w8a8",
        out=tmp_path / "taught-w8a8",
        calibration="gsm8k:16",
        data_dir=data_dir,
        max_seq_length=256,
    )
    registry = tmp_path / "registry.toml"

    promotion = promote(
        result.out,
        name="taught-w8a8",
        baseline=taught_logs,
        spec=SPEC,
        registry=registry,
        log_dir=tmp_path / "logs",
        display="none",
    )

    assert promotion.promoted and promotion.exit_code == 0
    rule = promotion.report.rule("GSM8K accuracy")
    assert rule.verdict == "pass" and rule.baseline == 0.75 and rule.candidate == 0.75
    [log_file] = promotion.logs.values()
    log = read_eval_log(log_file)
    correct = {s.id for s in log.samples or [] if s.scores["final_number"].value == "C"}
    assert correct == set(taught.TAUGHT_IDS)
    assert read_lineage(log)["compression"]["recipe"] == "w8a8"
    entry = tomllib.loads(registry.read_text())["models"]["taught-w8a8"]
    assert entry["weights_sha256"] == weights_digest(result.out).sha256
    assert entry["lineage"]["compression"]["parent"]["weights_sha256"] == (
        weights_digest(taught_checkpoint).sha256
    )
