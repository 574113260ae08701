"""The ``cogumi`` model API: checkpoints, PEFT adapters and registry names, with lineage.

``--model cogumi/<ref>`` evaluates a checkpoint folder, an adapter folder or a
registry name with the hf, vllm or replay backend; ``read_lineage(log)`` is the
stable way to learn which weights produced a log; ``refuse_quantized_base`` is
the guard every merge path calls.
"""

from ._errors import (
    BackendUnavailableError,
    BaseModelNotFoundError,
    CorruptWeightsError,
    ModelError,
    ModelOptionError,
    ModelRefError,
    QuantizedBaseError,
    ReplayError,
    TokenizerMissingError,
)
from ._lineage import Determinism, Lineage, lineage
from ._quantization import (
    BaseCheck,
    Quantization,
    check_adapter_base,
    detect_quantization,
    refuse_quantized_base,
)
from ._read import LINEAGE_KEY, read_lineage
from ._ref import ModelRef, registry_entries, resolve_ref
from ._weights import WeightsDigest, weights_digest

__all__ = [
    "LINEAGE_KEY",
    "BackendUnavailableError",
    "BaseCheck",
    "BaseModelNotFoundError",
    "CorruptWeightsError",
    "Determinism",
    "Lineage",
    "ModelError",
    "ModelOptionError",
    "ModelRef",
    "ModelRefError",
    "Quantization",
    "QuantizedBaseError",
    "ReplayError",
    "TokenizerMissingError",
    "WeightsDigest",
    "check_adapter_base",
    "detect_quantization",
    "lineage",
    "read_lineage",
    "refuse_quantized_base",
    "registry_entries",
    "resolve_ref",
    "weights_digest",
]
