"""The failure Cogumi exists for, reproduced and caught: QLoRA on a 4-bit base, merged, gated.

Runs on one GPU (it was run on an NVIDIA H200), in phases that each fit in a
few minutes, every phase after the first through Cogumi's own commands:

    python benchmarks/failure_caught.py base     --work W   # data, tokenizer, base from scratch
    python benchmarks/failure_caught.py finetune --work W   # cogumi train lora (bf16, nf4) + merges
    python benchmarks/failure_caught.py evaluate --work W   # inspect eval, judge, promote

``base`` writes an ordinary checkpoint folder (bf16 safetensors, config, a
trained byte-level BPE tokenizer with a chat template) that the ``cogumi``
model API loads like any other. ``--tiny`` shrinks every phase to seconds on a
CPU, which is how the test suite keeps this path working.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "examples" / "word_problems"))

import problems as word_problems  # noqa: E402

CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'assistant' %}<|assistant|>{{ m['content'] }}<|end|>"
    "{% else %}<|user|>{{ m['content'] }}<|end|>{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIALS = ["<pad>", "<|user|>", "<|assistant|>", "<|end|>"]


def _prompt(question: str) -> str:
    """The user message exactly as Cogumi's GSM8K task sends it (zero-shot)."""
    from cogumi_eval.tasks.gsm8k import PROMPT

    return PROMPT.replace("{fewshot}", "").replace("{question}", question)


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def make_data(work: Path, scale: float, seed: int) -> dict[str, Path]:
    data = work / "data"
    files = {}
    for split, parts in word_problems.LAYOUT.items():
        records = (
            p
            for family, count in parts
            for p in word_problems.problems(family, max(4, int(count * scale)), seed, split)
        )
        files[split] = data / f"{split}.jsonl"
        word_problems.write(files[split], records)
    # held out means held out: no test question appears in train or skill data
    test_questions = {r["question"] for r in _read(files["test"])}
    for split in ("train", "skill"):
        kept = [r for r in _read(files[split]) if r["question"] not in test_questions]
        files[split].write_text("".join(json.dumps(r) + "\n" for r in kept))
    # the fine-tuning set in the chat format `cogumi train lora` reads
    sft = data / "skill_sft.jsonl"
    sft.write_text(
        "".join(
            json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": _prompt(r["question"])},
                        {"role": "assistant", "content": r["solution"]},
                    ]
                }
            )
            + "\n"
            for r in _read(files["skill"])
            + _read(files["train"])[: len(_read(files["skill"])) // 2]
        )
    )  # the new skill plus a third of old problems, so fine-tuning does not simply forget
    files["skill_sft"] = sft
    return files


def make_tokenizer(train: Path, out: Path, vocab_size: int) -> Any:
    """Byte-level BPE with one token per digit (arithmetic stays learnable) and a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    texts = [_prompt("x")]
    for r in _read(train):
        texts += [r["question"], r["solution"]]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts[:200_000], trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        eos_token="<|end|>",
        bos_token=None,
        unk_token=None,
        model_max_length=1024,
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)
    return fast


def encode_all(tokenizer: Any, records: list[dict[str, Any]]) -> list[tuple[list[int], int]]:
    """Token ids of prompt + answer per record, and where the answer starts (loss on the answer)."""
    prompts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": _prompt(r["question"])}],
            add_generation_prompt=True,
            tokenize=False,
        )
        for r in records
    ]
    prompt_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer([r["solution"] + "<|end|>" for r in records], add_special_tokens=False)[
        "input_ids"
    ]
    return [(p + a, len(p)) for p, a in zip(prompt_ids, answer_ids, strict=True)]


def greedy_accuracy(
    model: Any,
    tokenizer: Any,
    records: list[dict[str, Any]],
    device: str,
    batch: int = 512,
    max_new_tokens: int = 96,
) -> dict[str, float]:
    """Quick greedy check with transformers' generate (the harness's numbers come later)."""
    import torch

    from cogumi_eval.tasks._numeric import extract_final_number, numbers_equal

    tokenizer.padding_side = "left"
    correct: dict[str, list[bool]] = {}
    model.eval()
    for start in range(0, len(records), batch):
        chunk = records[start : start + batch]
        prompts = [
            tokenizer.apply_chat_template(
                [{"role": "user", "content": _prompt(r["question"])}],
                add_generation_prompt=True,
                tokenize=False,
            )
            for r in chunk
        ]
        enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(
            device
        )
        with torch.no_grad():
            out = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
        texts = tokenizer.batch_decode(
            out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True
        )
        for r, text in zip(chunk, texts, strict=True):
            ok = numbers_equal(extract_final_number(text).value, r["answer"])
            correct.setdefault(r["family"], []).append(ok)
    model.train()
    return {family: sum(v) / len(v) for family, v in correct.items()}


def train_base(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    work: Path = args.work
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    files = make_data(work, args.scale, args.seed)
    out = work / "base"
    tokenizer = make_tokenizer(files["train"], out, args.vocab)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=args.hidden,
        intermediate_size=args.hidden * 8 // 3 // 64 * 64 or 64,
        num_hidden_layers=args.layers,
        num_attention_heads=max(1, args.hidden // 64),
        num_key_value_heads=max(1, args.hidden // 64),
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        rope_theta=10000.0,
    )
    model = LlamaForCausalLM(config).to(device)
    params = sum(p.numel() for p in model.parameters())
    train = encode_all(tokenizer, _read(files["train"]))
    test = _read(files["test"])
    base_test = [r for r in test if r["family"] == "base"]
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    warmup = max(1, args.steps // 20)

    def lr_at(step: int) -> float:
        if step < warmup:
            return args.lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, args.steps - warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    pad = tokenizer.pad_token_id
    curve: list[dict[str, float]] = []
    start = time.time()
    tokens_seen = 0
    step = 0
    order = list(range(len(train)))
    cursor = len(order)
    while step < args.steps and time.time() - start < args.seconds:
        if cursor + args.batch > len(order):
            random.shuffle(order)
            cursor = 0
        batch = [train[i] for i in order[cursor : cursor + args.batch]]
        cursor += args.batch
        width = max(len(ids) for ids, _ in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (seq, answer_at) in enumerate(batch):
            ids[row, : len(seq)] = torch.tensor(seq)
            labels[row, answer_at : len(seq)] = torch.tensor(seq[answer_at:])
            mask[row, : len(seq)] = 1
        ids, labels, mask = ids.to(device), labels.to(device), mask.to(device)
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=device == "cuda"):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        tokens_seen += int(mask.sum())
        step += 1
        if step % args.log_every == 0 or step == 1:
            curve.append(
                {"step": step, "loss": float(loss.detach()), "seconds": time.time() - start}
            )
            print(
                f"step {step:5d}  loss {float(loss.detach()):.4f}  "
                f"{tokens_seen / (time.time() - start):,.0f} tok/s",
                flush=True,
            )
    elapsed = time.time() - start
    accuracy = greedy_accuracy(model, tokenizer, test, device)
    model = model.to(torch.bfloat16)
    model.save_pretrained(out, max_shard_size="15MB")
    tokenizer.save_pretrained(out)
    result = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "parameters": params,
        "config": {
            k: getattr(config, k)
            for k in (
                "hidden_size",
                "intermediate_size",
                "num_hidden_layers",
                "num_attention_heads",
                "vocab_size",
            )
        },
        "steps": step,
        "seconds": elapsed,
        "tokens": tokens_seen,
        "tokens_per_second": tokens_seen / elapsed,
        "train_problems": len(train),
        "test_problems": len(test),
        "base_test_problems": len(base_test),
        "greedy_accuracy_transformers_generate": accuracy,
        "loss_curve": curve,
    }
    (work / "base_result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "loss_curve"}, indent=2))
    return result


def _run(cmd: list[str], log: Path, expect: int = 0) -> subprocess.CompletedProcess[str]:
    """Run one Cogumi command, echo it and its output, keep both in ``log``; check its exit code."""
    print("$ " + " ".join(cmd), flush=True)
    started = time.time()
    done = subprocess.run(
        cmd, capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    output = (done.stdout or "") + (done.stderr or "")
    with log.open("a", encoding="utf-8") as f:
        f.write(
            f"$ {' '.join(cmd)}\n{output}\n"
            f"[exit {done.returncode}, {time.time() - started:.1f} s]\n\n"
        )
    print(output[-3000:], flush=True)
    if done.returncode != expect:
        raise SystemExit(f"{cmd[:3]} exited {done.returncode}, expected {expect}; see {log}")
    return done


def _lora_options(args: argparse.Namespace) -> list[str]:
    """The ``cogumi train lora`` options every run here shares (all but the learning rate)."""
    return [
        "--data",
        str(args.work / "data" / "skill_sft.jsonl"),
        "--rank",
        str(args.rank),
        "--alpha",
        str(2 * args.rank),
        "--epochs",
        str(args.lora_epochs),
        "--batch-size",
        str(args.lora_batch),
        "--seed",
        str(args.seed),
        "--no-progress",
        "--overwrite",
    ]


def _lora(base: Path, out: Path, log: Path, *options: str) -> None:
    """``cogumi train lora --base BASE --out OUT OPTIONS``."""
    _run(["cogumi", "train", "lora", "--base", str(base), "--out", str(out), *options], log)


def _merge(
    adapter: Path, out: Path, log: Path, *options: str, expect: int = 0
) -> subprocess.CompletedProcess[str]:
    """``cogumi train merge ADAPTER --out OUT OPTIONS``."""
    return _run(
        ["cogumi", "train", "merge", str(adapter), "--out", str(out), *options], log, expect=expect
    )


# model name -> folder under the work dir (what `--model cogumi/<folder>` evaluates)
MODELS = {
    "base": "base",
    "lora-bf16": "merged/lora-bf16",
    "qlora-unmerged": "adapters/qlora",
    "qlora-merged-bf16": "merged/qlora-bf16",
    "qlora-merged-dequantized": "merged/qlora-dequantized",
}


def finetune(args: argparse.Namespace) -> dict[str, Any]:
    """The seed's Phase 1A twice, same data and seed: LoRA on bf16, QLoRA on NF4; then merges."""
    work: Path = args.work
    log = work / "finetune.log"
    common = ["--lr", str(args.lora_lr), *_lora_options(args)]
    timings: dict[str, float] = {}
    for name, extra in (("lora", []), ("qlora", ["--quantize", "nf4"])):
        started = time.time()
        _lora(work / "base", work / "adapters" / name, log, *common, *extra)
        timings[f"train {name}"] = time.time() - started
    # (a) the safe path
    _merge(work / "adapters/lora", work / "merged/lora-bf16", log, "--overwrite")
    # (b) the guard refuses the seed's merge before anything is evaluated
    refused = _merge(work / "adapters/qlora", work / "merged/refused", log, expect=2)
    # (b) the seed's way: the NF4-trained adapter into the bf16 weights
    _merge(
        work / "adapters/qlora",
        work / "merged/qlora-bf16",
        log,
        "--allow-quantized-base",
        "--overwrite",
    )
    # (b) the safe way out: into the dequantized 4-bit weights it was trained against
    _merge(
        work / "adapters/qlora",
        work / "merged/qlora-dequantized",
        log,
        "--into",
        "dequantized",
        "--overwrite",
    )
    checks = {}
    for name in ("lora-bf16", "qlora-bf16", "qlora-dequantized"):
        lineage = json.loads((work / "merged" / name / "cogumi_lineage.json").read_text())
        checks[name] = lineage.get("check")
    guard = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    result = {
        "guard_message": guard[-1] if guard else refused.stderr.strip(),
        "timings": timings,
        "merge_checks": checks,
    }
    (work / "finetune_result.json").write_text(json.dumps(result, indent=2, default=str))
    return result


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Each model through `inspect eval`, judged against the base's answers, promoted or not."""
    work: Path = args.work
    log = work / "evaluate.log"
    task = "examples/word_problems/word_problems.py"  # Inspect takes task files relative to the cwd
    spec = str(REPO / "examples" / "word_problems" / "gate.toml")
    test = work / "data" / "test.jsonl"
    logs = work / "logs"
    for name, folder in MODELS.items():
        if list((logs / name).glob("*.eval")):
            continue  # evaluated by an earlier call: resume where a time limit stopped the phase
        cmd = [
            "inspect",
            "eval",
            task,
            "--model",
            f"cogumi/{work / folder}",
            "-T",
            f"data={test}",
            "--epochs",
            str(args.epochs),
            "--temperature",
            str(args.temperature),
            "--seed",
            str(args.seed),
            "--log-dir",
            str(logs / name),
            "--display",
            "none",
            "-M",
            f"batch_size={args.eval_batch}",
        ]
        if args.limit:
            cmd += ["--limit", str(args.limit)]
        _run(cmd, log)
    base_log = next((logs / "base").glob("*.eval"))
    judged = work / "judged"
    for name in MODELS:
        (judged / name).mkdir(parents=True, exist_ok=True)
        source = next((logs / name).glob("*.eval"))
        _run(
            [
                "cogumi",
                "judge",
                str(source),
                "--objective",
                "--baseline",
                str(base_log),
                "--output",
                str(judged / name / source.name),
            ],
            log,
        )
    registry = work / "registry.toml"
    verdicts: dict[str, Any] = {}
    for name in MODELS:
        if name in ("base", "qlora-unmerged"):
            continue
        report = work / f"promote-{name}.json"
        done = subprocess.run(
            [
                "cogumi",
                "promote",
                str(work / MODELS[name]),
                "--as",
                f"word-problems-{name}",
                "--baseline",
                str(judged / "base"),
                "--spec",
                spec,
                "--logs",
                str(judged / name),
                "--registry",
                str(registry),
                "--json",
                str(report),
            ],
            capture_output=True,
            text=True,
        )
        with log.open("a", encoding="utf-8") as f:
            f.write(
                f"$ cogumi promote {name}\n{done.stdout}{done.stderr}\n[exit {done.returncode}]\n\n"
            )
        print(done.stdout[-4000:], done.stderr[-2000:], flush=True)
        verdicts[name] = {
            "exit": done.returncode,
            "report": json.loads(report.read_text()) if report.is_file() else None,
        }
    (work / "evaluate_result.json").write_text(json.dumps(verdicts, indent=2, default=str))
    return verdicts


def conditions(args: argparse.Namespace) -> dict[str, Any]:
    """Where does merging a QLoRA adapter into bf16 weights hurt? Greedy accuracy per condition.

    For each LoRA learning rate: LoRA on bf16 merged; QLoRA merged into bf16
    (the seed's way) and into the dequantized NF4 weights; QLoRA unmerged on its
    NF4 base; and the bf16 LoRA merge re-quantized to NF4 (merge, then quantize
    for serving). Greedy answers through transformers' generate on the whole
    held-out set, so conditions compare on the same problems.
    """
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    work: Path = args.work
    log = work / "conditions.log"
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    test = _read(work / "data" / "test.jsonl")
    if args.limit:
        test = test[: args.limit]
    nf4 = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=dtype,
    )
    tokenizer = AutoTokenizer.from_pretrained(work / "base")

    def accuracy(
        folder: Path, quantized: bool = False, adapter: Path | None = None
    ) -> dict[str, float]:
        model = AutoModelForCausalLM.from_pretrained(
            folder,
            dtype=dtype,
            quantization_config=nf4 if quantized else None,
            device_map={"": device} if quantized else None,
        )
        if not quantized:
            model = model.to(device)
        if adapter is not None:
            model = PeftModel.from_pretrained(model, adapter)
        return greedy_accuracy(model, tokenizer, test, device, batch=args.eval_batch)

    results: dict[str, Any] = {
        "base": accuracy(work / "base"),
        "base-nf4": accuracy(work / "base", quantized=True),
    }
    common = _lora_options(args)
    for lr in args.sweep_lrs:
        tag = f"lr{lr:g}"
        root = work / "conditions" / tag
        _lora(work / "base", root / "lora", log, "--lr", str(lr), *common)
        _lora(work / "base", root / "qlora", log, "--lr", str(lr), "--quantize", "nf4", *common)
        _merge(root / "lora", root / "lora-merged", log, "--overwrite")
        _merge(
            root / "qlora", root / "qlora-merged-bf16", log, "--allow-quantized-base", "--overwrite"
        )
        _merge(
            root / "qlora",
            root / "qlora-merged-dequantized",
            log,
            "--into",
            "dequantized",
            "--overwrite",
        )
        results[tag] = {
            "lora-merged": accuracy(root / "lora-merged"),
            "lora-merged-requantized-nf4": accuracy(root / "lora-merged", quantized=True),
            "qlora-unmerged-on-nf4": accuracy(
                work / "base", quantized=True, adapter=root / "qlora"
            ),
            "qlora-merged-bf16": accuracy(root / "qlora-merged-bf16"),
            "qlora-merged-dequantized": accuracy(root / "qlora-merged-dequantized"),
        }
        print(tag, json.dumps(results[tag]), flush=True)
    (work / "conditions_result.json").write_text(json.dumps(results, indent=2))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("phase", choices=["data", "base", "finetune", "evaluate", "conditions"])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiny", action="store_true", help="seconds on a CPU: the CI miniature")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--hidden", type=int, default=384)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--vocab", type=int, default=640)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--seconds", type=float, default=330.0)
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument("--rank", type=int, default=16, help="LoRA rank (alpha = 2 x rank)")
    parser.add_argument("--lora-lr", type=float, default=1e-3)
    parser.add_argument("--lora-epochs", type=int, default=2)
    parser.add_argument("--lora-batch", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3, help="evaluation epochs")
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--eval-batch", type=int, default=512)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument(
        "--sweep-lrs",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[1e-3, 4e-3],
        help="LoRA learning rates for the conditions phase",
    )
    args = parser.parse_args()
    if args.tiny:
        args.scale, args.hidden, args.layers, args.batch = 0.005, 64, 2, 16
        args.steps, args.seconds, args.log_every, args.vocab = 30, 60.0, 10, 300
        args.lora_epochs, args.lora_batch, args.epochs, args.eval_batch = 1, 8, 2, 8
        args.limit = args.limit or 6
        args.sweep_lrs = args.sweep_lrs[:1]
    args.work.mkdir(parents=True, exist_ok=True)
    phases = {
        "data": lambda a: make_data(a.work, a.scale, a.seed),
        "base": train_base,
        "finetune": finetune,
        "evaluate": evaluate,
        "conditions": conditions,
    }
    phases[args.phase](args)


if __name__ == "__main__":
    main()
