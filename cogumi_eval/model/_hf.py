"""The hf backend: a checkpoint or adapter loaded with transformers, served by ``BatchEngine``."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from inspect_ai.model import ChatMessage, GenerateConfig, ModelOutput, ModelUsage

from ._attention import register as register_attention
from ._engine import BatchEngine, GenerationRequest
from ._errors import (
    BackendUnavailableError,
    CorruptWeightsError,
    ModelError,
    ModelOptionError,
    TokenizerMissingError,
)
from ._lineage import Determinism, library_versions, ref_lineage
from ._options import option_bool, option_int
from ._quantization import Quantization, load_quantized_as_trained, refuse_quantized_base
from ._ref import ModelRef, candidate_paths, resolve_ref
from ._requests import await_result, render_prompt, request_seed, truncate_at_stop
from ._slots import slot_compatible

logger = logging.getLogger(__name__)

TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tokenizer_config.json")
DTYPES = {
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
    "float32": torch.float32,
    "fp32": torch.float32,
}


def parse_dtype(value: Any, device: str) -> torch.dtype:
    """``-M dtype=``, defaulting to bf16 on GPU and fp32 on CPU (bf16 matmuls are slow on CPU)."""
    if value is None or str(value) == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    dtype = DTYPES.get(str(value).lower())
    if dtype is None:
        raise ModelOptionError(f"-M dtype={value!r} is not one of {', '.join(sorted(DTYPES))}.")
    return dtype


def tokenizer_folder(ref: ModelRef, override: str | None) -> Path:
    """Where the tokenizer is: ``-M tokenizer=``, the adapter folder, else the model folder."""
    if override:
        for candidate in candidate_paths(override):
            if candidate.is_dir():
                return candidate
        raise TokenizerMissingError(f"-M tokenizer={override!r} is not a folder.")
    folders = [ref.path, ref.model_path] if ref.kind == "adapter" else [ref.path]
    for folder in folders:
        if any((folder / name).is_file() for name in TOKENIZER_FILES):
            return folder
    raise TokenizerMissingError(
        f"checkpoint {ref.model_path} has no tokenizer (none of {', '.join(TOKENIZER_FILES)}). "
        "Save it beside the weights (tokenizer.save_pretrained(folder)) or pass "
        "-M tokenizer=<folder>."
    )


def _supports_sdpa(folder: Path, trust_remote_code: bool) -> bool:
    """Whether the checkpoint's model class runs on sdpa attention (most current architectures)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        config = AutoConfig.from_pretrained(str(folder), trust_remote_code=trust_remote_code)
        model_class = AutoModelForCausalLM._model_mapping[type(config)]
    except (OSError, ValueError, KeyError):
        return False
    return bool(getattr(model_class, "_supports_sdpa", False))


def refuse_legacy_awq(folder: Path, quantization: Quantization | None) -> None:
    """Stop before loading an AutoAWQ-format checkpoint that this transformers cannot load.

    transformers 5 loads ``quant_method: awq`` checkpoints only through gptqmodel;
    AutoAWQ itself is deprecated and not what transformers calls. The maintained
    path is llmcompressor's AWQ writing compressed-tensors, which loads natively.
    """
    import importlib.util

    import transformers

    if quantization is None or quantization.method != "awq":
        return
    if importlib.util.find_spec("gptqmodel") is not None:
        return
    raise BackendUnavailableError(
        f"{folder} is a legacy AutoAWQ checkpoint ({quantization.evidence}); transformers "
        f"{transformers.__version__} loads those only through gptqmodel, which is not installed "
        "(AutoAWQ is deprecated and transformers no longer calls it). The maintained path is "
        "llmcompressor + compressed-tensors: compress the unquantized parent with `cogumi compress "
        "PARENT --recipe awq-w4a16 --out DIR` and evaluate cogumi/DIR; or serve this checkpoint "
        "with -M backend=vllm, which reads AutoAWQ checkpoints."
    )


class HFBackend:
    """Loads ``ref`` with transformers and decodes concurrent requests in shared batches."""

    name = "hf"

    def __init__(self, model_name: str, options: dict[str, Any]) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_name = model_name
        self.ref = resolve_ref(model_name, base=options.get("base"))
        self.lineage = ref_lineage(self.ref)
        self.device = str(options.get("device") or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.dtype = parse_dtype(options.get("dtype"), self.device)
        check = self.lineage.base_check
        # a QLoRA adapter's unmerged self: its base quantized exactly as in training
        trained_quantization = check.trained_quantization if check is not None else None
        if trained_quantization is not None:
            self.dtype = getattr(torch, str(trained_quantization.get("compute_dtype", "bfloat16")))
            self.lineage = replace(
                self.lineage, base_loaded_as={**trained_quantization, "device": self.device}
            )
        trust = option_bool("trust_remote_code", options.get("trust_remote_code", False))
        self.batch_size = option_int(
            "batch_size", options.get("batch_size", 256 if self.device.startswith("cuda") else 8)
        )
        template = str(options.get("chat_template", "auto")).lower()
        if template not in ("auto", "true", "false", "yes", "no", "1", "0"):
            raise ModelOptionError(f"-M chat_template={template!r} must be true, false or auto.")

        self.tokenizer = AutoTokenizer.from_pretrained(
            str(tokenizer_folder(self.ref, options.get("tokenizer"))), trust_remote_code=trust
        )
        has_template = bool(getattr(self.tokenizer, "chat_template", None))
        self.use_template = (
            has_template if template == "auto" else option_bool("chat_template", template)
        )
        if self.use_template and not has_template:
            raise ModelOptionError(
                f"-M chat_template=true but the tokenizer of {self.ref.model_path} "
                "has no chat template."
            )

        refuse_legacy_awq(self.ref.model_path, self.lineage.quantization)
        load_args: dict[str, Any] = {"dtype": self.dtype, "trust_remote_code": trust}
        if options.get("attn_implementation"):
            load_args["attn_implementation"] = str(options["attn_implementation"])
        elif _supports_sdpa(self.ref.model_path, trust):
            load_args["attn_implementation"] = register_attention() or "sdpa"
        try:
            if trained_quantization is not None:
                model: Any = load_quantized_as_trained(
                    self.ref.model_path, trained_quantization, self.device
                )
            else:
                model = AutoModelForCausalLM.from_pretrained(str(self.ref.model_path), **load_args)
        except (OSError, ValueError, RuntimeError) as ex:
            if (
                "safetensors" in str(ex).lower()
                or "header" in str(ex).lower()
                or "pickle" in str(ex).lower()
            ):
                raise CorruptWeightsError(
                    f"cannot load the weights in {self.ref.model_path} ({ex}). "
                    "Re-download or re-save the checkpoint."
                ) from ex
            raise
        if self.ref.kind == "adapter":
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(self.ref.path))
            if option_bool("merge", options.get("merge", False)):
                refuse_quantized_base(self.ref.path, self.ref.base)
                model = model.merge_and_unload()
        # a 4-bit model is placed at load time (bitsandbytes weights cannot be moved with .to)
        self.model = (model if trained_quantization is not None else model.to(self.device)).eval()
        # KV slots and CUDA graphs: on a GPU, where a step's Python overhead dwarfs its kernels
        # (not over bitsandbytes kernels, which are not captured)
        self.slot_decoding = (
            option_bool("cuda_graphs", options.get("cuda_graphs", True))
            and self.device.startswith("cuda")
            and slot_compatible(self.model)
            and trained_quantization is None
        )

        eos = {self.tokenizer.eos_token_id}
        configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        eos |= set(configured) if isinstance(configured, list) else {configured}
        eos.discard(None)
        self.context = int(getattr(model.config, "max_position_embeddings", 0) or 0) or None
        pad = self.tokenizer.pad_token_id
        self.engine = BatchEngine(
            self.model,
            eos_ids={int(e) for e in eos if e is not None},
            decode=lambda ids: str(self.tokenizer.decode(ids, skip_special_tokens=True)),
            max_batch=self.batch_size,
            max_prefill_tokens=16384 if self.device.startswith("cuda") else 4096,
            kv_budget_tokens=self._kv_budget(),
            pad_id=int(pad if pad is not None else 0),
            slot_decoding=self.slot_decoding,
            graphs=self.slot_decoding and self.device.startswith("cuda"),
            context=self.context,
        )

    def _kv_budget(self) -> int | None:
        """Cache slots (rows x tokens) that fit in the GPU memory left after loading."""
        if not self.device.startswith("cuda"):
            return None
        config = self.model.config
        config = getattr(config, "get_text_config", lambda: config)()
        layers = getattr(config, "num_hidden_layers", None)
        heads = getattr(config, "num_key_value_heads", None) or getattr(
            config, "num_attention_heads", None
        )
        head_dim = getattr(config, "head_dim", None) or (
            config.hidden_size // config.num_attention_heads
            if getattr(config, "hidden_size", None)
            else None
        )
        if not (layers and heads and head_dim):
            return None
        per_token = (
            2 * layers * heads * head_dim * torch.tensor([], dtype=self.dtype).element_size()
        )
        free, _ = torch.cuda.mem_get_info(torch.device(self.device))
        # keep room for activations, logits and the copy a merge makes
        usable = free * 0.45
        return max(1, int(usable // per_token))

    @property
    def max_connections(self) -> int:
        return self.batch_size

    def determinism(self, config: GenerateConfig) -> Determinism:
        temperature = config.temperature
        sampled = temperature is not None and temperature > 0
        device = self.device
        if device.startswith("cuda"):
            device = f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
        return Determinism(
            backend="hf",
            decoding="sampled" if sampled else "greedy",
            seed=config.seed,
            temperature=temperature,
            batch_size=self.batch_size,
            dtype=str(self.dtype).removeprefix("torch."),
            device=device,
            attention=str(self.model.config._attn_implementation)
            + (" (KV slots, CUDA graphs)" if self.slot_decoding else ""),
            libraries=library_versions("torch", "transformers", "peft"),
        )

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        from inspect_ai.log._samples import sample_active

        prompt = render_prompt(self.tokenizer, messages, self.use_template)
        max_new = config.max_tokens or 2048
        if self.context is not None:
            if len(prompt) >= self.context:
                raise ModelError(
                    f"the prompt has {len(prompt)} tokens but {self.model_name} takes at most "
                    f"{self.context}; shorten the prompt (fewer few-shot examples)."
                )
            max_new = min(max_new, self.context - len(prompt))
        active = sample_active()
        stop = tuple(s for s in (config.stop_seqs or []) if s)
        request = GenerationRequest(
            prompt=prompt,
            max_new_tokens=max_new,
            temperature=float(config.temperature or 0.0),
            top_p=config.top_p,
            top_k=config.top_k,
            seed=request_seed(config.seed, active.epoch if active else None, prompt),
            stop=stop,
        )
        result = await await_result(self.engine.submit(request))
        text = str(self.tokenizer.decode(result.tokens, skip_special_tokens=True))
        text, stopped = truncate_at_stop(text, stop)
        output = ModelOutput.from_content(
            model=self.model_name,
            content=text,
            stop_reason="max_tokens" if result.finish == "length" and not stopped else "stop",
        )
        output.usage = ModelUsage(
            input_tokens=len(prompt),
            output_tokens=len(result.tokens),
            total_tokens=len(prompt) + len(result.tokens),
        )
        output.time = result.seconds
        output.metadata = {"batch_size": result.batch_size}
        return output

    def close(self) -> None:
        self.engine.close()
