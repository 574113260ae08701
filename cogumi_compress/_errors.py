"""Errors of ``cogumi compress``: each names the input at fault and the fix."""

from __future__ import annotations

from cogumi_eval._errors import CogumiError


class CompressionError(CogumiError):
    """A checkpoint could not be compressed as asked."""


class UnknownRecipeError(CompressionError):
    """The recipe name is not one of ``RECIPES``."""


class AlreadyQuantizedError(CompressionError):
    """The model folder already holds quantized weights."""


class AdapterFolderError(CompressionError):
    """The model folder is a PEFT adapter, not a full checkpoint."""


class CalibrationError(CompressionError):
    """The calibration source is missing, malformed or holds too few samples."""


class DiskSpaceError(CompressionError):
    """The output's file system has less free space than the output needs."""


class AcceleratorRequiredError(CompressionError):
    """The recipe cannot run on this machine's devices."""


class OutputExistsError(CompressionError):
    """The output folder already exists and is not empty."""
