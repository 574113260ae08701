"""Reports: JSON for machines, Markdown for PR comments, a rich table for terminals."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from cogumi_eval.cli import main
from cogumi_eval.gate import GateReport, evaluate_gate

SPEC = """
[[rule]]
name = "gsm8k tie rate"
task = "gsm8k"
metric = "tie_rate"
max_drop = 0.05

[[rule]]
name = "gsm8k accuracy"
task = "gsm8k"
metric = "accuracy"
max_drop = 0.02
"""


@pytest.fixture
def report(tie_logs: tuple[Path, Path], write_spec: Callable[[str], Path]) -> GateReport:
    return evaluate_gate(*tie_logs, write_spec(SPEC))


def test_json_report_carries_every_number_of_every_rule(report: GateReport) -> None:
    data = json.loads(report.to_json())
    assert data["exit_code"] == 1 and data["correction"] == "holm" and data["family_size"] == 2
    tie = next(r for r in data["rules"] if r["name"] == "gsm8k tie rate")
    assert tie["verdict"] == "fail"
    assert tie["baseline"] == pytest.approx(0.7) and tie["candidate"] == pytest.approx(0.28)
    assert set(tie["delta_interval"]) == {"low", "high", "level"}
    assert tie["pvalue_adjusted"] >= tie["pvalue"]
    assert data["baseline"][0]["task"] == "gsm8k" and data["baseline"][0]["samples"] == 100


def test_markdown_report_has_a_row_per_rule_and_names_the_correction(report: GateReport) -> None:
    text = report.to_markdown()
    assert "| gsm8k tie rate | gsm8k / tie_rate | 0.700 [" in text
    assert "**fail**" in text and "**pass**" in text
    assert "Holm-adjusted across 2 tests" in text


def test_row_text_is_one_line_with_delta_interval_p_and_reason(report: GateReport) -> None:
    row = report.rule("gsm8k tie rate").row()
    assert "\n" not in row
    assert row.startswith(
        "FAIL gsm8k tie rate [gsm8k/tie_rate, paired-z]; "
        "baseline 0.700 -> candidate 0.280; delta -0.420 ["
    )
    assert "significantly worse by more than the margin 0.050" in row


def test_rich_table_shows_each_rule_and_the_summary(report: GateReport) -> None:
    console = Console(record=True, width=160)
    report.print_table(console)
    text = console.export_text()
    assert "gsm8k tie rate" in text and "gsm8k accuracy" in text
    assert "gate FAILED (regression): 1 pass, 1 fail" in text


def test_cli_writes_json_and_markdown(
    tie_logs: tuple[Path, Path], write_spec: Callable[[str], Path], tmp_path: Path
) -> None:
    spec = write_spec(SPEC)
    out_json, out_md = tmp_path / "gate.json", tmp_path / "gate.md"
    code = main(
        [
            "gate",
            "--baseline",
            str(tie_logs[0]),
            "--candidate",
            str(tie_logs[1]),
            "--spec",
            str(spec),
            "--json",
            str(out_json),
            "--markdown",
            str(out_md),
            "--quiet",
        ]
    )
    assert code == 1
    assert json.loads(out_json.read_text())["exit_code"] == 1
    assert out_md.read_text().startswith("### Cogumi gate: gate FAILED")


def test_a_passing_gate_exits_0(
    tie_logs: tuple[Path, Path], write_spec: Callable[[str], Path]
) -> None:
    spec = write_spec('[[rule]]\nname="a"\ntask="gsm8k"\nmetric="accuracy"\nmax_drop=0.02\n')
    assert (
        main(
            [
                "gate",
                "--baseline",
                str(tie_logs[0]),
                "--candidate",
                str(tie_logs[1]),
                "--spec",
                str(spec),
                "--quiet",
            ]
        )
        == 0
    )
