"""The grouped-query decode attention computes what transformers' eager attention computes."""

from __future__ import annotations

from pathlib import Path

import torch

from cogumi_eval.model._attention import register


def test_decode_step_logits_match_eager_attention_with_left_padding(tiny_checkpoint: Path) -> None:
    from transformers import AutoModelForCausalLM, DynamicCache

    name = register()
    assert name is not None
    torch.manual_seed(0)
    ids = torch.randint(4, 300, (3, 12))
    mask = torch.ones(3, 12, dtype=torch.long)
    mask[0, :5] = 0
    mask[1, :2] = 0
    logits = []
    for implementation in ("eager", name):
        model = AutoModelForCausalLM.from_pretrained(
            tiny_checkpoint, attn_implementation=implementation
        ).eval()
        cache = DynamicCache(config=model.config)
        with torch.inference_mode():
            model(
                input_ids=ids,
                attention_mask=mask,
                position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
                past_key_values=cache,
            )
            step = model(
                input_ids=torch.tensor([[5], [6], [7]]),
                attention_mask=torch.cat([mask, torch.ones(3, 1, dtype=torch.long)], 1),
                position_ids=mask.sum(-1)[:, None],
                past_key_values=cache,
            )
        logits.append(step.logits)

    assert (
        model.config.num_attention_heads > model.config.num_key_value_heads
    )  # the grouped path ran
    torch.testing.assert_close(logits[1], logits[0], rtol=1e-5, atol=1e-5)
