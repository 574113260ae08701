"""The batching engine on its own: requests joining a running batch, finishing early, or
cancelled."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cogumi_eval.model._engine import BatchEngine, GenerationRequest

PROMPTS = [
    "Janet has 16 eggs",
    "The answer is",
    "How many apples are left? She sells the remainder",
    "A robe takes 2 bolts of blue fiber and half that much white fiber. How many bolts in total?",
]


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint: Path) -> tuple:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_checkpoint).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoint)
    return model, tokenizer


def _engine(loaded: tuple, **options: object) -> BatchEngine:
    model, tokenizer = loaded
    return BatchEngine(model, eos_ids=set(), decode=tokenizer.decode, **{"max_batch": 8, **options})


def _request(loaded: tuple, text: str, new: int) -> GenerationRequest:
    return GenerationRequest(prompt=loaded[1](text)["input_ids"], max_new_tokens=new)


def _alone(loaded: tuple, text: str, new: int) -> list[int]:
    engine = _engine(loaded, max_batch=1)
    try:
        return engine.submit(_request(loaded, text, new)).result(timeout=60).tokens
    finally:
        engine.close()


def test_requests_joining_a_running_batch_decode_as_if_alone(loaded: tuple) -> None:
    engine = _engine(loaded)
    try:
        first = engine.submit(_request(loaded, PROMPTS[3], 40))
        while engine.stats.steps < 5:
            time.sleep(0.005)
        later = [engine.submit(_request(loaded, p, 12)) for p in PROMPTS[:3]]
        results = [f.result(timeout=60) for f in [first, *later]]
    finally:
        engine.close()

    assert engine.stats.merges >= 1
    assert max(r.batch_size for r in results) == 4
    assert [r.tokens for r in results] == [
        _alone(loaded, PROMPTS[3], 40),
        *(_alone(loaded, p, 12) for p in PROMPTS[:3]),
    ]


def test_rows_that_finish_early_leave_the_others_unchanged(loaded: tuple) -> None:
    engine = _engine(loaded)
    lengths = [
        3,
        30,
        7,
        30,
    ]  # the longest prompt finishes first, so its padding columns are cropped
    try:
        futures = [
            engine.submit(_request(loaded, p, n))
            for p, n in zip(reversed(PROMPTS), lengths, strict=False)
        ]
        results = [f.result(timeout=60) for f in futures]
    finally:
        engine.close()

    assert [len(r.tokens) for r in results] == lengths
    assert [r.tokens for r in results] == [
        _alone(loaded, p, n) for p, n in zip(reversed(PROMPTS), lengths, strict=False)
    ]


def test_a_cancelled_request_is_dropped_and_the_rest_complete(loaded: tuple) -> None:
    engine = _engine(loaded)
    try:
        doomed = engine.submit(_request(loaded, PROMPTS[0], 500))
        kept = engine.submit(_request(loaded, PROMPTS[1], 20))
        doomed.cancel()
        result = kept.result(timeout=60)
        while engine._batch is not None:  # the cancelled row leaves at the next step
            time.sleep(0.005)
    finally:
        engine.close()

    assert result.tokens == _alone(loaded, PROMPTS[1], 20)
    assert engine.stats.steps < 100


def test_kv_budget_limits_how_many_rows_decode_together(loaded: tuple) -> None:
    widest = max(len(loaded[1](p)["input_ids"]) for p in PROMPTS)
    engine = _engine(loaded, kv_budget_tokens=2 * (widest + 10))
    try:
        results = [
            f.result(timeout=60) for f in [engine.submit(_request(loaded, p, 10)) for p in PROMPTS]
        ]
    finally:
        engine.close()

    assert engine.largest_batch == 2
    assert [r.tokens for r in results] == [_alone(loaded, p, 10) for p in PROMPTS]


def test_eos_ends_a_row_without_emitting_it(loaded: tuple) -> None:
    tokens = _alone(loaded, PROMPTS[0], 12)
    model, tokenizer = loaded
    engine = BatchEngine(model, eos_ids={tokens[5]}, decode=tokenizer.decode, max_batch=4)
    try:
        result = engine.submit(_request(loaded, PROMPTS[0], 12)).result(timeout=60)
    finally:
        engine.close()

    assert (result.tokens, result.finish) == (tokens[: tokens.index(tokens[5])], "eos")


@pytest.fixture(scope="module")
def slot_loaded(tiny_checkpoint: Path) -> tuple:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from cogumi_eval.model._attention import register

    model = AutoModelForCausalLM.from_pretrained(
        tiny_checkpoint, attn_implementation=register()
    ).eval()
    return model, AutoTokenizer.from_pretrained(tiny_checkpoint)


def test_slot_decoding_gives_the_dynamic_cache_answers(loaded: tuple, slot_loaded: tuple) -> None:
    from cogumi_eval.model._slots import slot_compatible

    assert slot_compatible(slot_loaded[0])
    engine = _engine(slot_loaded, slot_decoding=True)
    lengths = [3, 30, 7, 30]
    try:
        first = engine.submit(_request(slot_loaded, PROMPTS[3], 40))
        while engine.stats.steps < 5:
            time.sleep(0.005)
        later = [
            engine.submit(_request(slot_loaded, p, n))
            for p, n in zip(PROMPTS, lengths, strict=False)
        ]
        results = [f.result(timeout=60) for f in [first, *later]]
        slots_used = engine._decoder is not None
    finally:
        engine.close()

    assert slots_used and engine.stats.prefills >= 2 and engine.stats.merges == 0
    expected = [
        _alone(loaded, PROMPTS[3], 40),
        *(_alone(loaded, p, n) for p, n in zip(PROMPTS, lengths, strict=False)),
    ]
    assert [r.tokens for r in results] == expected


def test_slots_widen_for_a_request_longer_than_they_hold(slot_loaded: tuple, loaded: tuple) -> None:
    engine = _engine(slot_loaded, slot_decoding=True)
    try:
        short = engine.submit(_request(slot_loaded, PROMPTS[0], 4)).result(timeout=60)
        narrow = engine._decoder.width
        long = engine.submit(_request(slot_loaded, PROMPTS[1], 600)).result(timeout=120)
        wide = engine._decoder.width
    finally:
        engine.close()

    assert wide > narrow
    assert (short.tokens, long.tokens) == (
        _alone(loaded, PROMPTS[0], 4),
        _alone(loaded, PROMPTS[1], 600),
    )


def test_seeded_sampling_in_slots_matches_the_dynamic_path(
    loaded: tuple, slot_loaded: tuple
) -> None:
    request = GenerationRequest(
        prompt=loaded[1](PROMPTS[2])["input_ids"], max_new_tokens=16, temperature=1.0, seed=11
    )
    results = []
    for model_pair, slots in ((loaded, False), (slot_loaded, True)):
        engine = _engine(model_pair, slot_decoding=slots)
        try:
            results.append(engine.submit(request).result(timeout=60).tokens)
        finally:
            engine.close()

    assert results[0] == results[1]
