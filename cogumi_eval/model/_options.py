"""The ``-M`` options each backend accepts, checked before anything is loaded.

An unknown option is an error that lists the valid ones: a typo such as
``-M dtpye=bf16`` must not silently evaluate the wrong configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ._errors import ModelOptionError

Backend = Literal["hf", "vllm", "replay"]
BACKENDS: tuple[Backend, ...] = ("hf", "vllm", "replay")


@dataclass(frozen=True)
class OptionSpec:
    """One ``-M`` option: which backends take it and what it means."""

    name: str
    backends: tuple[str, ...]
    help: str


_LOCAL = ("hf", "vllm")

OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "backend",
        ("auto", *BACKENDS),
        "auto|hf|vllm|replay (auto: replay with source=, "
        "else vllm when importable and a GPU is present, else hf)",
    ),
    OptionSpec(
        "base",
        _LOCAL,
        "base model for an adapter (folder, registry name or hub id); "
        "overrides adapter_config.json",
    ),
    OptionSpec("tokenizer", _LOCAL, "tokenizer folder when the checkpoint has none"),
    OptionSpec("dtype", _LOCAL, "bfloat16|float16|float32 (default: bf16 on GPU, fp32 on CPU)"),
    OptionSpec(
        "chat_template",
        _LOCAL,
        "true|false|auto: use the tokenizer's chat template (auto: when it has one)",
    ),
    OptionSpec("trust_remote_code", _LOCAL, "allow model code shipped with the checkpoint"),
    OptionSpec("device", ("hf",), "torch device (default: cuda when available, else cpu)"),
    OptionSpec(
        "batch_size", ("hf",), "most requests decoded together (default 256 on GPU, 8 on CPU)"
    ),
    OptionSpec(
        "merge",
        ("hf",),
        "merge a LoRA adapter into the base weights before generating "
        "(faster; refused for a quantized base)",
    ),
    OptionSpec("attn_implementation", ("hf",), "transformers attention kernel (sdpa, eager, ...)"),
    OptionSpec(
        "cuda_graphs",
        ("hf",),
        "on a GPU, decode in preallocated KV slots with one CUDA graph "
        "replay per step (default true)",
    ),
    OptionSpec("tensor_parallel_size", ("vllm",), "GPUs to shard the model over"),
    OptionSpec("gpu_memory_utilization", ("vllm",), "fraction of GPU memory vLLM may take"),
    OptionSpec("max_model_len", ("vllm",), "context length vLLM reserves KV cache for"),
    OptionSpec("max_lora_rank", ("vllm",), "largest LoRA rank vLLM allocates for"),
    OptionSpec("enforce_eager", ("vllm",), "disable CUDA graphs in vLLM"),
    OptionSpec(
        "batch_invariant",
        ("vllm",),
        "make vLLM outputs independent of batch size (VLLM_BATCH_INVARIANT=1)",
    ),
    OptionSpec("source", ("replay",), "eval log (.eval/.json) or JSONL file of recorded responses"),
    OptionSpec(
        "input",
        ("replay",),
        "JSONL: dotted field holding the question, matched against each sample's input text",
    ),
    OptionSpec("response", ("replay",), "JSONL: dotted field holding the response text"),
    OptionSpec("id", ("replay",), "JSONL: dotted field holding the sample id"),
)


def valid_options(backend: str) -> list[str]:
    """Names of the options ``backend`` accepts, ``backend`` itself included."""
    return [o.name for o in OPTIONS if backend in o.backends or o.name == "backend"]


def check_options(backend: str, model_args: dict[str, Any]) -> None:
    """Raise ``ModelOptionError`` naming every option ``backend`` does not take.

    Args:
        backend: the resolved backend (``hf``, ``vllm`` or ``replay``).
        model_args: the ``-M`` options as Inspect passes them.
    """
    valid = valid_options(backend)
    unknown = sorted(set(model_args) - set(valid))
    if unknown:
        elsewhere = {name: [b for b in BACKENDS if name in valid_options(b)] for name in unknown}
        hints = "".join(
            f" ({name} belongs to backend {'/'.join(where)})"
            for name, where in elsewhere.items()
            if where
        )
        raise ModelOptionError(
            f"unknown -M option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} for the "
            f"cogumi {backend} backend{hints}. Valid options: {', '.join(sorted(valid))}."
        )


def option_bool(name: str, value: Any) -> bool:
    """A boolean ``-M`` value: true/false, yes/no, 1/0 (Inspect passes YAML-parsed values)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise ModelOptionError(f"-M {name}={value!r} is not a boolean; use true or false.")


def option_int(name: str, value: Any, minimum: int = 1) -> int:
    """A positive integer ``-M`` value."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = minimum - 1
    if number < minimum or (isinstance(value, float) and not value.is_integer()):
        raise ModelOptionError(f"-M {name}={value!r} must be an integer >= {minimum}.")
    return number
