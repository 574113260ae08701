"""Compression fixtures: a tiny Llama made in the test, and its compressed copies (made once).

The parent has 128-wide layers, so the int4 recipes' default group of 128
applies unchanged. Calibration is drawn from the task datasets (GSM8K train,
MMLU validation) with a few samples, as ``cogumi compress`` does with 256.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .._tiny_models import bpe_tokenizer, random_llama

SENTENCES = [
    "Solve the following math problem step by step. Show your reasoning, then give the answer.",
    "Question: Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning.",
    "The following is a multiple choice question about anatomy. ANSWER: A B C D",
    "ANSWER: 18. The answer is 42. 0 1 2 3 4 5 6 7 8 9 10 100 1000",
]

CALIBRATION = "gsm8k:8,mmlu:8"
CPU_RECIPES = ("gptq-w4a16", "w8a8", "sparse-2of4", "sparse-2of4+w4a16")


def build_parent(folder: Path, *, seed: int = 0) -> Path:
    """Save a random 2-layer, 128-wide Llama and a byte-level BPE tokenizer into ``folder``."""
    return random_llama(
        folder,
        bpe_tokenizer(SENTENCES, vocab_size=400),
        seed=seed,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
    )


@pytest.fixture(scope="session")
def parent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The uncompressed tiny Llama (float32)."""
    return build_parent(tmp_path_factory.mktemp("parent") / "tiny-llama")


@pytest.fixture(scope="session")
def compressed(
    parent: Path, tmp_path_factory: pytest.TempPathFactory, data_dir: Path
) -> dict[str, Any]:
    """recipe -> ``CompressionResult`` for every recipe that runs on the CPU (made once)."""
    from cogumi_compress import calibration_set, compress

    calibration = calibration_set(CALIBRATION, seed=0, data_dir=data_dir)
    root = tmp_path_factory.mktemp("compressed")
    return {
        recipe: compress(
            parent, recipe=recipe, out=root / recipe, calibration=calibration, max_seq_length=128
        )
        for recipe in CPU_RECIPES
    }
