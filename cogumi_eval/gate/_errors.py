"""Errors a gate reports with exit status 2: the spec or the logs cannot be used as given."""

from __future__ import annotations

from .._errors import CogumiError


class GateError(CogumiError):
    """The gate cannot be evaluated; the message names the input and the fix."""


class SpecError(GateError):
    """The gate spec (TOML) is malformed or asks for something impossible."""


class LogError(GateError):
    """An eval log or folder of logs cannot be read or paired."""
