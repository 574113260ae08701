"""The ``cogumi`` model API: ``--model cogumi/<ref>`` with ``-M backend=auto|hf|vllm|replay``."""

from __future__ import annotations

import importlib.util
import logging
import weakref
from typing import Any, Protocol

from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    ModelAPI,
    ModelInfo,
    ModelOutput,
    set_model_info,
)
from inspect_ai.model._model_info import MODEL_INFO_LOOKUP_API_KEY
from inspect_ai.tool import ToolChoice, ToolInfo

from .._inspect_errors import shown_by_inspect
from ._errors import ModelError, ModelOptionError
from ._lineage import Determinism, Lineage
from ._options import BACKENDS, check_options

logger = logging.getLogger(__name__)

DEFAULT_MAX_TOKENS = 2048
"""Inspect's own default for local models: long enough for step-by-step answers."""


class Backend(Protocol):
    """What the model API needs from each backend."""

    name: str
    lineage: Lineage
    context: int | None
    """The model's context length in tokens, when known."""

    @property
    def max_connections(self) -> int: ...

    def determinism(self, config: GenerateConfig) -> Determinism: ...

    async def generate(
        self, messages: list[ChatMessage], config: GenerateConfig
    ) -> ModelOutput: ...

    def close(self) -> None: ...


def choose_backend(ref: str, model_args: dict[str, Any]) -> str:
    """The backend ``-M backend=`` names; ``auto``: replay with a source, vLLM on a GPU, else hf."""
    backend = str(model_args.get("backend", "auto")).lower()
    if backend not in ("auto", *BACKENDS):
        raise ModelOptionError(f"-M backend={backend!r} is not one of auto, {', '.join(BACKENDS)}.")
    if backend != "auto":
        return backend
    if "source" in model_args or ref == "replay":
        return "replay"
    if importlib.util.find_spec("vllm") is not None:
        import torch

        if torch.cuda.is_available():
            return "vllm"
    return "hf"


def open_backend(ref: str, model_args: dict[str, Any]) -> Backend:
    """The backend that serves ``ref`` with these ``-M`` options (checked first)."""
    backend = choose_backend(ref, model_args)
    check_options(backend, model_args)
    options = {k: v for k, v in model_args.items() if k != "backend"}
    if backend == "replay":
        from ._replay import ReplayBackend

        return ReplayBackend(ref, options)
    if backend == "vllm":
        from ._vllm import VLLMBackend

        return VLLMBackend(ref, options)
    from ._hf import HFBackend

    return HFBackend(ref, options)


_live: dict[str, list[weakref.ReferenceType[CogumiModelAPI]]] = {}


def live_model_api(model: str, model_args: dict[str, Any] | None = None) -> CogumiModelAPI | None:
    """The live ``cogumi`` model API an eval's spec names (``cogumi/<ref>``), if any.

    Args:
        model: the spec's model name.
        model_args: the spec's model args, to tell apart two instances of one name.
    """
    candidates = [api for ref in _live.get(model, []) if (api := ref()) is not None]
    for api in reversed(candidates):
        if model_args is None or api.model_args_for_log == model_args:
            return api
    return candidates[-1] if candidates else None


class CogumiModelAPI(ModelAPI):
    """Evaluate a checkpoint, adapter or registry name; or replay recorded answers."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig | None = None,
        **model_args: Any,
    ) -> None:
        config = config if config is not None else GenerateConfig()
        super().__init__(model_name=model_name, base_url=base_url, api_key=api_key, config=config)
        if api_key == MODEL_INFO_LOOKUP_API_KEY:
            # Inspect instantiates providers to look up model info; never load weights for that
            raise ValueError(f"cogumi/{model_name} publishes its model info when it is created")
        self.model_args_for_log = dict(model_args)
        try:
            self.backend: Backend = open_backend(model_name, model_args)
        except ModelError as ex:
            # `inspect eval` prints a prerequisite error alone, not ~240 lines of traceback
            raise shown_by_inspect(ex) from None
        # A local model serves its whole batch at once: Inspect's adaptive
        # concurrency (tuned for rate-limited APIs) would start it at 20 requests.
        if config.max_connections is None and config.adaptive_connections is None:
            config.adaptive_connections = False
        check = self.backend.lineage.base_check
        if check is not None and check.quantized:
            logger.warning(
                "QUANTIZED BASE: evaluating %s, but %s. Scores measure the adapter on this base "
                "only; do not merge it.",
                model_name,
                check.message(),
            )
        _live.setdefault(f"cogumi/{model_name}", []).append(weakref.ref(self))
        set_model_info(
            f"cogumi/{model_name}",
            ModelInfo(model=model_name, organization="cogumi", context_length=self.backend.context),
        )

    def lineage(self, config: GenerateConfig | None = None) -> Lineage:
        """This model's lineage with the determinism settings of ``config``."""
        config = config or GenerateConfig()
        return self.backend.lineage.with_determinism(self.backend.determinism(config))

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        if tools:
            # an answer that silently ignored the tools would score as a wrong one
            raise ModelError(
                f"cogumi/{self.model_name} does not support tool calls "
                f"({len(tools)} tool(s) offered); "
                "evaluate tasks that use tools with an Inspect provider that does."
            )
        return await self.backend.generate(input, config)

    def max_tokens(self) -> int | None:
        return DEFAULT_MAX_TOKENS

    def max_connections(self) -> int:
        return self.backend.max_connections

    def close(self) -> None:
        self.backend.close()
