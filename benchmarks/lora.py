"""LoRA vs QLoRA training throughput and peak memory on one GPU, through ``cogumi_train.lora``.

A Llama-shaped model of about 0.5B parameters (24 layers, hidden 1280, MLP
3584, 20 query / 4 KV heads of 64, vocabulary 32,000; every width a multiple of
bitsandbytes' 4-bit block) is built from a config with random bf16 weights and
a word-level tokenizer over the same 32,000 made-up words. The data are
synthetic instruction/response records of random words (``--prompt-tokens``
prompt, ``--response-tokens`` response), so every sequence has the same length
and the throughput is not hostage to padding.

Both runs call the function ``cogumi train lora`` calls, with the same data,
seed and hyper-parameters: LoRA on the bf16 base, then QLoRA on the base
quantized on the fly to bitsandbytes NF4 (double quantization, bf16 compute).
Reported per run: tokens/s over the whole loop and over the steps after the
first ``--warmup-steps`` (CUDA and kernel warm-up excluded), seconds, peak GPU
memory (``torch.cuda.max_memory_allocated``, reset before the model is
loaded, so weights, adapter, optimizer state and activations), first and last
loss, and the card's name.

Run on a GPU: ``python benchmarks/lora.py`` (torch, transformers, peft,
accelerate, bitsandbytes); writes ``benchmarks/results/lora.json``. ``--tiny``
runs the same code on a 2-layer model on the CPU in under a minute (numbers
meaningless).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from generation import SPECIAL, random_llama  # noqa: E402  (the same random Llama)

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is local

PRESETS: dict[str, dict[str, int]] = {
    # ~0.51B parameters
    "0.5b": {
        "hidden_size": 1280,
        "intermediate_size": 3584,
        "num_hidden_layers": 24,
        "num_attention_heads": 20,
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


def write_data(
    path: Path, records: int, prompt_tokens: int, response_tokens: int, vocab: int
) -> None:
    rng = random.Random(0)
    first = len(SPECIAL)

    def words(n: int) -> str:
        return " ".join(f"w{rng.randrange(vocab - first)}" for _ in range(n))

    with path.open("w") as handle:
        for _ in range(records):
            # the plain prompt format adds BOS, a blank line and EOS around these
            handle.write(
                json.dumps(
                    {"instruction": words(prompt_tokens), "response": words(response_tokens)}
                )
                + "\n"
            )


def steady_tokens_per_second(curve: list[dict[str, float]], warmup: int) -> float | None:
    """Tokens/s between the end of step ``warmup`` and the last step."""
    if len(curve) <= warmup + 1 or warmup < 1:
        return None
    start, end = curve[warmup - 1], curve[-1]
    seconds = end["seconds"] - start["seconds"]
    return (end["tokens"] - start["tokens"]) / seconds if seconds > 0 else None


def run(
    kind: str, base: Path, data: Path, work: Path, args: argparse.Namespace, device: str
) -> dict[str, Any]:
    import torch

    from cogumi_train import lora

    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    result = lora(
        base,
        data,
        work / kind,
        quantize="nf4" if kind == "qlora" else None,
        rank=args.rank,
        alpha=2 * args.rank,
        dropout=0.0,
        lr=args.lr,
        warmup=10,
        steps=args.steps,
        batch_size=args.batch_size,
        max_length=args.prompt_tokens + args.response_tokens + 8,
        seed=0,
        device=device,
        progress=not args.quiet,
        overwrite=True,
    )
    curve = json.loads((result.out / "loss.json").read_text())
    return {
        "kind": kind,
        "quantization": result.quantization,
        "steps": result.steps,
        "tokens": result.tokens,
        "seconds": round(result.seconds, 2),
        "tokens_per_second": round(result.tokens_per_second, 1),
        "steady_tokens_per_second": (
            round(v, 1) if (v := steady_tokens_per_second(curve, args.warmup_steps)) else None
        ),
        "peak_memory_gib": round(result.peak_memory_bytes / 2**30, 3)
        if result.peak_memory_bytes
        else None,
        "peak_memory_kind": result.peak_memory_kind,
        "first_loss": round(result.first_loss, 4),
        "final_loss": round(result.final_loss, 4),
        "trainable_parameters": result.lineage["training"]["trainable_parameters"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="2-layer model on the CPU (a check)")
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps (300; tiny 20)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--prompt-tokens", type=int, default=384)
    parser.add_argument("--response-tokens", type=int, default=128)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument(
        "--warmup-steps", type=int, default=10, help="steps left out of the steady tokens/s"
    )
    parser.add_argument("--kinds", default="lora,qlora", help="which runs, comma-separated")
    parser.add_argument(
        "--out",
        default=None,
        help="JSON report (default benchmarks/results/lora.json; --tiny: a temp file)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args()

    import torch

    device = "cpu" if args.tiny else "cuda"
    if not args.tiny and not torch.cuda.is_available():
        parser.error("no CUDA GPU here; pass --tiny to check the script on the CPU")
    name = "tiny" if args.tiny else "0.5b"
    preset = PRESETS[name]
    if args.tiny:
        args.prompt_tokens, args.response_tokens = (
            min(args.prompt_tokens, 24),
            min(args.response_tokens, 8),
        )
    args.steps = args.steps or (20 if args.tiny else 300)
    card = torch.cuda.get_device_name(0) if device == "cuda" else platform.processor() or "cpu"

    rows = []
    with tempfile.TemporaryDirectory(prefix="cogumi-lora-bench-") as tmp:
        work = Path(tmp)
        # weight hashes cached beside the run (and no platformdirs needed on a bare machine)
        os.environ.setdefault("COGUMI_CACHE_DIR", str(work / "cache"))
        started = time.perf_counter()
        parameters = random_llama(work / "base", preset, device)
        data = work / "data.jsonl"
        write_data(
            data,
            args.steps * args.batch_size,
            args.prompt_tokens,
            args.response_tokens,
            preset["vocab_size"],
        )
        print(
            f"{name} Llama, {parameters / 1e6:.1f}M parameters, built in "
            f"{time.perf_counter() - started:.1f} s on {card}"
        )
        for kind in [k.strip() for k in args.kinds.split(",") if k.strip()]:
            rows.append(run(kind, work / "base", data, work, args, device))

    header = f"{'run':<6} {'steps':>5} {'tok/s':>9} {'steady':>9} {'peak GiB':>9} {'loss':>15}"
    print(header)
    print("-" * len(header))
    for r in rows:
        steady = f"{r['steady_tokens_per_second']:,.0f}" if r["steady_tokens_per_second"] else "-"
        peak = f"{r['peak_memory_gib']:.2f}" if r["peak_memory_gib"] else "-"
        print(
            f"{r['kind']:<6} {r['steps']:>5} {r['tokens_per_second']:>9,.0f} {steady:>9} "
            f"{peak:>9} {r['first_loss']:>7.3f}->{r['final_loss']:<7.3f}"
        )

    from cogumi_eval.model._lineage import library_versions

    report = {
        "benchmark": "lora",
        "device": card,
        "preset": name,
        "model": {**preset, "parameters": parameters},
        "sequence_tokens": args.prompt_tokens + args.response_tokens,
        "batch_size": args.batch_size,
        "rank": args.rank,
        "runs": rows,
        "libraries": {
            **library_versions("torch", "transformers", "peft", "bitsandbytes", "accelerate"),
            "python": platform.python_version(),
        },
        "command": " ".join(sys.argv),
    }
    default = (
        Path(tempfile.gettempdir()) / "lora-tiny.json"
        if args.tiny
        else REPO / "benchmarks" / "results" / "lora.json"
    )
    out = Path(args.out) if args.out else default
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
