"""Gate results and how they are shown: a JSON document, a Markdown table, a rich terminal table.

Every row carries baseline, candidate, delta with its interval, the test that
produced the p-value, the p-value before and after the family-wise correction,
and the verdict with its reason.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..stats import ConfidenceInterval

Verdict = Literal["pass", "warn", "underpowered", "fail", "error", "skipped"]
SEVERITY: dict[str, int] = {
    "skipped": 0,
    "pass": 1,
    "warn": 2,
    "underpowered": 3,
    "fail": 4,
    "error": 5,
}


@dataclass
class BoundCheck:
    """A min/max bound on the candidate's value."""

    kind: str  # "min" or "max"
    bound: float
    mode: str  # "interval" or "point"
    violated: bool
    pvalue: float | None = None
    pvalue_adjusted: float | None = None


@dataclass
class PowerCheck:
    """Could this sample tell a drop of ``effect`` from no change?"""

    required: float | None
    effect: float
    power: float
    mde: float
    needed_n: int


@dataclass
class RuleResult:
    """The outcome of one rule.

    ``delta`` is candidate − baseline in the metric's own units; ``pvalue`` is
    the one-sided p-value for "worse by more than the margin" (or for a bound
    violation when the rule has no margin) and ``pvalue_adjusted`` the same
    after the gate's family-wise correction. ``pvalue_noninferiority`` is the
    p-value for "not worse by more than the margin".
    """

    name: str
    task: str
    metric: str
    verdict: Verdict
    reason: str
    scorer: str | None = None
    direction: str = "higher"
    test: str | None = None
    unit: str | None = None
    n: int = 0
    confidence: float = 0.95
    alpha: float = 0.025
    baseline: float | None = None
    candidate: float | None = None
    baseline_interval: ConfidenceInterval | None = None
    candidate_interval: ConfidenceInterval | None = None
    delta: float | None = None
    delta_interval: ConfidenceInterval | None = None
    margin: float | None = None
    pvalue: float | None = None
    pvalue_adjusted: float | None = None
    pvalue_noninferiority: float | None = None
    bounds: list[BoundCheck] = field(default_factory=list)
    power: PowerCheck | None = None
    exclusions: dict[str, int] = field(default_factory=dict)
    excluded_summary: str = ""
    notes: list[str] = field(default_factory=list)

    def row(self) -> str:
        """One line: what the report table says about this rule (the pytest failure message)."""
        parts = [f"{self.verdict.upper()} {self.name} [{self.task}/{self.metric}"]
        parts[0] += f", {self.test}]" if self.test else "]"
        if self.baseline is not None and self.candidate is not None:
            parts.append(f"baseline {_num(self.baseline)} -> candidate {_num(self.candidate)}")
        if self.delta is not None:
            parts.append(f"delta {_signed(self.delta)} {_interval(self.delta_interval)}".rstrip())
        if self.margin is not None:
            parts.append(f"margin {_num(self.margin)}")
        if self.pvalue is not None:
            adjusted = (
                f" (adjusted {_p(self.pvalue_adjusted)})"
                if self.pvalue_adjusted != self.pvalue
                else ""
            )
            parts.append(f"p {_p(self.pvalue)}{adjusted}")
        if self.n:
            parts.append(f"n {self.n}")
        if self.excluded_summary:
            parts.append(f"excluded: {self.excluded_summary}")
        return "; ".join(parts) + f" -- {self.reason}"


@dataclass
class GateReport:
    """All rules of one gate, the correction used, and what was compared."""

    rules: list[RuleResult]
    correction: str
    family_size: int
    spec: str
    baseline: list[dict[str, Any]]
    candidate: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    on_underpowered: dict[str, str] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 pass (warnings allowed), 1 regression, 2 a rule could not be evaluated or none
        applied."""
        if any(r.verdict == "error" for r in self.rules) or self.nothing_gated:
            return 2
        if any(r.verdict == "fail" for r in self.rules):
            return 1
        if any(
            r.verdict == "underpowered" and self.on_underpowered.get(r.name) == "fail"
            for r in self.rules
        ):
            return 1
        return 0

    @property
    def nothing_gated(self) -> bool:
        """Every rule was skipped: a gate that checked nothing must not read as a pass."""
        return bool(self.rules) and all(r.verdict == "skipped" for r in self.rules)

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    def rule(self, name: str) -> RuleResult:
        for result in self.rules:
            if result.name == name:
                return result
        raise KeyError(f"no rule named {name!r}; rules: {[r.name for r in self.rules]}")

    def correction_note(self) -> str:
        if self.correction == "none" or self.family_size <= 1:
            return (
                f"{self.family_size} test(s); no family-wise correction needed"
                if self.correction != "none"
                else 'no family-wise correction (correction = "none")'
            )
        name = {"holm": "Holm", "bonferroni": "Bonferroni"}[self.correction]
        return (
            f"p-values {name}-adjusted across {self.family_size} tests "
            "(family-wise error control); intervals are per rule"
        )

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for result in self.rules:
            counts[result.verdict] = counts.get(result.verdict, 0) + 1
        status = {0: "PASSED", 1: "FAILED (regression)", 2: "ERROR"}[self.exit_code]
        if self.exit_code == 0 and any(r.verdict in ("warn", "underpowered") for r in self.rules):
            status = "PASSED with warnings"
        tally = ", ".join(f"{counts[v]} {v}" for v in SEVERITY if v in counts)
        if self.nothing_gated:
            tasks = sorted({str(run.get("task")) for run in self.baseline + self.candidate})
            return (
                f"gate {status}: every rule was skipped, so nothing was checked; the logs hold "
                f"task(s) {tasks}. Add a rule for them (or mark one required = true)."
            )
        return f"gate {status}: {tally}; {self.correction_note()}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "summary": self.summary(),
            "correction": self.correction,
            "family_size": self.family_size,
            "spec": self.spec,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "warnings": self.warnings,
            "rules": [_finite(asdict(r)) for r in self.rules],
        }

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_markdown(self) -> str:
        lines = [
            f"### Cogumi gate: {self.summary()}",
            "",
            (
                "| rule | task / metric | baseline | candidate | delta [interval] | margin | test "
                "| p (adj.) | verdict |"
            ),
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in self.rules:
            lines.append(
                "| "
                + " | ".join(
                    [
                        r.name,
                        f"{r.task} / {r.metric}",
                        _with_interval(r.baseline, r.baseline_interval),
                        _with_interval(r.candidate, r.candidate_interval),
                        f"{_signed(r.delta)} {_interval(r.delta_interval)}".strip()
                        if r.delta is not None
                        else "–",
                        _num(r.margin) if r.margin is not None else "–",
                        r.test or "–",
                        f"{_p(r.pvalue)} ({_p(r.pvalue_adjusted)})"
                        if r.pvalue is not None
                        else "–",
                        f"**{r.verdict}**",
                    ]
                )
                + " |"
            )
        lines += [
            "",
            *[
                f"- **{r.name}** ({r.verdict}): {r.reason}"
                + (f" Excluded: {r.excluded_summary}." if r.excluded_summary else "")
                for r in self.rules
            ],
        ]
        baseline = ", ".join(f"{d['task']}: {d['path']} ({d['model']})" for d in self.baseline)
        candidate = ", ".join(f"{d['task']}: {d['path']} ({d['model']})" for d in self.candidate)
        lines += ["", f"Baseline: {baseline}  ", f"Candidate: {candidate}  ", f"Spec: {self.spec}"]
        lines += [f"> warning: {w}" for w in self.warnings]
        return "\n".join(lines) + "\n"

    def print_table(self, console: Any | None = None) -> None:
        """Print the report as a rich table (colours when the terminal has them)."""
        from rich.console import Console
        from rich.table import Table

        if console is None:
            console = Console()
            if not console.is_terminal:
                console = Console(width=140)  # CI logs: do not wrap at 80 columns
        table = Table(title="Cogumi gate", show_lines=False)
        for column in (
            "rule",
            "baseline",
            "candidate",
            "delta [interval]",
            "margin",
            "p (adj.)",
            "verdict",
        ):
            table.add_column(column, justify="left" if column in ("rule", "verdict") else "right")
        for r in self.rules:
            table.add_row(
                r.name,
                _with_interval(r.baseline, r.baseline_interval),
                _with_interval(r.candidate, r.candidate_interval),
                f"{_signed(r.delta)} {_interval(r.delta_interval)}".strip()
                if r.delta is not None
                else "–",
                _num(r.margin) if r.margin is not None else "–",
                f"{_p(r.pvalue)} ({_p(r.pvalue_adjusted)})" if r.pvalue is not None else "–",
                f"[{_STYLE[r.verdict]}]{r.verdict}[/]",
            )
        console.print(table)
        for r in self.rules:
            test = f" [dim]({r.test}; n {r.n})[/dim]" if r.test else ""
            excluded = f" [dim](excluded: {r.excluded_summary})[/dim]" if r.excluded_summary else ""
            console.print(
                f"[{_STYLE[r.verdict]}]{r.verdict:>12}[/] {r.name}: {r.reason}{test}{excluded}",
                highlight=False,
            )
            for note in r.notes:
                console.print(f"{'':>12} [dim]{note}[/dim]", highlight=False)
        for warning in self.warnings:
            console.print(f"[yellow]warning:[/] {warning}", highlight=False)
        console.print(
            self.summary(),
            style="bold " + ("green" if self.exit_code == 0 else "red"),
            highlight=False,
        )


_STYLE = {
    "pass": "green",
    "warn": "yellow",
    "underpowered": "yellow",
    "fail": "bold red",
    "error": "bold magenta",
    "skipped": "dim",
}


def _finite(value: Any) -> Any:
    """JSON has no NaN/inf: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.3f}"


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def _interval(interval: ConfidenceInterval | None) -> str:
    return "" if interval is None else f"[{interval.low:+.3f}, {interval.high:+.3f}]"


def _with_interval(value: float | None, interval: ConfidenceInterval | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" + (f" [{interval.low:.3f}, {interval.high:.3f}]" if interval else "")
