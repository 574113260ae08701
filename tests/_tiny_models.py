"""Tiny models for tests, built offline in seconds: a byte-level BPE and a random Llama.

Test modules import it relatively (``from .._tiny_models import random_llama``):
under ``--import-mode=importlib`` each test folder is a package of ``tests``.
Every tokenizer has the same four special tokens, so ids 0-3 are
``<unk>``, ``<s>``, ``</s>``, ``<pad>`` and every Llama uses them as such.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>"]


def bpe_tokenizer(
    texts: Iterable[str], *, vocab_size: int, chat_template: str | None = None
) -> Any:
    """A byte-level BPE tokenizer trained on ``texts`` (a ``PreTrainedTokenizerFast``)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=SPECIAL_TOKENS,
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
    return tokenizer


def random_llama(folder: Path, tokenizer: Any, *, seed: int = 0, **config: Any) -> Path:
    """Save a Llama with random weights (torch seed ``seed``) and ``tokenizer`` into ``folder``.

    ``config`` is the ``LlamaConfig`` shape (``hidden_size=64, ...``); the vocabulary
    and the special token ids come from the tokenizer.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    llama = LlamaConfig(
        vocab_size=len(tokenizer), bos_token_id=1, eos_token_id=2, pad_token_id=3, **config
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(llama).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
