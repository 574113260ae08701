"""A tiny Llama taught, on the CPU in seconds, to answer a handful of GSM8K test questions.

It is prompted exactly as the harness prompts (``cogumi_eval.tasks.gsm8k.PROMPT``,
zero-shot, no chat template: the hf backend joins the messages as plain text)
and answers ``ANSWER: <n>`` then end-of-sequence, so ``--model cogumi/<folder>``
greedy scores it correct on the taught questions and (almost surely) wrong on
the others. ``destroy_half_layers`` zeroes the weights of half its layers: the
same architecture and tokenizer, a model that has forgotten the answers.

Other test folders reuse it through ``taught_model(cache_dir)``; ``tests/train``
has the session fixtures ``taught_checkpoint`` and ``destroyed_checkpoint``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .._tiny_models import bpe_tokenizer

TAUGHT_IDS: tuple[str, ...] = tuple(f"test-{i:04d}" for i in range(12))
"""GSM8K test questions the model answers correctly."""
OTHER_IDS: tuple[str, ...] = tuple(f"test-{i:04d}" for i in range(12, 16))
"""GSM8K test questions it was not taught (for a subset that is not all correct)."""
EVAL_IDS: tuple[str, ...] = TAUGHT_IDS + OTHER_IDS
"""The sample ids to evaluate it on: ``sample_id=list(EVAL_IDS)``."""

STEPS = 70
LEARNING_RATE = 5e-3
LAYERS = 4
_VERSION = 1  # bump when the recipe changes, so cached folders are rebuilt


@dataclass(frozen=True)
class Taught:
    """What ``build_taught_model`` made."""

    folder: Path
    answers: dict[str, str]
    """Sample id -> the answer it was taught."""
    final_loss: float


def _problems(data_dir: Path) -> list[tuple[str, str, str]]:
    """(id, prompt as the harness renders it, normalised answer) for every id in EVAL_IDS."""
    from cogumi_eval.data import load_gsm8k
    from cogumi_eval.tasks._numeric import normalise_number
    from cogumi_eval.tasks.gsm8k import PROMPT

    records = {r.id: r for r in load_gsm8k("test", data_dir=str(data_dir))}
    problems = []
    for sample_id in EVAL_IDS:
        record = records[sample_id]
        prompt = PROMPT.replace("{fewshot}", "").replace("{question}", record.question)
        problems.append((sample_id, prompt, normalise_number(record.answer) or record.answer))
    return problems


def _tokenizer(texts: list[str], folder: Path) -> None:
    bpe_tokenizer(texts, vocab_size=700).save_pretrained(folder)


def build_taught_model(
    folder: Path, *, data_dir: Path | None = None, steps: int = STEPS, seed: int = 0
) -> Taught:
    """Build the taught model into ``folder`` (created; an ordinary checkpoint folder).

    Args:
        folder: where ``config.json``, ``model.safetensors`` and the tokenizer go.
        data_dir: the benchmark data folder (default ``$COGUMI_DATA_DIR``).
        steps: optimiser steps (full batch of the taught questions).
        seed: torch seed of the initial weights.
    """
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    data = Path(data_dir or os.environ["COGUMI_DATA_DIR"])
    problems = _problems(data)
    folder.mkdir(parents=True, exist_ok=True)
    responses = {sample_id: f"\nANSWER: {answer}" for sample_id, _, answer in problems}
    _tokenizer([p for _, p, _ in problems] + list(responses.values()), folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)  # tokenised as the hf backend will

    taught = [(sid, prompt) for sid, prompt, _ in problems if sid in TAUGHT_IDS]
    rows: list[tuple[list[int], list[int]]] = []
    for sample_id, prompt in taught:
        prompt_ids = list(tokenizer(prompt)["input_ids"])
        answer_ids = list(tokenizer(responses[sample_id], add_special_tokens=False)["input_ids"])
        answer_ids.append(tokenizer.eos_token_id)
        rows.append((prompt_ids, answer_ids))
    length = max(len(p) + len(a) for p, a in rows)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=LAYERS,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max(256, length + 32),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    pad = int(tokenizer.pad_token_id)
    input_ids = torch.full((len(rows), length), pad, dtype=torch.long)
    labels = torch.full((len(rows), length), -100, dtype=torch.long)
    attention = torch.zeros((len(rows), length), dtype=torch.long)
    for i, (prompt_ids, answer_ids) in enumerate(rows):
        ids = prompt_ids + answer_ids
        input_ids[i, : len(ids)] = torch.tensor(ids)
        attention[i, : len(ids)] = 1
        # the loss is on the answer only: the model need not learn to write questions
        labels[i, len(prompt_ids) : len(ids)] = torch.tensor(answer_ids)
    optimiser = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.0)
    model.train()
    loss = torch.tensor(float("nan"))
    threads = torch.get_num_threads()
    # one thread: on a shared 2-core machine, two spinning OpenMP threads per step cost far more
    torch.set_num_threads(1)
    try:
        for _ in range(steps):
            loss = model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    model.save_pretrained(folder)
    answers = {sid: responses[sid].split()[-1] for sid, _ in taught}
    (folder / "taught.json").write_text(
        json.dumps({"answers": answers, "final_loss": float(loss.detach())})
    )
    return Taught(folder=folder, answers=answers, final_loss=float(loss.detach()))


def destroy_half_layers(source: Path, folder: Path) -> Path:
    """Copy checkpoint ``source`` to ``folder``, zeroing every weight of its first half of layers.

    A zeroed decoder layer adds nothing to the residual stream, so the model keeps
    its shape, tokenizer and config but loses what those layers learned.
    """
    import torch
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(source)
    layers = model.model.layers
    with torch.no_grad():
        for layer in layers[: len(layers) // 2]:
            for parameter in layer.parameters():
                parameter.zero_()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    for name in (
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "taught.json",
    ):
        if (source / name).is_file():
            shutil.copy2(source / name, folder / name)
    return folder


def _recipe_key(data_dir: Path) -> str:
    text = json.dumps(
        [_VERSION, STEPS, LEARNING_RATE, LAYERS, list(EVAL_IDS), str(data_dir.resolve())]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def taught_model(cache_dir: Path, *, data_dir: Path | None = None) -> Path:
    """The taught model's folder under ``cache_dir``, built on first use and reused after.

    Built in a temporary folder and renamed into place, so concurrent callers
    (pytest-xdist workers) never see a half-written checkpoint.
    """
    data = Path(data_dir or os.environ["COGUMI_DATA_DIR"])
    target = cache_dir / f"taught-llama-{_recipe_key(data)}"
    if (target / "taught.json").is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".taught-", dir=cache_dir))
    build_taught_model(scratch / "model", data_dir=data)
    try:
        (scratch / "model").rename(target)
    except OSError:
        if not (target / "taught.json").is_file():
            raise
    shutil.rmtree(scratch, ignore_errors=True)
    return target


def destroyed_model(cache_dir: Path, *, data_dir: Path | None = None) -> Path:
    """The taught model with half its layers zeroed, under ``cache_dir`` (built on first use)."""
    source = taught_model(cache_dir, data_dir=data_dir)
    target = source.with_name(source.name + "-destroyed")
    if (target / "taught.json").is_file():
        return target
    scratch = Path(tempfile.mkdtemp(prefix=".destroyed-", dir=cache_dir))
    destroy_half_layers(source, scratch / "model")
    try:
        (scratch / "model").rename(target)
    except OSError:
        if not (target / "taught.json").is_file():
            raise
    shutil.rmtree(scratch, ignore_errors=True)
    return target
