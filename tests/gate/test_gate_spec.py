"""Gate specs: what a rule may say, and a clear message for everything it may not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cogumi_eval.gate import SpecError, load_spec, parse_spec


def _spec(rule: str, gate: str = "") -> dict:
    import tomllib

    return tomllib.loads(gate + "\n[[rule]]\n" + rule)


def test_the_issue_example_parses_with_its_stated_meaning() -> None:
    spec = parse_spec(
        _spec(
            'name = "gsm8k accuracy"\ntask = "gsm8k"\nmetric = "accuracy"\n'
            "max_drop = 0.02\nconfidence = 0.95"
        )
    )
    [rule] = spec.rules
    assert (rule.max_drop, rule.confidence, rule.direction, rule.test) == (
        0.02,
        0.95,
        "higher",
        "paired-z",
    )
    assert rule.alpha == pytest.approx(0.025)
    assert spec.correction == "holm"


def test_gate_table_sets_defaults_that_rules_override() -> None:
    spec = parse_spec(
        _spec(
            'task = "gsm8k"\nmetric = "accuracy"\nmax_drop = 0.02\nconfidence = 0.9',
            gate="[gate]\nconfidence = 0.99\nallow_unpaired = true",
        )
    )
    [rule] = spec.rules
    assert rule.confidence == 0.9 and rule.allow_unpaired is True


def test_loss_rate_defaults_to_lower_is_better() -> None:
    [rule] = parse_spec(_spec('task = "gsm8k"\nmetric = "loss_rate"\nmax_drop = 0.05')).rules
    assert rule.direction == "lower"


def test_rule_name_defaults_to_task_and_metric() -> None:
    [rule] = parse_spec(_spec('task = "mmlu"\nmetric = "accuracy"\nmin = 0.5')).rules
    assert rule.name == "mmlu accuracy"


def test_bad_toml_names_the_file_and_the_line(write_spec: Callable[[str], Path]) -> None:
    path = write_spec("[[rule]]\ntask = gsm8k\n")
    with pytest.raises(SpecError, match=r"spec\.toml is not valid TOML.*line 2"):
        load_spec(path)


def test_missing_spec_file_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            'task = "gsm8k"\nmetric = "accuracy"\nmax_dorp = 0.02',
            r"unknown key\(s\) \['max_dorp'\]; allowed:",
        ),
        ('metric = "accuracy"\nmax_drop = 0.02', "'task' is required"),
        ('task = "gsm8k"\nmetric = "accuracy"', "checks nothing"),
        (
            'task = "gsm8k"\nmetric = "accuracy"\nmax_drop = 0.02\nmax_drop_relative = 0.1',
            "not both",
        ),
        ('task = "gsm8k"\nmetric = "accuracy"\nmax_drop = -0.02', "cannot be negative"),
        (
            'task = "gsm8k"\nmetric = "accuracy"\nmax_drop = 0.02\ntest = "mcnemar"',
            "McNemar's exact test checks for no change",
        ),
        (
            'task = "gsm8k"\nmetric = "tie_rate"\nmax_drop = 0.02\ntest = "stuart-maxwell"',
            'goes with test\n?.*"stuart-maxwell"|metric "verdicts"',
        ),
        (
            'task = "gsm8k"\nmetric = "accuracy"\nmax_drop = 0\nrequire_power = 0.8',
            "needs an effect size",
        ),
        (
            'task = "gsm8k"\nmetric = "accuracy"\nmin = 0.5\nrequire_power = 0.8',
            "applies to a max_drop rule",
        ),
        (
            'task = "gsm8k"\nmetric = "accuracy"\nmax_drop = "two points"',
            "max_drop must be a number",
        ),
        (
            'task = "gsm8k"\nmetric = "accuracy"\nmax_drop = 0.02\nconfidence = 95',
            r"confidence must be in \[0.5, 1\)",
        ),
        ('task = "gsm8k"\nmetric = "accuracy"\nmin = 0.8\nmax = 0.5', "min 0.8 is above max 0.5"),
        (
            'task = "gsm8k"\nmetric = "accuracy"\nmax_drop = 0.02\ndirection = "up"',
            "direction must be one of",
        ),
    ],
)
def test_impossible_rules_are_refused_with_the_reason(rule: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec(_spec(rule), source="s.toml")


def test_a_gate_level_power_requirement_skips_rules_without_an_effect_size() -> None:
    spec = parse_spec(
        _spec('task = "gsm8k"\nmetric = "accuracy"\nmin = 0.5', gate="[gate]\nrequire_power = 0.8")
    )
    assert spec.rules[0].require_power is None


def test_duplicate_rule_names_are_refused() -> None:
    import tomllib

    data = tomllib.loads(
        '[[rule]]\ntask = "a"\nmetric = "accuracy"\nmin = 0.1\n'
        '[[rule]]\ntask = "a"\nmetric = "accuracy"\nmin = 0.2\n'
    )
    with pytest.raises(SpecError, match="unique"):
        parse_spec(data)


def test_unknown_correction_is_refused() -> None:
    with pytest.raises(SpecError, match="correction must be one of"):
        parse_spec(
            _spec('task = "a"\nmetric = "accuracy"\nmin = 0.1', gate='[gate]\ncorrection = "fdr"')
        )


def test_default_spec_in_results_parses() -> None:
    spec = load_spec(Path(__file__).resolve().parents[2] / "results" / "gates" / "default.toml")
    assert spec.correction == "holm"
    assert {r.task for r in spec.rules} == {"gsm8k", "humaneval", "mmlu"}
    assert all(r.require_power == 0.8 for r in spec.rules if r.has_margin)
