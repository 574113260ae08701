"""Errors of the ``cogumi`` model API: each names the input at fault and the fix."""

from __future__ import annotations

import functools

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


@functools.cache
def _prerequisite(cls: type[ModelError]) -> type[ModelError]:
    from inspect_ai._util.error import PrerequisiteError

    return type(cls.__name__, (cls, PrerequisiteError), {"__module__": cls.__module__})


def shown_by_inspect(error: ModelError) -> ModelError:
    """``error`` as the same class and also Inspect's ``PrerequisiteError``.

    Inspect's command line prints a ``PrerequisiteError`` as its message alone,
    without a traceback. Only the model API (running inside Inspect) converts,
    so ``cogumi lineage`` and the other commands start without importing Inspect.
    """
    shown = _prerequisite(type(error))(str(error))
    shown.message = str(error)  # type: ignore[attr-defined]
    return shown
