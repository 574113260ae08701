"""Keep Inspect's ``mockllm`` usable on machines without internet access — when asked to.

``mockllm`` fills in token usage by counting with tiktoken's ``o200k_base``
encoding, which tiktoken downloads on first use; offline, every mockllm sample
then fails. The fallback here gives ``mockllm`` (only it) an estimate instead:
when the encoding cannot be loaded, usage is one token per four UTF-8 bytes, and
a single warning says so. Outputs that carry their own usage never reach this.

It changes Inspect's behaviour, so it is opt-in: importing Cogumi (which Inspect
does through its entry point for every user on the machine) leaves ``mockllm``
alone unless ``COGUMI_MOCKLLM_OFFLINE=1`` is set, or a program calls
``cogumi_eval.testing.offline_mockllm()``.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)

_encoding_unavailable = False

OFFLINE_SWITCH = "COGUMI_MOCKLLM_OFFLINE"
"""Environment variable that turns the fallback on for every process that loads Cogumi."""


def estimated_tokens(text: str) -> int:
    """Token count estimated as UTF-8 bytes / 4 (no tokenizer download needed)."""
    return max(1, (len(text.encode("utf-8")) + 3) // 4)


def install_mockllm_offline_fallback() -> None:
    """Give ``MockLLM.count_text_tokens`` an offline fallback (idempotent)."""
    from inspect_ai.model import ModelAPI
    from inspect_ai.model._providers.mockllm import MockLLM
    from inspect_ai.model._tokens import count_text_tokens

    # Once installed, mockllm's method is no longer the shared one: installing twice is a no-op.
    if MockLLM.count_text_tokens is not ModelAPI.count_text_tokens:
        return

    async def count_text_tokens_offline(self: MockLLM, text: str) -> int:
        global _encoding_unavailable
        if not _encoding_unavailable:
            try:
                return count_text_tokens(text)
            except Exception as ex:  # tiktoken raises requests/OS errors when offline
                _encoding_unavailable = True
                logger.warning(
                    "mockllm: tiktoken's o200k_base encoding is unavailable (%s); "
                    "estimating token usage as UTF-8 bytes / 4.",
                    type(ex).__name__,
                )
        return estimated_tokens(text)

    MockLLM.count_text_tokens = count_text_tokens_offline  # type: ignore[method-assign,assignment]


def install_if_requested() -> bool:
    """Install the fallback when ``$COGUMI_MOCKLLM_OFFLINE`` is 1/true/yes; say whether it was."""
    if os.environ.get(OFFLINE_SWITCH, "").strip().lower() not in ("1", "true", "yes"):
        return False
    install_mockllm_offline_fallback()
    return True
