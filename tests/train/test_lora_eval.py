"""--model cogumi/<QLoRA adapter>: evaluated on its base quantized exactly as in training."""

from __future__ import annotations

import asyncio
from typing import Any

from inspect_ai.model import ChatMessageUser, GenerateConfig, get_model

from . import _tiny

# the shared fixtures, built once per session whichever file asks first
capitals = _tiny.capitals
qlora_adapter = _tiny.qlora_adapter
tiny_base = _tiny.tiny_base


def test_qlora_adapter_is_evaluated_on_its_nf4_base_and_lineage_says_so(qlora_adapter: Any) -> None:
    import bitsandbytes as bnb

    model = get_model(f"cogumi/{qlora_adapter.out}", device="cpu", memoize=False)
    question = "What is the capital of Spain? Answer with one word."
    output = asyncio.run(
        model.generate([ChatMessageUser(content=question)], config=GenerateConfig(max_tokens=4))
    )
    lineage = model.api.lineage()  # type: ignore[attr-defined]

    assert lineage.base_loaded_as["quant_type"] == "nf4"
    assert lineage.base_loaded_as["double_quant"] is True
    assert lineage.base_check.quantized
    assert lineage.training["kind"] == "qlora"
    layers = list(model.api.backend.model.modules())  # type: ignore[attr-defined]
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in layers)
    assert output.usage is not None and output.usage.output_tokens > 0
