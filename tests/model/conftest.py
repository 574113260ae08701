"""Tiny models built in the tests: a 2-layer Llama, a byte-level BPE tokenizer and a LoRA
adapter."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

SENTENCES = [
    (
        "Solve the following math problem step by step. "
        "Show your reasoning, then give the final answer."
    ),
    "Question: Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning.",
    "She sells the remainder at the farmers' market daily for $2 per fresh duck egg.",
    "How much in dollars does she make every day at the farmers' market?",
    "ANSWER: 18. The answer is 42. 0 1 2 3 4 5 6 7 8 9 10 100 1000",
    "A robe takes 2 bolts of blue fiber and half that much white fiber. How many bolts in total?",
]


def build_checkpoint(folder: Path, *, seed: int = 0, chat_template: str | None = None) -> Path:
    """Save a random 2-layer Llama and a tokenizer trained on a few sentences into ``folder``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        SENTENCES,
        trainers.BpeTrainer(
            vocab_size=400,
            special_tokens=["<unk>", "<s>", "</s>", "<pad>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
    )
    if chat_template:
        tokenizer.chat_template = chat_template
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=3,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_adapter(base: Path, folder: Path, *, base_name: str | None = None) -> Path:
    """Save a LoRA adapter with random (non-zero) weights for the checkpoint at ``base``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_pretrained(base)
    lora = LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    get_peft_model(model, lora).save_pretrained(folder)
    config_path = folder / "adapter_config.json"
    config = json.loads(config_path.read_text())
    config["base_model_name_or_path"] = base_name or str(base)
    config_path.write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama checkpoint folder with its tokenizer (no chat template)."""
    return build_checkpoint(tmp_path_factory.mktemp("models") / "tiny-llama")


@pytest.fixture(scope="session")
def tiny_adapter(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter folder whose adapter_config.json names ``tiny_checkpoint`` as its base."""
    return build_adapter(tiny_checkpoint, tmp_path_factory.mktemp("adapters") / "tiny-lora")


@pytest.fixture
def checkpoint_copy(tiny_checkpoint: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny checkpoint that a test may damage."""
    return Path(shutil.copytree(tiny_checkpoint, tmp_path / "copy"))
