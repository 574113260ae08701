"""The failure-reproduction pipeline in miniature, on the CPU: it need not reproduce the damage,
only keep every step of ``benchmarks/failure_caught.py`` working.

Base model from scratch -> LoRA and QLoRA on the same data and seed -> the guard refuses the
seed's merge before anything is evaluated -> three merges -> one evaluation of four models ->
objective verdicts against the base -> promotion of each against the base.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory):
    fc = _load("failure_caught", REPO / "benchmarks" / "failure_caught.py")
    work = tmp_path_factory.mktemp("failure-caught")
    args = argparse.Namespace(
        work=work,
        seed=0,
        scale=0.005,
        hidden=64,
        layers=2,
        vocab=300,
        lr=1e-3,
        batch=16,
        steps=20,
        seconds=60.0,
        log_every=10,
    )
    base = fc.train_base(args)
    return fc, work, base


def test_base_checkpoint_is_an_ordinary_folder_with_a_chat_template(pipeline) -> None:
    _, work, base = pipeline
    folder = work / "base"
    assert (folder / "config.json").is_file() and (folder / "tokenizer.json").is_file()
    assert list(folder.glob("*.safetensors"))
    assert base["test_problems"] == sum(1 for _ in (work / "data" / "test.jsonl").open())
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "q"}], add_generation_prompt=True, tokenize=False
    )
    assert text == "<|user|>q<|end|><|assistant|>"


def test_held_out_problems_never_appear_in_training_data(pipeline) -> None:
    import json

    _, work, _ = pipeline

    def read(split: str) -> set[str]:
        return {json.loads(line)["question"] for line in (work / "data" / f"{split}.jsonl").open()}

    assert not read("test") & (read("train") | read("skill"))


def test_pipeline_guard_merges_evaluation_and_promotion(pipeline) -> None:
    from inspect_ai import eval as inspect_eval

    import cogumi_train
    from cogumi_eval.judge._objective import objective_pairwise, write_objective_log
    from cogumi_eval.model import QuantizedBaseError

    _, work, _ = pipeline
    data = work / "data" / "skill_sft.jsonl"
    common = dict(
        rank=4, alpha=8, lr=1e-3, steps=3, batch_size=4, seed=0, device="cpu", progress=False
    )
    cogumi_train.lora(work / "base", data, work / "adapters" / "lora", **common)
    cogumi_train.lora(work / "base", data, work / "adapters" / "qlora", quantize="nf4", **common)

    # the seed's merge is refused before any evaluation, naming the base
    with pytest.raises(QuantizedBaseError, match=str(work / "base")):
        cogumi_train.merge(work / "adapters" / "qlora", work / "merged" / "refused", device="cpu")
    assert not (work / "merged" / "refused").exists()

    merged = {
        "lora-bf16": cogumi_train.merge(
            work / "adapters/lora", work / "merged/lora-bf16", device="cpu"
        ),
        "qlora-merged-bf16": cogumi_train.merge(
            work / "adapters/qlora",
            work / "merged/qlora-bf16",
            allow_quantized_base=True,
            device="cpu",
        ),
        "qlora-merged-dequantized": cogumi_train.merge(
            work / "adapters/qlora",
            work / "merged/qlora-dequantized",
            into="dequantized",
            device="cpu",
        ),
    }
    assert merged["qlora-merged-bf16"].allowed_quantized_base
    # into the dequantized weights reproduces the trained function (up to bf16 storage); into the
    # bf16 weights it does not: the NF4 rounding the adapter was trained with is gone
    into_dequantized = merged["qlora-merged-dequantized"].check
    into_bf16 = merged["qlora-merged-bf16"].check
    assert into_dequantized.max_abs_logit_diff < 0.05
    assert into_bf16.max_abs_logit_diff > 5 * into_dequantized.max_abs_logit_diff

    task_file = _load(
        "word_problems_task", REPO / "examples" / "word_problems" / "word_problems.py"
    )
    task = task_file.word_problems(data=str(work / "data" / "test.jsonl"))
    folders = {"base": work / "base", **{name: result.out for name, result in merged.items()}}
    logs = inspect_eval(
        task,
        model=[f"cogumi/{folders[name]}" for name in folders],
        limit=4,
        epochs=2,
        log_dir=str(work / "logs"),
        display="none",
        temperature=0.7,
        seed=0,
    )
    assert [log.status for log in logs] == ["success"] * len(folders)
    by_name = dict(zip(folders, logs, strict=True))

    judged = work / "judged"
    for name, log in by_name.items():
        (judged / name).mkdir(parents=True)
        result = objective_pairwise(log.location, by_name["base"].location)
        assert result.rates.n == 8
        write_objective_log(result, judged / name / "judged.eval")

    registry = work / "registry.toml"
    for name in merged:
        promotion = cogumi_train.promote(
            folders[name],
            name=f"wp-{name}",
            baseline=judged / "base",
            spec=REPO / "examples" / "word_problems" / "gate.toml",
            logs=judged / name,
            registry=registry,
        )
        assert promotion.exit_code in (0, 1)
        assert {r.name for r in promotion.report.rules} >= {"word problems accuracy"}
