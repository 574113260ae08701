"""Errors of the ``cogumi`` model API: each names the input at fault and the fix."""

from __future__ import annotations

from .._errors import CogumiError


class ModelError(CogumiError):
    """A model reference, checkpoint or option could not be used."""


class ModelRefError(ModelError):
    """A ref is neither a checkpoint folder, an adapter folder nor a registry name."""


class BaseModelNotFoundError(ModelError):
    """An adapter's base model could not be located."""


class TokenizerMissingError(ModelError):
    """A checkpoint folder holds no tokenizer files."""


class CorruptWeightsError(ModelError):
    """A weight file is truncated or its header cannot be read."""


class ModelOptionError(ModelError):
    """An ``-M`` option is unknown for the backend, or its value is invalid."""


class QuantizedBaseError(ModelError):
    """An adapter trained on a quantized base was about to be merged."""


class ReplayError(ModelError):
    """A replay source is unusable, or holds no recording for a request."""


class BackendUnavailableError(ModelError):
    """The backend asked for is not installed or cannot run on this machine."""
