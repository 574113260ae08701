"""The hf backend through Inspect: checkpoints and adapters on GSM8K, batching, decoding
settings."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai.model import ChatMessageUser, GenerateConfig, get_model

from cogumi_eval import gsm8k
from cogumi_eval.model import read_lineage, weights_digest

QUESTION = "Question: Janet's ducks lay 16 eggs per day. How much in dollars does she make?"


def _generate(
    model_name: str, prompts: list[str], config: GenerateConfig, **model_args: object
) -> list:
    model = get_model(model_name, memoize=False, **model_args)

    async def run() -> list:
        return await asyncio.gather(
            *(model.generate([ChatMessageUser(content=p)], config=config) for p in prompts)
        )

    return asyncio.run(run())


def test_checkpoint_folder_evaluates_gsm8k_with_usage_and_lineage(tiny_checkpoint: Path) -> None:
    log = eval(gsm8k(), model=f"cogumi/{tiny_checkpoint}", limit=3, max_tokens=12, display="none")[
        0
    ]

    assert log.status == "success"
    assert [s.scores["final_number"].value in ("C", "I") for s in log.samples] == [True] * 3
    assert all(
        s.output.usage.output_tokens > 0 and s.output.usage.input_tokens > 50 for s in log.samples
    )
    lineage = read_lineage(log)
    assert lineage["kind"] == "checkpoint"
    assert lineage["weights"]["sha256"] == weights_digest(tiny_checkpoint).sha256
    assert lineage["determinism"]["dtype"] == "float32"
    assert lineage["determinism"]["decoding"] == "greedy"
    assert lineage["quantization"] is None


def test_adapter_folder_evaluates_on_its_base_and_changes_the_answers(
    tiny_checkpoint: Path, tiny_adapter: Path
) -> None:
    base = eval(gsm8k(), model=f"cogumi/{tiny_checkpoint}", limit=3, max_tokens=12, display="none")[
        0
    ]
    tuned = eval(gsm8k(), model=f"cogumi/{tiny_adapter}", limit=3, max_tokens=12, display="none")[0]

    assert tuned.status == "success"
    lineage = read_lineage(tuned)
    assert lineage["kind"] == "adapter"
    assert lineage["base_path"] == str(tiny_checkpoint.resolve())
    assert lineage["adapter_weights"]["sha256"] == weights_digest(tiny_adapter).sha256
    assert lineage["base_check"]["quantization"] is None
    assert [s.output.completion for s in tuned.samples] != [
        s.output.completion for s in base.samples
    ]


def test_batched_greedy_outputs_equal_one_at_a_time(tiny_checkpoint: Path) -> None:
    alone = eval(
        gsm8k(),
        model=get_model(f"cogumi/{tiny_checkpoint}", batch_size=1, memoize=False),
        limit=5,
        max_tokens=16,
        display="none",
    )[0]
    together = eval(
        gsm8k(),
        model=get_model(f"cogumi/{tiny_checkpoint}", batch_size=8, memoize=False),
        limit=5,
        max_tokens=16,
        display="none",
    )[0]

    assert max(s.output.metadata["batch_size"] for s in together.samples) == 5
    assert {s.output.metadata["batch_size"] for s in alone.samples} == {1}
    assert [s.output.completion for s in together.samples] == [
        s.output.completion for s in alone.samples
    ]


def test_merged_adapter_gives_the_unmerged_greedy_answers(tiny_adapter: Path) -> None:
    config = GenerateConfig(max_tokens=16)
    unmerged = _generate(f"cogumi/{tiny_adapter}", [QUESTION], config)
    merged = _generate(f"cogumi/{tiny_adapter}", [QUESTION], config, merge=True)

    assert merged[0].completion == unmerged[0].completion


def test_max_tokens_bounds_the_answer_and_is_reported(tiny_checkpoint: Path) -> None:
    [output] = _generate(f"cogumi/{tiny_checkpoint}", [QUESTION], GenerateConfig(max_tokens=7))

    assert output.usage.output_tokens == 7
    assert output.stop_reason == "max_tokens"


def test_stop_sequence_ends_the_answer_before_it(tiny_checkpoint: Path) -> None:
    [full] = _generate(f"cogumi/{tiny_checkpoint}", [QUESTION], GenerateConfig(max_tokens=24))
    text = full.completion
    stop = text[len(text) // 2 : len(text) // 2 + 3]
    [cut] = _generate(
        f"cogumi/{tiny_checkpoint}", [QUESTION], GenerateConfig(max_tokens=24, stop_seqs=[stop])
    )

    assert cut.completion == text[: text.find(stop)]
    assert cut.stop_reason == "stop"
    assert cut.usage.output_tokens < full.usage.output_tokens


def test_seeded_sampling_does_not_depend_on_the_batch(tiny_checkpoint: Path) -> None:
    config = GenerateConfig(max_tokens=16, temperature=1.0, seed=7)
    others = ["How many apples are left?", "The answer is", "A robe takes 2 bolts"]
    [alone] = _generate(f"cogumi/{tiny_checkpoint}", [QUESTION], config)
    batched = _generate(f"cogumi/{tiny_checkpoint}", [QUESTION, *others], config)
    reseeded = _generate(
        f"cogumi/{tiny_checkpoint}", [QUESTION], config.merge(GenerateConfig(seed=8))
    )

    assert batched[0].completion == alone.completion
    assert reseeded[0].completion != alone.completion


def test_chat_template_is_applied_when_the_tokenizer_has_one(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from .conftest import build_checkpoint

    template = (
        "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endfor %}<|assistant|>"
    )
    folder = build_checkpoint(tmp_path / "chat", chat_template=template)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    expected = len(
        tokenizer(f"<|user|>{QUESTION}</s><|assistant|>", add_special_tokens=False)["input_ids"]
    )
    plain = len(tokenizer(QUESTION)["input_ids"])

    [templated] = _generate(f"cogumi/{folder}", [QUESTION], GenerateConfig(max_tokens=2))
    [raw] = _generate(
        f"cogumi/{folder}", [QUESTION], GenerateConfig(max_tokens=2), chat_template=False
    )

    assert templated.usage.input_tokens == expected
    assert raw.usage.input_tokens == plain


def test_dtype_option_sets_the_weights_dtype_in_lineage(tiny_checkpoint: Path) -> None:
    model = get_model(f"cogumi/{tiny_checkpoint}", dtype="bfloat16", memoize=False)

    assert model.api.lineage().determinism.dtype == "bfloat16"


def test_adapter_on_a_quantized_base_warns_loudly(
    tiny_checkpoint: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from .conftest import build_adapter

    adapter = build_adapter(
        tiny_checkpoint, tmp_path / "qlora-style", base_name="unsloth/llama-3-8b-bnb-4bit"
    )
    with caplog.at_level(logging.WARNING):
        model = get_model(f"cogumi/{adapter}", base=str(tiny_checkpoint), memoize=False)

    assert "QUANTIZED BASE" in caplog.text and "unsloth/llama-3-8b-bnb-4bit" in caplog.text
    assert model.api.lineage().base_check.quantized
