"""Generation throughput on one GPU: the cogumi hf backend vs Inspect's own ``hf/`` provider.

A Llama-shaped model of about 0.7B parameters is built from a config with
random bf16 weights (its EOS row of the output layer is zeroed, so greedy
decoding never ends early and every prompt gets exactly ``--new-tokens``
tokens; the run checks that). 256 prompts of 128 tokens are evaluated through
``inspect_ai.eval`` with each peer, greedy, on the same card in the same
process:

- ``cogumi/<folder>``: the cogumi hf backend (continuous batching, batch 256,
  KV slots with one CUDA graph replay per step); its batching engine fed
  directly, without Inspect (``engine``); the backend without CUDA graphs
  (``cogumi-nographs``: a transformers forward per step over a dynamic cache),
  and that path with transformers' ``eager`` or ``sdpa`` attention in place of
  Cogumi's grouped-query decode attention (``cogumi-eager``, ``cogumi-sdpa``);
- ``hf/`` as Inspect ships it (its default ``max_connections``, adaptive
  concurrency and its 2 s batch-gathering queue): what ``--model hf/...`` gives;
- ``hf/`` with ``max_connections=256``: Inspect's provider at the same batch size.

vLLM is not installed on the benchmark machine (and cannot be fetched there),
so it is not a peer here. Before timing, the greedy answers of the CUDA-graph
path and the dynamic-cache path are compared in float32 (``agreement``). Also
printed: the decode floor, i.e. the bytes every
decode step must read (all weights once, plus the KV cache of every row)
over the measured device-to-device copy bandwidth, summed over the steps.

Run: ``python benchmarks/generation.py`` (needs a CUDA GPU, torch, transformers
and inspect-ai); writes ``benchmarks/results/generation.json``. ``--preset tiny
--device cpu`` runs the same code in a minute on a CPU (numbers meaningless).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import platform
import random
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is local; never ask the hub about "bench"

PRESETS: dict[str, dict[str, int]] = {
    # ~0.70B parameters: 24 layers, hidden 1536, GQA 12 query / 4 KV heads of 128
    "0.7b": {
        "hidden_size": 1536,
        "intermediate_size": 4096,
        "num_hidden_layers": 24,
        "num_attention_heads": 12,
        "num_key_value_heads": 4,
        "vocab_size": 32000,
    },
    "tiny": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 2000,
    },
}
SPECIAL = ["<unk>", "<s>", "</s>", "<pad>"]


def random_llama(
    folder: Path, shape: dict[str, int], device: str, *, eos_never_argmax: bool = False
) -> int:
    """Save a random Llama of ``shape`` (bf16, seed 0) and a word-level tokenizer over the words
    ``w0, w1, ...`` into ``folder``; return its parameter count. ``benchmarks/lora.py`` builds
    its model here too.

    Args:
        eos_never_argmax: zero the EOS row of the output layer, so greedy decoding never stops
            early (a generation benchmark forces its new tokens).
    """
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = [f"w{i}" for i in range(shape["vocab_size"] - len(SPECIAL))]
    vocab = {token: i for i, token in enumerate(SPECIAL + words)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
    )
    config = LlamaConfig(
        **shape,
        max_position_embeddings=4096,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=3,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    with torch.device(device):  # random init on the GPU: seconds, not minutes
        model = LlamaForCausalLM(config).to(torch.bfloat16)
    if eos_never_argmax:
        with torch.no_grad():
            model.lm_head.weight[config.eos_token_id].zero_()  # EOS logit 0: never the argmax
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    params = sum(p.numel() for p in model.parameters())
    del model
    gc.collect()
    return params


def build_model(folder: Path, preset: str, device: str) -> dict[str, Any]:
    """Save a random Llama of ``preset`` shape (bf16) and a word-level tokenizer into ``folder``."""
    shape = PRESETS[preset]
    words = [f"w{i}" for i in range(shape["vocab_size"] - len(SPECIAL))]
    params = random_llama(folder, shape, device, eos_never_argmax=True)
    head_dim = shape["hidden_size"] // shape["num_attention_heads"]
    return {
        "preset": preset,
        **shape,
        "parameters": params,
        "weight_bytes": params * 2,
        "kv_bytes_per_token": 2
        * shape["num_hidden_layers"]
        * shape["num_key_value_heads"]
        * head_dim
        * 2,
        "words": words,
    }


def copy_bandwidth(device: str) -> float | None:
    """Device-to-device copy bandwidth in bytes/s (bytes read + written), median of 20 copies."""
    if not device.startswith("cuda"):
        return None
    src = torch.empty(1 << 30, dtype=torch.uint8, device=device).random_()
    dst = torch.empty_like(src)
    times = []
    for _ in range(25):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        dst.copy_(src)
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / 1000)
    del src, dst
    return 2 * (1 << 30) / sorted(times[5:])[len(times[5:]) // 2]


def decode_floor(
    model: dict[str, Any], rows: int, prompt: int, steps: int, bandwidth: float | None
) -> dict[str, Any] | None:
    """Least time the decode steps can take: every step reads all weights and every row's
    KV cache."""
    if bandwidth is None:
        return None
    weights = model["weight_bytes"] * steps
    kv = sum(rows * (prompt + t) * model["kv_bytes_per_token"] for t in range(steps))
    seconds = (weights + kv) / bandwidth
    return {
        "weight_bytes_read": weights,
        "kv_bytes_read": kv,
        "seconds": seconds,
        "tokens_per_s": rows * steps / seconds,
    }


def make_task(words: list[str], prompts: int, prompt_tokens: int, seed: int) -> Any:
    from inspect_ai import Task
    from inspect_ai.dataset import Sample
    from inspect_ai.solver import generate

    rng = random.Random(seed)
    samples = [
        Sample(id=i, input=" ".join(rng.choices(words, k=prompt_tokens))) for i in range(prompts)
    ]
    return Task(dataset=samples, solver=generate(), name="generation")


def run_peer(
    name: str, model: Any, task: Any, warmup: Any, new_tokens: int, **config: Any
) -> dict[str, Any]:
    from inspect_ai import eval

    common = dict(display="none", log_realtime=False, temperature=0.0, fail_on_error=True, **config)
    eval(warmup, model=model, max_tokens=8, **common)
    engine = getattr(getattr(model.api, "backend", None), "engine", None)
    if engine is not None:
        from cogumi_eval.model._engine import EngineStats

        engine.stats = EngineStats()  # count the timed run only
    torch.cuda.synchronize() if torch.cuda.is_available() else None
    start = time.perf_counter()
    log = eval(task, model=model, max_tokens=new_tokens, **common)[0]
    seconds = time.perf_counter() - start
    if log.status != "success":
        raise RuntimeError(f"{name}: {log.error.message if log.error else log.status}")
    counts = [s.output.usage.output_tokens for s in log.samples]
    batch_sizes = {s.output.metadata.get("batch_size") for s in log.samples if s.output.metadata}
    row = {
        "peer": name,
        "seconds": seconds,
        "output_tokens": sum(counts),
        "tokens_per_s": sum(counts) / seconds,
        "min_tokens": min(counts),
        "max_tokens": max(counts),
        "batch_sizes": sorted(b for b in batch_sizes if b) or None,
    }
    if engine is not None:
        stats = dataclasses.asdict(engine.stats)
        stats["ms_per_step"] = 1000 * stats["step_seconds"] / max(1, stats["steps"])
        row["engine"] = stats
    return row


def check_agreement(
    folder: Path, words: list[str], prompt_tokens: int, device: str
) -> dict[str, Any]:
    """Greedy answers with CUDA graphs (KV slots) vs without (dynamic cache), both in float32."""
    from inspect_ai import eval
    from inspect_ai.model import get_model

    task = make_task(words, 32, prompt_tokens, seed=3)
    completions = []
    for graphs in (True, False):
        model = get_model(
            f"cogumi/{folder}", device=device, dtype="float32", cuda_graphs=graphs, memoize=False
        )
        log = eval(
            task, model=model, max_tokens=64, temperature=0.0, display="none", log_realtime=False
        )[0]
        completions.append({s.id: s.output.completion for s in log.samples})
        model.api.close()
    same = sum(completions[0][i] == completions[1][i] for i in completions[0])
    return {"dtype": "float32", "prompts": len(completions[0]), "new_tokens": 64, "identical": same}


def run_engine(backend: Any, task: Any, warmup: Any, new_tokens: int) -> dict[str, Any]:
    """The cogumi batching engine fed directly, without Inspect: what Inspect's own overhead
    costs."""
    from inspect_ai.model import ChatMessageUser

    from cogumi_eval.model._engine import EngineStats, GenerationRequest
    from cogumi_eval.model._requests import render_prompt

    def submit_all(samples: Any, tokens: int) -> list[Any]:
        prompts = [
            render_prompt(
                backend.tokenizer, [ChatMessageUser(content=s.input)], backend.use_template
            )
            for s in samples
        ]
        futures = [
            backend.engine.submit(GenerationRequest(prompt=p, max_new_tokens=tokens))
            for p in prompts
        ]
        return [f.result() for f in futures]

    submit_all(warmup.dataset, 8)
    backend.engine.stats = EngineStats()
    start = time.perf_counter()
    results = submit_all(task.dataset, new_tokens)
    seconds = time.perf_counter() - start
    counts = [len(r.tokens) for r in results]
    stats = dataclasses.asdict(backend.engine.stats)
    stats["ms_per_step"] = 1000 * stats["step_seconds"] / max(1, stats["steps"])
    return {
        "peer": "engine",
        "seconds": seconds,
        "output_tokens": sum(counts),
        "tokens_per_s": sum(counts) / seconds,
        "min_tokens": min(counts),
        "max_tokens": max(counts),
        "batch_sizes": sorted({r.batch_size for r in results}),
        "engine": stats,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="0.7b")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--prompts", type=int, default=256)
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument(
        "--peers",
        default="cogumi,engine,cogumi-nographs,cogumi-eager,cogumi-sdpa,hf-256,hf-default",
    )
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "generation.json"))
    args = parser.parse_args(argv)

    from inspect_ai.model import get_model

    import cogumi_eval.model._provider  # noqa: F401  registers cogumi/ without an installed entry point

    folder = Path(tempfile.mkdtemp(prefix="cogumi-bench-")) / "model"
    model_info = build_model(folder, args.preset, args.device)
    words = model_info.pop("words")
    task = make_task(words, args.prompts, args.prompt_tokens, seed=1)
    warmup = make_task(words, 8, args.prompt_tokens, seed=2)
    bandwidth = copy_bandwidth(args.device)
    card = (
        torch.cuda.get_device_name(0)
        if args.device.startswith("cuda")
        else platform.processor() or "cpu"
    )
    result: dict[str, Any] = {
        "benchmark": "generation",
        "card": card,
        "device": args.device,
        "model": model_info,
        "prompts": args.prompts,
        "prompt_tokens": args.prompt_tokens,
        "new_tokens": args.new_tokens,
        "copy_bandwidth_bytes_per_s": bandwidth,
        "decode_floor": decode_floor(
            model_info, args.prompts, args.prompt_tokens, args.new_tokens, bandwidth
        ),
        "libraries": {n: version(n) for n in ("torch", "transformers", "inspect_ai")},
        "vllm": "not installed on the benchmark machine; not measured",
        "peers": [],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.device.startswith("cuda") and "cogumi" in args.peers.split(","):
        result["agreement"] = check_agreement(folder, words, args.prompt_tokens, args.device)
        agreement = result["agreement"]
        print(
            f"graphs vs no graphs, float32: {agreement['identical']}/{agreement['prompts']} "
            "answers identical",
            flush=True,
        )
    hf_device = "cuda:0" if args.device == "cuda" else args.device
    for peer in args.peers.split(","):
        if peer.startswith("cogumi"):
            # "cogumi-nographs": the dynamic-cache path; "cogumi-eager" / "cogumi-sdpa": that path
            # with transformers' own attention
            variant = peer.partition("-")[2]
            options = (
                {"cuda_graphs": False}
                if variant == "nographs"
                else {"attn_implementation": variant}
                if variant
                else {}
            )
            model = get_model(f"cogumi/{folder}", device=args.device, memoize=False, **options)
            row = run_peer(peer, model, task, warmup, args.new_tokens)
        elif peer == "engine":
            model = get_model(f"cogumi/{folder}", device=args.device, memoize=False)
            row = run_engine(model.api.backend, task, warmup, args.new_tokens)
        elif peer.startswith("hf-"):
            model = get_model(
                "hf/bench", model_path=str(folder), device=hf_device, do_sample=False, memoize=False
            )
            extra = {} if peer == "hf-default" else {"max_connections": int(peer.split("-")[1])}
            row = run_peer(peer, model, task, warmup, args.new_tokens, **extra)
        else:
            raise SystemExit(f"unknown peer {peer}")
        model.api.close()
        del model
        gc.collect()
        torch.cuda.empty_cache() if torch.cuda.is_available() else None
        result["peers"].append(row)
        out.write_text(json.dumps(result, indent=2))
        print(
            f"{peer:<12} {row['tokens_per_s']:>10.0f} tok/s  {row['seconds']:>7.1f} s  "
            f"tokens/prompt {row['min_tokens']}-{row['max_tokens']}",
            flush=True,
        )

    by_peer = {row["peer"]: row for row in result["peers"]}
    if "cogumi" in by_peer:
        result["ratios"] = {
            f"cogumi/{p}": by_peer["cogumi"]["tokens_per_s"] / r["tokens_per_s"]
            for p, r in by_peer.items()
            if p != "cogumi"
        }
    out.write_text(json.dumps(result, indent=2))

    print(
        f"\n{card}; {model_info['parameters'] / 1e9:.2f}B params; {args.prompts} prompts x "
        f"{args.prompt_tokens} tokens, {args.new_tokens} new tokens each"
    )
    print(f"{'peer':<12} {'tok/s':>10} {'seconds':>8} {'cogumi is':>10}")
    for row in result["peers"]:
        ratio = by_peer.get("cogumi", row)["tokens_per_s"] / row["tokens_per_s"]
        print(
            f"{row['peer']:<12} {row['tokens_per_s']:>10.0f} {row['seconds']:>8.1f} {ratio:>9.2f}x"
        )
    floor = result["decode_floor"]
    if floor:
        print(
            f"{'decode floor':<12} {floor['tokens_per_s']:>10.0f} {floor['seconds']:>8.2f}   "
            f"(copy bandwidth {bandwidth / 1e12:.2f} TB/s)"
        )
    print("vLLM: not installed on the benchmark machine; not measured")
    return 0


if __name__ == "__main__":
    sys.exit(main())
