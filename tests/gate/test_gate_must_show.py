"""The two cases the gate exists for: the tie collapse fails loudly; 66% vs 70% on 50 is
underpowered."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cogumi_eval.cli import main
from cogumi_eval.gate import evaluate_gate
from cogumi_eval.stats import minimum_detectable_effect, paired_difference

TIE_RULE = """
[[rule]]
name = "gsm8k tie rate"
task = "gsm8k"
metric = "tie_rate"
max_drop = 0.05
"""

NONINFERIORITY_RULE = """
[[rule]]
name = "gsm8k accuracy"
task = "gsm8k"
metric = "accuracy"
max_drop = 0.10
require_power = 0.8
{extra}
"""


def test_tie_collapse_from_70_to_28_percent_fails_with_p_below_0_001(
    tie_logs: tuple[Path, Path], write_spec: Callable[[str], Path]
) -> None:
    report = evaluate_gate(*tie_logs, write_spec(TIE_RULE))
    rule = report.rule("gsm8k tie rate")
    assert (rule.baseline, rule.candidate, rule.n) == (
        pytest.approx(0.70),
        pytest.approx(0.28),
        100,
    )
    assert rule.verdict == "fail"
    assert rule.pvalue_adjusted is not None and rule.pvalue_adjusted < 0.001
    assert report.exit_code == 1


def test_tie_collapse_fails_the_cli_with_exit_1_and_a_table(
    tie_logs: tuple[Path, Path],
    write_spec: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = write_spec(TIE_RULE)
    code = main(
        [
            "gate",
            "--baseline",
            str(tie_logs[0]),
            "--candidate",
            str(tie_logs[1]),
            "--spec",
            str(spec),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "gsm8k tie rate" in out and "fail" in out and "gate FAILED" in out


def test_tie_collapse_also_fails_the_verdict_shift_rule(
    tie_logs: tuple[Path, Path], write_spec: Callable[[str], Path]
) -> None:
    spec = write_spec('[[rule]]\nname = "verdicts"\ntask = "gsm8k"\nmetric = "verdicts"\n')
    rule = evaluate_gate(*tie_logs, spec).rule("verdicts")
    assert rule.verdict == "fail" and rule.pvalue is not None and rule.pvalue < 0.001
    assert rule.test is not None and rule.test.startswith("stuart-maxwell")


def test_66_vs_70_percent_on_50_samples_is_underpowered_not_a_pass(
    small_logs: tuple[Path, Path],
    small_outcomes: tuple[list[int], list[int]],
    write_spec: Callable[[str], Path],
) -> None:
    report = evaluate_gate(*small_logs, write_spec(NONINFERIORITY_RULE.format(extra="")))
    rule = report.rule("gsm8k accuracy")
    assert (rule.baseline, rule.candidate) == (pytest.approx(0.70), pytest.approx(0.66))
    assert rule.verdict == "underpowered"
    # no significant drop beyond 10 points, and non-inferiority at 10 points is not shown either
    assert rule.pvalue is not None and rule.pvalue > 0.025
    assert rule.pvalue_noninferiority is not None and rule.pvalue_noninferiority > 0.025
    baseline, candidate = small_outcomes
    paired = paired_difference(candidate, baseline)
    expected = minimum_detectable_effect(50, sd=paired.se * 50**0.5, alpha=0.025, power=0.8)
    assert rule.power is not None and rule.power.mde == pytest.approx(expected.mde)
    assert rule.power.mde > 0.10 and rule.power.needed_n > 50
    assert report.exit_code == 0  # on_underpowered = "warn" (the default)


def test_underpowered_fails_the_gate_when_the_spec_says_so(
    small_logs: tuple[Path, Path], write_spec: Callable[[str], Path]
) -> None:
    report = evaluate_gate(
        *small_logs, write_spec(NONINFERIORITY_RULE.format(extra='on_underpowered = "fail"'))
    )
    assert report.rule("gsm8k accuracy").verdict == "underpowered"
    assert report.exit_code == 1


def test_without_a_power_requirement_the_small_sample_passes_but_says_non_inferiority_was_not_shown(
    small_logs: tuple[Path, Path], write_spec: Callable[[str], Path]
) -> None:
    spec = write_spec(
        '[[rule]]\nname = "acc"\ntask = "gsm8k"\nmetric = "accuracy"\nmax_drop = 0.10\n'
    )
    rule = evaluate_gate(*small_logs, spec).rule("acc")
    assert rule.verdict == "pass"
    assert "non-inferiority not shown" in rule.reason


def test_the_same_rates_on_2000_samples_show_non_inferiority(
    runs: Callable[..., object], write_spec: Callable[[str], Path]
) -> None:
    baseline = ([1] * 35 + [0] * 15) * 40
    candidate = ([0, 0, 0] + [1] * 32 + [1] + [0] * 14) * 40
    report = evaluate_gate(
        {"gsm8k": runs("gsm8k", outcomes=baseline)},
        {"gsm8k": runs("gsm8k", outcomes=candidate)},
        write_spec(NONINFERIORITY_RULE.format(extra="")),
    )
    rule = report.rule("gsm8k accuracy")
    assert rule.verdict == "pass" and rule.reason.startswith("non-inferior")
    assert rule.delta_interval is not None and rule.delta_interval.low > -0.10
