"""Tiny models and data for the LoRA and merge tests, built offline in seconds.

The Llama has hidden size 64 and MLP width 128: every linear layer's input width
is a multiple of bitsandbytes' 4-bit block (64), because the CPU kernel of
bitsandbytes 0.50 dequantizes rows narrower than a block wrongly (a row of 32
comes back with values from the wrong block), which would make QLoRA here test
that bug rather than Cogumi.

Trained adapters are shared by the LoRA and merge test files through
``shared(...)``, which builds each once per session.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .._tiny_models import bpe_tokenizer, random_llama

SENTENCES = [
    "Add the two numbers and give only the sum.",
    "What is the capital of the country? Answer with one word.",
    "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
    "Paris Rome Madrid Berlin Lisbon Vienna",
    "The answer is 42. ANSWER: 7",
]

CAPITALS = [
    ("France", "Paris"),
    ("Italy", "Rome"),
    ("Spain", "Madrid"),
    ("Germany", "Berlin"),
    ("Portugal", "Lisbon"),
    ("Austria", "Vienna"),
]

_built: dict[str, Any] = {}


def build_base(folder: Path, *, seed: int = 0, chat_template: str | None = None) -> Path:
    """Save a random 2-layer Llama (hidden 64) and a byte-level BPE tokenizer into ``folder``."""
    return random_llama(
        folder,
        bpe_tokenizer(SENTENCES, vocab_size=320, chat_template=chat_template),
        seed=seed,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=False,
        initializer_range=0.2,
    )


def capital_records() -> list[dict[str, str]]:
    """Instruction/response pairs a tiny model learns in a few dozen steps."""
    return [
        {
            "instruction": f"What is the capital of {country}? Answer with one word.",
            "response": city,
        }
        for country, city in CAPITALS
    ]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def shared(key: str, factory: Callable[[], Any]) -> Any:
    """``factory()`` built once per test session (for fixtures used by several test files)."""
    if key not in _built:
        _built[key] = factory()
    return _built[key]


def train(base: Path, data: Path, out: Path, **options: Any) -> Any:
    """A short, deterministic LoRA run on the CPU (a learning rate that moves a tiny model)."""
    from cogumi_train import lora

    settings: dict[str, Any] = {
        "rank": 8,
        "alpha": 16,
        "dropout": 0.0,
        "lr": 1e-2,
        "steps": 12,
        "batch_size": 6,
        "seed": 0,
        "device": "cpu",
        "progress": False,
    }
    settings.update(options)
    return lora(base, data, out, **settings)


@pytest.fixture
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Llama checkpoint folder with its tokenizer (no chat template)."""
    return shared("base", lambda: build_base(tmp_path_factory.mktemp("base") / "tiny-llama"))


@pytest.fixture
def capitals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JSONL file of six instruction/response records."""
    return shared(
        "capitals",
        lambda: write_jsonl(tmp_path_factory.mktemp("data") / "capitals.jsonl", capital_records()),
    )


@pytest.fixture
def lora_adapter(tiny_base: Path, capitals: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A ``LoraResult``: 12 steps of LoRA on the fp32 base."""
    return shared(
        "lora", lambda: train(tiny_base, capitals, tmp_path_factory.mktemp("adapters") / "lora")
    )


@pytest.fixture
def qlora_adapter(tiny_base: Path, capitals: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A ``LoraResult``: 12 steps of QLoRA on the base quantized to NF4 on the fly."""
    return shared(
        "qlora",
        lambda: train(
            tiny_base, capitals, tmp_path_factory.mktemp("adapters") / "qlora", quantize="nf4"
        ),
    )
