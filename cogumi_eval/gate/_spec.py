"""Gate specs: a TOML file of rules, each a claim the candidate must not break.

```toml
[gate]                      # defaults for every rule (all optional)
confidence = 0.95
correction = "holm"         # family-wise error over all rules: holm | bonferroni | none

[[rule]]
name = "gsm8k accuracy"
task = "gsm8k"              # the task name in the log ("cogumi/" prefix ignored)
metric = "accuracy"
max_drop = 0.02             # absolute; candidate may not be significantly worse by more
```

Only the standard library is imported here, so reading a spec is cheap.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from ._errors import SpecError

Direction = Literal["higher", "lower"]
Test = Literal["paired-z", "bootstrap", "mcnemar", "stuart-maxwell"]
BoundMode = Literal["interval", "point"]
OnUnderpowered = Literal["warn", "fail"]

TESTS: tuple[str, ...] = ("paired-z", "bootstrap", "mcnemar", "stuart-maxwell")
CORRECTIONS: tuple[str, ...] = ("holm", "bonferroni", "none")

# metrics computed from per-sample scores, by the unit they are measured on
EPOCH_METRICS: tuple[str, ...] = (
    "accuracy",
    "win_rate",
    "tie_rate",
    "loss_rate",
    "win+tie",
    "preference",
    "error_rate",
)
SAMPLE_METRICS: tuple[str, ...] = ("consistency", "agreement", "majority_accuracy", "mean_accuracy")
VERDICT_METRICS: tuple[str, ...] = (
    "win_rate",
    "tie_rate",
    "loss_rate",
    "win+tie",
    "preference",
    "error_rate",
    "verdicts",
)
PASS_AT = re.compile(r"^pass@(\d+)$")
LOWER_IS_BETTER: frozenset[str] = frozenset({"loss_rate", "error_rate"})


def builtin_metrics() -> list[str]:
    """Metric names every rule may use (besides any metric or value key in the logs)."""
    return [*EPOCH_METRICS, *SAMPLE_METRICS, "pass@k", "verdicts"]


@dataclass(frozen=True)
class GateRule:
    """One rule of a gate.

    Attributes:
        name: shown in reports and as the pytest item name.
        task: task name in the logs.
        metric: a built-in metric (see ``builtin_metrics()``), a key of a dict-valued
            score, or any metric in the logs' results (bounds only).
        scorer: scorer whose scores are read (default: the task's correctness
            scorer, or ``pairwise`` for verdict metrics).
        direction: "higher" (default) or "lower" is better.
        max_drop: absolute margin: the rule fails only on a significant worsening beyond it.
        max_drop_relative: margin as a fraction of the baseline value.
        min: lower bound on the candidate's value.
        max: upper bound on the candidate's value.
        bound: "interval" (fail when the whole interval is beyond a bound) or "point".
        confidence: two-sided confidence; each one-sided test runs at (1 − confidence) / 2.
        test: "paired-z" (Miller), "bootstrap", "mcnemar" (exact, no margin) or
            "stuart-maxwell" (metric "verdicts").
        cluster: metadata key to cluster standard errors by (e.g. MMLU "subject").
        resamples: bootstrap resamples.
        seed: bootstrap seed.
        require_power: power needed to trust a pass that did not show non-inferiority.
        detect: effect size the power is for (default: the margin).
        on_underpowered: "warn" (exit 0) or "fail" (exit 1) when power is short.
        allow_unpaired: samples present in only one log are left out (counted) instead of an error.
        max_error_rate: largest share of errored/unscored samples (either log) before the rule
            errors.
        required: False skips the rule (shown) when neither log has its task or scorer.
    """

    name: str
    task: str
    metric: str
    scorer: str | None = None
    direction: Direction = "higher"
    max_drop: float | None = None
    max_drop_relative: float | None = None
    min: float | None = None
    max: float | None = None
    bound: BoundMode = "interval"
    confidence: float = 0.95
    test: Test = "paired-z"
    cluster: str | None = None
    resamples: int = 10_000
    seed: int = 0
    require_power: float | None = None
    detect: float | None = None
    on_underpowered: OnUnderpowered = "warn"
    allow_unpaired: bool = False
    max_error_rate: float = 0.05
    required: bool = True

    @property
    def alpha(self) -> float:
        """One-sided level of each test: the two-sided interval and the test agree."""
        return (1.0 - self.confidence) / 2.0

    @property
    def has_margin(self) -> bool:
        return (
            self.max_drop is not None
            or self.max_drop_relative is not None
            or self.metric == "verdicts"
        )

    @property
    def pass_at_k(self) -> int | None:
        match = PASS_AT.match(self.metric)
        return int(match.group(1)) if match else None


@dataclass(frozen=True)
class GateSpec:
    """A parsed gate: its rules and the family-wise correction across them."""

    rules: tuple[GateRule, ...]
    correction: str = "holm"
    source: str = "<spec>"


_RULE_KEYS = {f.name for f in fields(GateRule)}
_DEFAULTABLE = _RULE_KEYS - {
    "name",
    "task",
    "metric",
    "scorer",
    "max_drop",
    "max_drop_relative",
    "min",
    "max",
    "detect",
}
_GATE_KEYS = _DEFAULTABLE | {"correction"}


def load_spec(path: str | Path) -> GateSpec:
    """Read and check a TOML gate spec.

    Args:
        path: the spec file.
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(
            f"gate spec {path} does not exist: pass the path of a TOML file with [[rule]] tables"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as ex:
        raise SpecError(f"gate spec {path} is not valid TOML: {ex}") from None
    except UnicodeDecodeError as ex:
        raise SpecError(f"gate spec {path} is not UTF-8 text: {ex}") from None
    return parse_spec(data, source=str(path))


def parse_spec(data: dict[str, Any], source: str = "<spec>") -> GateSpec:
    """Check a spec already read from TOML (a dict with ``gate`` and ``rule`` keys).

    Args:
        data: the parsed TOML document.
        source: where it came from, for messages.
    """
    unknown = set(data) - {"gate", "rule"}
    if unknown:
        raise SpecError(
            f"{source}: unknown top-level key(s) {sorted(unknown)}; "
            "a spec has [gate] and [[rule]] tables"
        )
    gate = data.get("gate", {})
    if not isinstance(gate, dict):
        raise SpecError(f"{source}: [gate] must be a table")
    _check_keys(gate, _GATE_KEYS, f"{source} [gate]")
    correction = gate.get("correction", "holm")
    if correction not in CORRECTIONS:
        raise SpecError(
            f"{source} [gate]: correction must be one of {list(CORRECTIONS)}, got {correction!r}"
        )
    defaults = {k: v for k, v in gate.items() if k != "correction"}
    rules_data = data.get("rule")
    if not rules_data:
        raise SpecError(
            f"{source}: no [[rule]] tables; "
            "add at least one rule (task, metric, max_drop or min/max)"
        )
    if not isinstance(rules_data, list):
        raise SpecError(f"{source}: write rules as [[rule]] (an array of tables), not [rule]")
    rules = tuple(
        _parse_rule(r, defaults, f"{source} rule {i + 1}") for i, r in enumerate(rules_data)
    )
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SpecError(f"{source}: rule names must be unique; repeated: {duplicates}")
    return GateSpec(rules=rules, correction=correction, source=source)


def _check_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")


def _parse_rule(raw: Any, defaults: dict[str, Any], where: str) -> GateRule:
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: a rule must be a table")
    _check_keys(raw, _RULE_KEYS, where)
    for key in ("task", "metric"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise SpecError(f"{where}: '{key}' is required (a string)")
    where = f"{where} ({raw.get('name') or raw['task'] + ' ' + raw['metric']})"
    values: dict[str, Any] = {**defaults, **raw}
    values.setdefault("name", f"{raw['task']} {raw['metric']}")
    metric = values["metric"]
    if "direction" not in raw:
        values["direction"] = (
            "lower" if metric in LOWER_IS_BETTER else defaults.get("direction", "higher")
        )
    if metric == "verdicts" and "test" not in raw:
        values["test"] = "stuart-maxwell"
    explicit_power = "require_power" in raw
    try:
        rule = GateRule(**values)
    except TypeError as ex:
        raise SpecError(f"{where}: {ex}") from None
    _check_types(rule, where)
    _check_semantics(rule, where, explicit_power)
    if rule.require_power is not None and not _power_effect(rule):
        # a [gate]-level power requirement applies only where there is an effect size to power for
        rule = replace(rule, require_power=None)
    return rule


def _power_effect(rule: GateRule) -> float:
    if not rule.has_margin:
        return 0.0
    return float(rule.detect or rule.max_drop or rule.max_drop_relative or 0.0)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_types(rule: GateRule, where: str) -> None:
    for key in ("max_drop", "max_drop_relative", "min", "max", "detect", "require_power"):
        value = getattr(rule, key)
        if value is not None and not _number(value):
            raise SpecError(f"{where}: {key} must be a number, got {value!r}")
    for key in ("confidence", "max_error_rate"):
        if not _number(getattr(rule, key)):
            raise SpecError(f"{where}: {key} must be a number, got {getattr(rule, key)!r}")
    for key in ("resamples", "seed"):
        if not isinstance(getattr(rule, key), int) or isinstance(getattr(rule, key), bool):
            raise SpecError(f"{where}: {key} must be an integer, got {getattr(rule, key)!r}")
    for key in ("allow_unpaired", "required"):
        if not isinstance(getattr(rule, key), bool):
            raise SpecError(f"{where}: {key} must be true or false, got {getattr(rule, key)!r}")
    for key in ("name", "task", "metric", "scorer", "cluster"):
        value = getattr(rule, key)
        if value is not None and not isinstance(value, str):
            raise SpecError(f"{where}: {key} must be a string, got {value!r}")


def _choice(value: Any, allowed: tuple[str, ...], key: str, where: str) -> None:
    if value not in allowed:
        raise SpecError(f"{where}: {key} must be one of {list(allowed)}, got {value!r}")


def _check_semantics(rule: GateRule, where: str, explicit_power: bool) -> None:
    _choice(rule.direction, ("higher", "lower"), "direction", where)
    _choice(rule.bound, ("interval", "point"), "bound", where)
    _choice(rule.test, TESTS, "test", where)
    _choice(rule.on_underpowered, ("warn", "fail"), "on_underpowered", where)
    if not 0.5 <= rule.confidence < 1.0:
        raise SpecError(f"{where}: confidence must be in [0.5, 1), got {rule.confidence}")
    if rule.max_drop is not None and rule.max_drop_relative is not None:
        raise SpecError(f"{where}: give max_drop (absolute) or max_drop_relative, not both")
    for key in ("max_drop", "max_drop_relative"):
        value = getattr(rule, key)
        if value is not None and value < 0:
            raise SpecError(f"{where}: {key} is a size and cannot be negative, got {value}")
    if not (rule.has_margin or rule.min is not None or rule.max is not None):
        raise SpecError(
            f"{where}: the rule checks nothing; give max_drop, max_drop_relative, min or max"
        )
    if rule.min is not None and rule.max is not None and rule.min > rule.max:
        raise SpecError(f"{where}: min {rule.min} is above max {rule.max}")
    if rule.test == "mcnemar" and ((rule.max_drop or 0) > 0 or rule.max_drop_relative):
        raise SpecError(
            f"{where}: McNemar's exact test checks for no change (max_drop = 0); "
            'with a margin use test = "paired-z" or "bootstrap"'
        )
    if (rule.test == "stuart-maxwell") != (rule.metric == "verdicts"):
        raise SpecError(
            f'{where}: metric "verdicts" (the win/tie/loss distribution) goes with test '
            '"stuart-maxwell" and only with it'
        )
    if rule.metric == "verdicts" and (
        rule.max_drop or rule.max_drop_relative or rule.min is not None or rule.max is not None
    ):
        raise SpecError(
            f'{where}: metric "verdicts" tests for any shift; it takes no margin or bounds'
        )
    if rule.pass_at_k is not None and rule.pass_at_k < 1:
        raise SpecError(f"{where}: pass@k needs k >= 1, got {rule.metric}")
    if rule.require_power is not None:
        if not 0.0 < rule.require_power < 1.0:
            raise SpecError(f"{where}: require_power must be in (0, 1), got {rule.require_power}")
        if explicit_power and not rule.has_margin:
            raise SpecError(
                f"{where}: require_power applies to a max_drop rule "
                "(power to tell a drop of that size)"
            )
        if explicit_power and not _power_effect(rule):
            raise SpecError(
                f"{where}: require_power needs an effect size: a max_drop above 0, "
                "or detect = <difference>"
            )
    if rule.detect is not None and rule.detect <= 0:
        raise SpecError(f"{where}: detect must be a positive difference, got {rule.detect}")
    if not 0.0 <= rule.max_error_rate <= 1.0:
        raise SpecError(f"{where}: max_error_rate must be in [0, 1], got {rule.max_error_rate}")
    if rule.resamples < 100:
        raise SpecError(f"{where}: resamples must be at least 100, got {rule.resamples}")


def spec_keys() -> dict[str, list[str]]:
    """The keys a spec accepts, for documentation and error messages."""
    return {"gate": sorted(_GATE_KEYS), "rule": sorted(_RULE_KEYS)}
