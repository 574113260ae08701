"""Regression gates: compare a candidate run with a baseline run under a TOML spec of rules.

``evaluate_gate(baseline, candidate, spec)`` returns a ``GateReport`` (JSON,
Markdown, rich table; ``exit_code`` 0 pass, 1 regression, 2 error). The same
rules run from ``cogumi gate`` and as pytest items (the ``cogumi`` pytest plugin).

Names are imported on first use: the pytest plugin lives in this package and is
loaded by every pytest session, so importing the package must stay cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ._errors import GateError, LogError, SpecError
    from ._evaluate import evaluate_gate
    from ._logs import RunLog, load_runs, read_run_log
    from ._report import BoundCheck, GateReport, PowerCheck, RuleResult
    from ._spec import GateRule, GateSpec, builtin_metrics, load_spec, parse_spec

_EXPORTS: dict[str, str] = {
    "GateError": "._errors",
    "LogError": "._errors",
    "SpecError": "._errors",
    "evaluate_gate": "._evaluate",
    "RunLog": "._logs",
    "load_runs": "._logs",
    "read_run_log": "._logs",
    "BoundCheck": "._report",
    "GateReport": "._report",
    "PowerCheck": "._report",
    "RuleResult": "._report",
    "GateRule": "._spec",
    "GateSpec": "._spec",
    "builtin_metrics": "._spec",
    "load_spec": "._spec",
    "parse_spec": "._spec",
}

__all__ = [
    "BoundCheck",
    "GateError",
    "GateReport",
    "GateRule",
    "GateSpec",
    "LogError",
    "PowerCheck",
    "RuleResult",
    "RunLog",
    "SpecError",
    "builtin_metrics",
    "evaluate_gate",
    "load_runs",
    "load_spec",
    "parse_spec",
    "read_run_log",
]


__getattr__ = lazy_exports(__name__, _EXPORTS)
