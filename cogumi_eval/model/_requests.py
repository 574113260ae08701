"""Turning Inspect requests into prompt tokens and decoded text back into outputs (hf and vllm).

Nothing here imports torch: the vLLM backend shares it without transformers' model code.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
from typing import Any, TypeVar

import anyio
import sniffio
from inspect_ai.model import ChatMessage

T = TypeVar("T")


def render_prompt(tokenizer: Any, messages: list[ChatMessage], use_template: bool) -> list[int]:
    """Token ids for ``messages``: the chat template, or the texts joined by blank lines.

    Without a template (base models) the messages become one plain document, the
    way such models saw text in training: no role markers a base model never learned.
    """
    if use_template:
        chat = [
            {"role": m.role if m.role != "tool" else "user", "content": m.text} for m in messages
        ]
        text = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        return list(tokenizer(text, add_special_tokens=False)["input_ids"])
    text = "\n\n".join(m.text for m in messages if m.text)
    return list(tokenizer(text)["input_ids"])


def truncate_at_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """``text`` up to the earliest stop sequence (excluded), and whether one was found."""
    cut = min((i for s in stop if (i := text.find(s)) >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def request_seed(seed: int | None, epoch: int | None, prompt: list[int]) -> int | None:
    """A per-request seed from the run's seed, the epoch and the prompt.

    Deriving it per request keeps a seeded sample's answer independent of which
    requests it was batched with, while different epochs still draw differently.
    """
    if seed is None:
        return None
    digest = hashlib.sha256(f"{seed}:{epoch}:{','.join(map(str, prompt))}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF


async def await_result(future: concurrent.futures.Future[T]) -> T:
    """Await a future resolved by a decoding thread; cancelling the wait cancels the request."""
    try:
        if sniffio.current_async_library() == "asyncio":
            return await asyncio.wrap_future(future)
        while not future.done():
            await anyio.sleep(0.005)
        return future.result()
    except BaseException:
        future.cancel()
        raise
