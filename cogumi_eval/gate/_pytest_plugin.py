"""The ``cogumi`` pytest plugin: gate rules as test items, and a ``cogumi_gate`` fixture.

    pytest --cogumi-baseline last_good.eval --cogumi-candidate new.eval \\
           --cogumi-spec results/gates/default.toml

adds one item per rule (marked ``cogumi_gate``, so ``-m cogumi_gate`` runs only
them); a failing item's message is the rule's report row. A spec or log that
cannot be read is a collection error (pytest exits 2). Rules that warn or are
underpowered pass with a ``CogumiGateWarning``.

pytest loads this plugin in every session (entry point ``pytest11``), so it
imports nothing heavy and does nothing unless the ``--cogumi-*`` options are given.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._report import GateReport

_OPTIONS = ("cogumi_baseline", "cogumi_candidate", "cogumi_spec")
_REPORT = pytest.StashKey["GateReport"]()
MARKER = "cogumi_gate"


class CogumiGateWarning(UserWarning):
    """A gate rule passed with a warning (a bound missed on the point estimate, or too little
    power)."""


class GateRuleFailure(Exception):
    """A gate rule failed; the message is its report row."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cogumi", "Cogumi regression gate")
    group.addoption(
        "--cogumi-baseline",
        metavar="PATH",
        help="eval log or folder of logs of the last good model",
    )
    group.addoption(
        "--cogumi-candidate", metavar="PATH", help="eval log or folder of logs of the new model"
    )
    group.addoption("--cogumi-spec", metavar="TOML", help="gate spec; one test item per rule")
    group.addoption("--cogumi-json", metavar="FILE", help="also write the gate report as JSON")
    group.addoption(
        "--cogumi-markdown", metavar="FILE", help="also write the gate report as Markdown"
    )


def _gate_options(config: pytest.Config) -> tuple[str, str, str] | None:
    values = [config.getoption(name) for name in _OPTIONS]
    if not any(values):
        return None
    missing = [
        "--" + name.replace("_", "-")
        for name, value in zip(_OPTIONS, values, strict=False)
        if not value
    ]
    if missing:
        raise pytest.UsageError(
            "--cogumi-baseline, --cogumi-candidate and --cogumi-spec go together; "
            f"missing {', '.join(missing)}"
        )
    return values[0], values[1], values[2]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: a rule of the Cogumi regression gate")
    _gate_options(config)


def gate_report(config: pytest.Config) -> GateReport:
    """The gate report for this session's ``--cogumi-*`` options, evaluated once."""
    report = config.stash.get(_REPORT, None)
    if report is None:
        options = _gate_options(config)
        if options is None:
            raise pytest.UsageError(
                "the Cogumi gate needs --cogumi-baseline, --cogumi-candidate and --cogumi-spec"
            )
        from ._evaluate import evaluate_gate

        report = evaluate_gate(*options)
        config.stash[_REPORT] = report
        json_path, markdown_path = (
            config.getoption("cogumi_json"),
            config.getoption("cogumi_markdown"),
        )
        if json_path:
            Path(json_path).write_text(report.to_json() + "\n", encoding="utf-8")
        if markdown_path:
            Path(markdown_path).write_text(report.to_markdown(), encoding="utf-8")
    return report


class GateSpecFile(pytest.File):
    """The spec file as a collector: evaluating the gate is its collection."""

    def collect(self) -> list[pytest.Item]:
        report = gate_report(self.config)
        return [GateRuleItem.from_parent(self, name=result.name) for result in report.rules]

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:  # type: ignore[override]
        from ._errors import GateError

        if isinstance(excinfo.value, GateError):
            return f"cogumi gate error: {excinfo.value}"
        return str(super().repr_failure(excinfo))


class GateRuleItem(pytest.Item):
    """One gate rule; it fails when the rule does."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_marker(MARKER)

    def runtest(self) -> None:
        report = gate_report(self.config)
        result = report.rule(self.name)
        on_underpowered = report.on_underpowered.get(self.name, "warn")
        if result.verdict in ("fail", "error") or (
            result.verdict == "underpowered" and on_underpowered == "fail"
        ):
            raise GateRuleFailure(result.row())
        if result.verdict == "skipped":
            pytest.skip(result.reason)
        if result.verdict in ("warn", "underpowered"):
            warnings.warn(CogumiGateWarning(result.row()), stacklevel=1)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, GateRuleFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"cogumi gate rule: {self.name}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    # tryfirst: the rules are added before -k / -m deselection sees the items
    options = _gate_options(config)
    if options is None:
        return
    from _pytest.runner import collect_one_node

    collector = GateSpecFile.from_parent(session, path=Path(options[2]).resolve())
    report = collect_one_node(collector)
    # reported like any collection error, so pytest stops with "errors during collection" (exit 2)
    session.ihook.pytest_collectreport(report=report)
    if report.passed:
        items.extend(item for item in report.result if isinstance(item, pytest.Item))


@pytest.fixture(scope="session")
def cogumi_gate(request: pytest.FixtureRequest) -> GateReport:
    """The evaluated gate (a ``GateReport``) for your own assertions; skips without
    ``--cogumi-*`` options."""
    if _gate_options(request.config) is None:
        pytest.skip("cogumi_gate needs --cogumi-baseline, --cogumi-candidate and --cogumi-spec")
    return gate_report(request.config)
