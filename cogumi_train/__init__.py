"""Training as a consumer of the Cogumi harness: data, LoRA / QLoRA, merge, distil, promote.

Every merge path calls ``cogumi_eval.model.refuse_quantized_base`` first, and a
model is recorded in the registry only when ``cogumi_eval.gate.evaluate_gate``
finds no regression against its baseline.

Names are imported on first use, so ``import cogumi_train`` loads neither torch
nor Inspect.
"""

from __future__ import annotations

from cogumi_eval._lazy import lazy_exports

# public name -> private module that defines it
_EXPORTS: dict[str, str] = {
    "dedup": ".data",
    "DedupResult": ".data",
    "filter_data": ".data",
    "FilterResult": ".data",
    "lora": "._lora",
    "LoraResult": "._lora",
    "merge": "._merge",
    "MergeResult": "._merge",
    "MergeCheck": "._merge",
    "distill": "._distill",
    "DistillResult": "._distill",
    "promote": "._promote",
    "Promotion": "._promote",
    "Registry": "._registry",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
