"""Scripted models for tests and CI: deterministic, offline, with token usage filled in.

``mockllm`` outputs built here carry their own usage, so Inspect never needs
tiktoken's downloaded encoding to count them. For plain ``mockllm/model`` runs
offline (no scripted outputs), call ``offline_mockllm()`` in your test setup, or
set ``COGUMI_MOCKLLM_OFFLINE=1`` for ``inspect eval`` on the command line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from inspect_ai.model import ChatMessage, GenerateConfig, Model, ModelOutput, ModelUsage, get_model


def offline_mockllm() -> None:
    """Let Inspect's ``mockllm`` estimate token usage when tiktoken's encoding cannot be downloaded.

    Opt-in, for tests and offline CI: it changes ``mockllm`` for the whole process
    (one token per four UTF-8 bytes, one warning), which importing Cogumi never does.
    """
    from ._offline import install_mockllm_offline_fallback

    install_mockllm_offline_fallback()


def model_output(text: str, model: str = "mockllm/model") -> ModelOutput:
    """A completion with usage counted as whitespace-separated words (never zero)."""
    output = ModelOutput.from_content(model=model, content=text)
    words = max(1, len(text.split()))
    output.usage = ModelUsage(input_tokens=1, output_tokens=words, total_tokens=words + 1)
    return output


def _last_user_text(messages: list[ChatMessage]) -> str:
    for message in reversed(messages):
        if message.role == "user":
            return message.text
    return ""


def scripted_model(
    responses: Iterable[str] | Callable[[str], str],
    *,
    name: str = "mockllm/model",
    **model_args: Any,
) -> Model:
    """A ``mockllm`` model answering from a list (in call order) or a function of the prompt.

    Args:
        responses: the texts to return in order, or ``f(last user message) -> text``.
        name: the model name recorded in logs.
    """
    if callable(responses):
        respond = responses

        def custom(
            messages: list[ChatMessage], tools: Any, tool_choice: Any, config: GenerateConfig
        ) -> ModelOutput:
            return model_output(respond(_last_user_text(messages)), name)

        return get_model(name, custom_outputs=custom, memoize=False, **model_args)
    return get_model(
        name, custom_outputs=[model_output(t, name) for t in responses], memoize=False, **model_args
    )
