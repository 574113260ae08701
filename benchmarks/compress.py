"""Compression on one GPU: AWQ, GPTQ and 2:4 sparsity of a ~0.5B Llama, against its bf16 parent.

The parent is Llama-shaped (28 layers, hidden 1024, GQA 16 query / 4 KV heads,
MLP 4096, a 16k byte-level BPE vocabulary trained on GSM8K) with about 0.46B
parameters, built from a config and trained for a few hundred steps on GSM8K
train solutions so that its greedy continuations are text-like rather than
the degenerate loops of random weights. It is saved in bf16. Each recipe runs
through ``cogumi_compress.compress`` (llmcompressor's one-shot flow, calibration
drawn from GSM8K train and MMLU validation), then:

- wall time of the compression (load, calibrate, save) and the size ratio of
  the parent's weight files to the compressed ones, with the bits per weight
  of the compressed layers (from the safetensors headers);
- decode throughput of parent and compressed model through the cogumi model
  API (``cogumi/<folder>``, hf backend; its batching engine fed directly):
  256 GSM8K test prompts, greedy, ``--new-tokens`` each, all in one batch;
- greedy agreement with the parent on the same 256 prompts: the share of
  prompts whose continuation is identical, the mean common prefix as a share
  of the parent's continuation, and teacher-forced top-1 agreement (on the
  parent's greedy continuation, how often the compressed model's argmax is
  the parent's token).

The hf backend loads a compressed-tensors checkpoint through transformers,
which unpacks the int4 / sparse weights to bf16 on the first forward pass, so
its decode speed is the parent's: the memory win there is on disk and in
transfer. vLLM serves these checkpoints with packed int4 (Marlin) kernels but
is not installed on the benchmark machine, so it is not measured here.

Run: ``python benchmarks/compress.py`` on a CUDA GPU (torch, transformers,
inspect-ai, llmcompressor, compressed-tensors and their dependencies; the
script names any that are missing before it starts); writes
``benchmarks/results/compress.json``. ``--tiny`` runs the same code on a CPU in
a few minutes with a 2-layer model (numbers meaningless; AWQ is skipped there
because llmcompressor's AWQ needs an accelerator).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # every model and dataset here is local

NEEDED = (
    "torch",
    "transformers",
    "inspect_ai",
    "llmcompressor",
    "compressed_tensors",
    "auto_round",
    "loguru",
    "datasets",
    "accelerate",
    "pydantic",
    "pynvml",
    "cpuinfo",
)
PRESETS: dict[str, dict[str, Any]] = {
    "0.5b": {
        "shape": {
            "hidden_size": 1024,
            "intermediate_size": 4096,
            "num_hidden_layers": 28,
            "num_attention_heads": 16,
            "num_key_value_heads": 4,
        },
        "vocab": 16384,
        "train_steps": 200,
        "batch": 32,
        "seq": 256,
        "prompts": 256,
        "new_tokens": 128,
        "calibration": "gsm8k:64,mmlu:64",
        "max_seq_length": 512,
    },
    "tiny": {
        "shape": {
            "hidden_size": 128,
            "intermediate_size": 256,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
        },
        "vocab": 1024,
        "train_steps": 20,
        "batch": 8,
        "seq": 64,
        "prompts": 16,
        "new_tokens": 16,
        "calibration": "gsm8k:8,mmlu:8",
        "max_seq_length": 128,
    },
}
RECIPES = ("awq-w4a16", "gptq-w4a16", "sparse-2of4")
SPECIAL = ["<unk>", "<s>", "</s>", "<pad>"]


def missing_packages() -> list[str]:
    return [name for name in NEEDED if importlib.util.find_spec(name) is None]


def build_parent(
    folder: Path, preset: dict[str, Any], device: str, data_dir: Path
) -> dict[str, Any]:
    """Train a byte-level BPE on GSM8K, then a Llama of the preset's shape on GSM8K solutions."""
    # the same BPE as tests/_tiny_models.py, kept here: a benchmark runs without the test tree
    # (a script cannot import ``tests`` reliably: any installed ``tests`` package shadows it)
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from cogumi_eval.data import load_gsm8k

    train = load_gsm8k("train", data_dir=data_dir)
    texts = [f"Question: {r.question}\n\n{r.solution}" for r in train]
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=preset["vocab"],
            special_tokens=SPECIAL,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
    )
    config = LlamaConfig(
        **preset["shape"],
        vocab_size=len(tokenizer),
        max_position_embeddings=2048,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=3,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(device)
    # one stream of solutions (no EOS between them: continuations run to --new-tokens)
    stream = torch.tensor([t for text in texts for t in tokenizer(text + "\n\n")["input_ids"]])
    rows = stream[: len(stream) // preset["seq"] * preset["seq"]].view(-1, preset["seq"])
    generator = torch.Generator().manual_seed(0)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    model.train()
    started = time.perf_counter()
    losses = []
    for _ in range(preset["train_steps"]):
        batch = rows[torch.randint(len(rows), (preset["batch"],), generator=generator)].to(device)
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16):
            loss = model(input_ids=batch, labels=batch).loss
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    model.eval()
    model.to(torch.bfloat16).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    params = sum(p.numel() for p in model.parameters())
    del model, optimiser
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return {
        **preset["shape"],
        "vocab_size": len(tokenizer),
        "parameters": params,
        "dtype": "bfloat16",
        "train_steps": preset["train_steps"],
        "train_tokens": preset["train_steps"] * preset["batch"] * preset["seq"],
        "train_seconds": round(time.perf_counter() - started, 2),
        "loss_first": round(losses[0], 3),
        "loss_last": round(losses[-1], 3),
    }


def prompts(count: int, data_dir: Path) -> list[str]:
    """The first ``count`` GSM8K test questions in the task's zero-shot prompt."""
    from cogumi_eval.data import load_gsm8k
    from cogumi_eval.tasks.gsm8k import PROMPT

    records = list(load_gsm8k("test", data_dir=data_dir))[:count]
    return [PROMPT.replace("{fewshot}", "").replace("{question}", r.question) for r in records]


def decode(folder: Path, texts: list[str], new_tokens: int, device: str) -> dict[str, Any]:
    """Greedy continuations of ``texts`` through ``cogumi/<folder>``'s engine, timed."""
    import torch
    from inspect_ai.model import ChatMessageUser, get_model

    from cogumi_eval.model._engine import GenerationRequest
    from cogumi_eval.model._requests import render_prompt

    model = get_model(f"cogumi/{folder}", device=device, memoize=False)
    backend = model.api.backend  # type: ignore[attr-defined]
    ids = [
        render_prompt(backend.tokenizer, [ChatMessageUser(content=t)], backend.use_template)
        for t in texts
    ]

    def run(tokens: int, batch: list[list[int]]) -> list[Any]:
        futures = [
            backend.engine.submit(GenerationRequest(prompt=p, max_new_tokens=tokens)) for p in batch
        ]
        return [f.result() for f in futures]

    run(8, ids[:8])  # warm-up: kernels, CUDA graphs, and compressed weights unpacked
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    results = run(new_tokens, ids)
    seconds = time.perf_counter() - start
    tokens = [list(r.tokens) for r in results]
    produced = sum(len(t) for t in tokens)
    return {
        "prompts": ids,
        "tokens": tokens,
        "seconds": seconds,
        "output_tokens": produced,
        "tokens_per_s": produced / seconds,
        "model": model,
        "backend": backend,
    }


def teacher_forced_agreement(
    backend: Any, prompts_ids: list[list[int]], reference: list[list[int]], device: str
) -> float:
    """Share of the parent's greedy tokens that are this model's argmax after the same prefix."""
    import torch

    model = backend.model
    pad = int(backend.tokenizer.pad_token_id or 0)
    agree = total = 0
    with torch.no_grad():
        for start in range(0, len(prompts_ids), 32):
            rows = [
                p + r
                for p, r in zip(
                    prompts_ids[start : start + 32], reference[start : start + 32], strict=True
                )
            ]
            width = max(len(r) for r in rows)
            ids = torch.full((len(rows), width), pad, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for i, row in enumerate(rows):
                ids[i, : len(row)] = torch.tensor(row)
                mask[i, : len(row)] = 1
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            predicted = logits.argmax(-1).cpu()
            for i, (prompt, ref) in enumerate(
                zip(prompts_ids[start : start + 32], reference[start : start + 32], strict=True)
            ):
                if not ref:
                    continue
                # position t predicts token t + 1
                guess = predicted[i, len(prompt) - 1 : len(prompt) - 1 + len(ref)]
                agree += int((guess == torch.tensor(ref)).sum())
                total += len(ref)
    return agree / total if total else float("nan")


def agreement(parent: list[list[int]], other: list[list[int]]) -> dict[str, float]:
    identical = sum(a == b for a, b in zip(parent, other, strict=True))
    prefixes = []
    for a, b in zip(parent, other, strict=True):
        common = next(
            (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
        )
        prefixes.append(common / max(1, len(a)))
    return {
        "identical": identical,
        "identical_share": identical / len(parent),
        "mean_common_prefix": sum(prefixes) / len(prefixes),
    }


def release(decoded: dict[str, Any], device: str) -> None:
    import torch

    decoded["backend"].close()
    decoded.pop("backend")
    decoded.pop("model")
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def measure(
    name: str,
    parent: Path,
    work: Path,
    calibration: Any,
    preset: dict[str, Any],
    device: str,
    texts: list[str],
    prompt_ids: list[list[int]],
    parent_tokens: list[list[int]],
) -> dict[str, Any]:
    """Compress the parent with one recipe, then decode and compare with the parent."""
    from cogumi_compress import RECIPES as ALL_RECIPES
    from cogumi_compress import compress

    done = compress(
        parent,
        recipe=name,
        out=work / name,
        calibration=calibration,
        device=device,
        max_seq_length=preset["max_seq_length"],
    )
    gc.collect()
    decoded = decode(done.out, texts, preset["new_tokens"], device)
    try:
        forced = teacher_forced_agreement(decoded["backend"], prompt_ids, parent_tokens, device)
    finally:
        release(decoded, device)
    row = {
        "recipe": name,
        "method": ALL_RECIPES[name].method,
        "compress_seconds": round(done.seconds, 2),
        "bytes_on_disk": done.report.bytes_on_disk,
        "parent_bytes": done.report.parent_bytes,
        "size_ratio": done.report.size_ratio,
        "bits_per_weight": done.report.targeted_bits_per_parameter,
        "effective_bits_per_parameter": done.report.effective_bits_per_parameter,
        "sparsity": done.report.sparsity,
        "layers_following_2of4": done.report.layers_following_2of4,
        "decode": {k: decoded[k] for k in ("seconds", "output_tokens", "tokens_per_s")},
        "agreement": {**agreement(parent_tokens, decoded["tokens"]), "teacher_forced_top1": forced},
    }
    print(
        f"{name}: {row['compress_seconds']} s, {row['size_ratio']}x smaller, "
        f"top-1 agreement {forced:.1%}",
        flush=True,
    )
    return row


def table(result: dict[str, Any]) -> str:
    head = (
        f"{'model':<14} {'compress s':>10} {'size ratio':>10} {'bits/w':>7} {'sparsity':>8} "
        f"{'decode tok/s':>12} {'identical':>9} {'prefix':>7} {'top-1':>7}"
    )
    lines = [head, "-" * len(head)]
    parent = result["parent_decode"]
    lines.append(
        f"{'parent bf16':<14} {'-':>10} {'1.00':>10} {'16':>7} {'-':>8} "
        f"{parent['tokens_per_s']:>12,.0f} {'-':>9} {'-':>7} {'-':>7}"
    )
    for row in result["recipes"]:
        if row.get("skipped") or row.get("error"):
            lines.append(f"{row['recipe']:<14} {row.get('skipped') or row.get('error')}")
            continue
        agree = row["agreement"]
        lines.append(
            f"{row['recipe']:<14} {row['compress_seconds']:>10.1f} {row['size_ratio']:>10.2f} "
            f"{row['bits_per_weight']:>7.2f} {row['sparsity']:>8.1%} "
            f"{row['decode']['tokens_per_s']:>12,.0f} "
            f"{agree['identical']:>5}/{result['prompts']:<3} "
            f"{agree['mean_common_prefix']:>7.1%} {agree['teacher_forced_top1']:>7.1%}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a 2-layer model on the CPU")
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--prompts", type=int, help="prompts to decode (default 256; tiny 16)")
    parser.add_argument("--new-tokens", type=int, help="tokens per prompt (default 128; tiny 16)")
    parser.add_argument("--train-steps", type=int, help="parent training steps (default 200)")
    parser.add_argument("--work", help="folder for the models (default: a temporary folder)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "compress.json"))
    args = parser.parse_args(argv)

    missing = missing_packages()
    if missing:
        print(
            f"missing packages: {', '.join(missing)}; install the wheels named in the "
            "docstring of benchmarks/compress.py",
            file=sys.stderr,
        )
        return 2
    import torch

    import cogumi_eval.model._provider  # noqa: F401  registers cogumi/ without an installed entry point
    from cogumi_compress import RECIPES as ALL_RECIPES
    from cogumi_compress import calibration_set
    from cogumi_eval.data import resolve_data_dir

    preset = dict(PRESETS["tiny" if args.tiny else "0.5b"])
    for key in ("prompts", "new_tokens", "train_steps"):
        if getattr(args, key) is not None:
            preset[key] = getattr(args, key)
    device = "cpu" if args.tiny or not torch.cuda.is_available() else "cuda"
    if not args.tiny and device == "cpu":
        print("no CUDA GPU: run with --tiny on a CPU", file=sys.stderr)
        return 2
    data_dir = resolve_data_dir()
    if data_dir is None:
        print("set COGUMI_DATA_DIR to the benchmark data folder", file=sys.stderr)
        return 2
    work = Path(args.work or tempfile.mkdtemp(prefix="cogumi-compress-bench-"))
    card = torch.cuda.get_device_name(0) if device == "cuda" else platform.processor() or "cpu"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    parent = work / "parent"
    model_info = build_parent(parent, preset, device, data_dir)
    print(
        f"parent: {model_info['parameters'] / 1e9:.2f}B parameters, loss "
        f"{model_info['loss_first']} -> {model_info['loss_last']} in "
        f"{model_info['train_seconds']} s",
        flush=True,
    )
    texts = prompts(preset["prompts"], data_dir)
    reference = decode(parent, texts, preset["new_tokens"], device)
    prompt_ids, parent_tokens = reference["prompts"], reference["tokens"]
    release(reference, device)
    calibration = calibration_set(preset["calibration"], seed=0, data_dir=data_dir)
    result: dict[str, Any] = {
        "benchmark": "compress",
        "card": card,
        "device": device,
        "preset": "tiny" if args.tiny else "0.5b",
        "model": model_info,
        "prompts": len(texts),
        "new_tokens": preset["new_tokens"],
        "calibration": {**calibration.to_dict(), "max_seq_length": preset["max_seq_length"]},
        "libraries": {
            n: _version(n)
            for n in ("torch", "transformers", "inspect_ai", "llmcompressor", "compressed-tensors")
        },
        "vllm": "not installed on the benchmark machine; not measured",
        "parent_decode": {k: reference[k] for k in ("seconds", "output_tokens", "tokens_per_s")},
        "recipes": [],
    }

    for name in [r for r in args.recipes.split(",") if r]:
        recipe = ALL_RECIPES[name]
        if recipe.needs_accelerator and device == "cpu":
            result["recipes"].append({"recipe": name, "skipped": "needs a GPU"})
            continue
        try:
            row = measure(
                name, parent, work, calibration, preset, device, texts, prompt_ids, parent_tokens
            )
        except Exception as ex:  # one recipe's failure must not lose the others' figures
            row = {"recipe": name, "error": f"{type(ex).__name__}: {ex}"}
            print(f"{name}: FAILED {row['error']}", flush=True)
        result["recipes"].append(row)
        result["seconds"] = round(time.perf_counter() - started, 1)
        out.write_text(json.dumps(result, indent=2) + "\n")  # partial results survive a timeout

    result["seconds"] = round(time.perf_counter() - started, 1)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"\n{card}; {model_info['parameters'] / 1e9:.2f}B Llama, {len(texts)} prompts x "
        f"{preset['new_tokens']} new tokens, greedy, through cogumi/<folder> (hf backend)"
    )
    print(table(result))
    print(f"\ntotal {result['seconds']} s; wrote {out}")
    return 0


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    sys.exit(main())
