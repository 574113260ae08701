"""What analysis raises and warns."""

from __future__ import annotations

from .._errors import CogumiError


class AnalysisError(CogumiError):
    """Logs that cannot be analysed as asked (none found, different tasks, nothing to pair)."""


class LogProblemWarning(UserWarning):
    """A log was skipped (unreadable) or is incomplete; the others still load."""
