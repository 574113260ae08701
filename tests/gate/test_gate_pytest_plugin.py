"""The pytest plugin: one item per rule, the report row as the failure message, a fixture."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# in-process pytester runs restore sys.modules afterwards; numpy's extensions cannot be
# loaded twice, so the gate's heavy modules are imported here, once, before any run
import cogumi_eval.gate._evaluate  # noqa: F401

pytest_plugins = ["pytester"]

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


def _options(logs: tuple[Path, Path], spec: Path) -> list[str]:
    return [
        "--cogumi-baseline",
        str(logs[0]),
        "--cogumi-candidate",
        str(logs[1]),
        "--cogumi-spec",
        str(spec),
    ]


def test_each_rule_is_an_item_and_a_failing_rule_shows_its_report_row(
    pytester: pytest.Pytester, tie_logs: tuple[Path, Path]
) -> None:
    spec = pytester.makefile(".toml", spec=SPEC)
    result = pytester.runpytest("-p", "no:cacheprovider", *_options(tie_logs, spec))
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*FAIL gsm8k tie rate [[]gsm8k/tie_rate, paired-z[]]; baseline 0.700 -> candidate 0.280*"]
    )
    assert result.ret == 1


def test_marker_selects_only_the_gate_items(
    pytester: pytest.Pytester, tie_logs: tuple[Path, Path]
) -> None:
    pytester.makepyfile(test_other="def test_unrelated():\n    assert True\n")
    spec = pytester.makefile(".toml", spec=SPEC)
    result = pytester.runpytest("-m", "cogumi_gate", "-k", "accuracy", *_options(tie_logs, spec))
    result.assert_outcomes(passed=1, deselected=2)


def test_fixture_gives_the_report_for_own_assertions(
    pytester: pytest.Pytester, tie_logs: tuple[Path, Path]
) -> None:
    pytester.makepyfile(
        test_mine="""
def test_tie_rate_fell(cogumi_gate):
    rule = cogumi_gate.rule("gsm8k tie rate")
    assert rule.candidate < rule.baseline
    assert cogumi_gate.exit_code == 1
"""
    )
    spec = pytester.makefile(".toml", spec=SPEC)
    result = pytester.runpytest("test_mine.py", "-k", "fell", *_options(tie_logs, spec))
    result.assert_outcomes(passed=1, deselected=2)


def test_fixture_skips_without_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mine="def test_uses_gate(cogumi_gate):\n    pass\n")
    pytester.runpytest().assert_outcomes(skipped=1)


def test_without_options_the_plugin_adds_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_bad_spec_is_a_collection_error_with_exit_2(
    pytester: pytest.Pytester, tie_logs: tuple[Path, Path]
) -> None:
    spec = pytester.makefile(
        ".toml", spec="[[rule]]\ntask = 'gsm8k'\nmetric = 'accuracy'\nmax_dorp = 1\n"
    )
    result = pytester.runpytest(*_options(tie_logs, spec))
    assert result.ret == 2
    result.stdout.fnmatch_lines(["*cogumi gate error:*unknown key(s)*max_dorp*"])


def test_partial_options_are_a_usage_error(
    pytester: pytest.Pytester, tie_logs: tuple[Path, Path]
) -> None:
    result = pytester.runpytest("--cogumi-baseline", str(tie_logs[0]))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*missing --cogumi-candidate, --cogumi-spec*"])


def test_underpowered_rule_passes_with_a_warning(
    pytester: pytest.Pytester, small_logs: tuple[Path, Path]
) -> None:
    spec = pytester.makefile(
        ".toml",
        spec='[[rule]]\nname="acc"\ntask="gsm8k"\nmetric="accuracy"\nmax_drop=0.1\nrequire_power=0.8\n',
    )
    result = pytester.runpytest(*_options(small_logs, spec))
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*CogumiGateWarning: UNDERPOWERED acc*"])


def test_plugin_module_imports_without_inspect_or_pandas() -> None:
    code = (
        "import sys, importlib; importlib.import_module('cogumi_eval.gate'); "
        "import cogumi_eval.gate._pytest_plugin as p; "
        "print([m for m in ('pandas', 'scipy', 'numpy', 'rich') "
        "if m in sys.modules and m not in before])"
    )
    # cogumi_eval's own __init__ may import Inspect; measure what the gate package and plugin
    # add on top
    script = "import sys, cogumi_eval; before = set(sys.modules); " + code
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
