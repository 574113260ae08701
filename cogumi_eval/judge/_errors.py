"""What can go wrong while judging, each a ``CogumiError`` so the ``cogumi`` command exits 2."""

from __future__ import annotations

from .._errors import CogumiError


class JudgeDefinitionError(CogumiError):
    """A judge definition under ``judges/`` is missing or malformed."""


class BaselineError(CogumiError):
    """A baseline file is malformed, or a sample has no usable baseline answer."""


class BaselineMissingError(BaselineError):
    """A sample has no stored baseline answer from the requested model."""


class BaselineStaleError(BaselineError):
    """The stored baseline answer was generated for a different input than this sample's."""


class BudgetExceededError(CogumiError):
    """A new model call would pass the dollar budget; no call was made."""


class PriceError(CogumiError):
    """A price table is malformed, or a budget was set for a model without a price."""
