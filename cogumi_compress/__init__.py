"""Compression as a consumer of the Cogumi harness: AWQ, GPTQ, W8A8 and 2:4 through llmcompressor.

``compress(model, recipe=..., out=...)`` applies one of ``RECIPES`` with
llmcompressor's one-shot flow and writes a compressed-tensors checkpoint with
its size report and lineage (``compression.json``). The result is evaluated
like any other model (``--model cogumi/<out>``) and promoted only when
``cogumi promote`` finds no regression against its parent under
``results/gates/compression.toml``.

Names are imported on first use: ``import cogumi_compress`` loads neither
torch nor llmcompressor (whose import must not change other libraries'
behaviour in a process that never compresses).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogumi_eval._lazy import lazy_exports

if TYPE_CHECKING:
    from ._calibration import MIN_SAMPLES, CalibrationSet, calibration_set
    from ._compress import RECORD_FILE, CompressionResult, compress, read_record
    from ._errors import (
        AcceleratorRequiredError,
        AdapterFolderError,
        AlreadyQuantizedError,
        CalibrationError,
        CompressionError,
        DiskSpaceError,
        OutputExistsError,
        UnknownRecipeError,
    )
    from ._recipe import RECIPES, Recipe, get_recipe
    from ._report import LayerSize, SizeReport, size_report

_EXPORTS: dict[str, str] = {
    "MIN_SAMPLES": "._calibration",
    "CalibrationSet": "._calibration",
    "calibration_set": "._calibration",
    "RECORD_FILE": "._compress",
    "CompressionResult": "._compress",
    "compress": "._compress",
    "read_record": "._compress",
    "AcceleratorRequiredError": "._errors",
    "AdapterFolderError": "._errors",
    "AlreadyQuantizedError": "._errors",
    "CalibrationError": "._errors",
    "CompressionError": "._errors",
    "DiskSpaceError": "._errors",
    "OutputExistsError": "._errors",
    "UnknownRecipeError": "._errors",
    "RECIPES": "._recipe",
    "Recipe": "._recipe",
    "get_recipe": "._recipe",
    "LayerSize": "._report",
    "SizeReport": "._report",
    "size_report": "._report",
}

__all__ = [
    "AcceleratorRequiredError",
    "AdapterFolderError",
    "AlreadyQuantizedError",
    "CalibrationError",
    "CalibrationSet",
    "CompressionError",
    "CompressionResult",
    "DiskSpaceError",
    "LayerSize",
    "MIN_SAMPLES",
    "OutputExistsError",
    "RECIPES",
    "RECORD_FILE",
    "Recipe",
    "SizeReport",
    "UnknownRecipeError",
    "calibration_set",
    "compress",
    "get_recipe",
    "read_record",
    "size_report",
]


__getattr__ = lazy_exports(__name__, _EXPORTS)
