"""cogumi train lora: LoRA and QLoRA on a tiny Llama, loss on responses only, lineage, bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from cogumi_eval.cli import main
from cogumi_eval.model import check_adapter_base, weights_digest
from cogumi_train._lora import LoraError
from cogumi_train._sft_data import (
    IGNORE,
    TrainingDataError,
    encode_file,
    encode_record,
    prompt_ids,
)

from . import _tiny
from ._tiny import build_base, train, write_jsonl

# the shared fixtures, built once per session whichever file asks first
capitals = _tiny.capitals
lora_adapter = _tiny.lora_adapter
qlora_adapter = _tiny.qlora_adapter
tiny_base = _tiny.tiny_base

TEMPLATE = (
    "{% for m in messages %}<s>{{ m['role'] }}\n{{ m['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant\n{% endif %}"
)


def _tokenizer(folder: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder))


def test_lora_for_a_few_steps_lowers_the_response_loss(lora_adapter: Any) -> None:
    assert lora_adapter.steps == 12
    assert lora_adapter.final_loss < lora_adapter.first_loss / 2


def test_lora_writes_adapter_tokenizer_lineage_and_loss_curve(
    lora_adapter: Any, tiny_base: Path, capitals: Path
) -> None:
    out = lora_adapter.out
    for name in (
        "adapter_config.json",
        "adapter_model.safetensors",
        "tokenizer.json",
        "cogumi_lineage.json",
        "loss.json",
        "loss.png",
    ):
        assert (out / name).is_file(), name
    lineage = json.loads((out / "cogumi_lineage.json").read_text())
    assert lineage["step"] == "lora" and lineage["quantization"] is None
    assert lineage["base"]["weights"]["sha256"] == weights_digest(tiny_base).sha256
    assert lineage["data"]["sha256"] == hashlib.sha256(capitals.read_bytes()).hexdigest()
    assert lineage["hyperparameters"]["rank"] == 8 and lineage["hyperparameters"]["lr"] == 1e-2
    assert {"torch", "transformers", "peft", "accelerate"} <= set(lineage["libraries"])
    curve = json.loads((out / "loss.json").read_text())
    assert [p["loss"] for p in curve] == lora_adapter.losses
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(tiny_base.resolve())


def test_only_response_tokens_carry_labels(tiny_base: Path) -> None:
    tokenizer = _tokenizer(tiny_base)
    messages = [
        {"role": "user", "content": "What is the capital of Spain?"},
        {"role": "assistant", "content": "Madrid"},
    ]
    example, cut = encode_record(tokenizer, messages, 512, "test", 1)

    assert example is not None and not cut
    target = [t for t in example.labels if t != IGNORE]
    assert tokenizer.decode(target) == "\n\nMadrid</s>"
    prompt_len = example.labels.index(target[0])
    assert example.input_ids[:prompt_len] == prompt_ids(tokenizer, messages[:1])


def test_chat_template_records_learn_every_assistant_turn_and_no_prompt(tmp_path: Path) -> None:
    tokenizer = _tokenizer(build_base(tmp_path / "chat", chat_template=TEMPLATE))
    messages = [
        {"role": "user", "content": "Capital of Italy?"},
        {"role": "assistant", "content": "Rome"},
        {"role": "user", "content": "And of Austria?"},
        {"role": "assistant", "content": "Vienna"},
    ]
    example, _ = encode_record(tokenizer, messages, 512, "test", 1)

    assert example is not None
    targets = tokenizer.decode(
        [t if t != IGNORE else tokenizer.pad_token_id for t in example.labels],
        skip_special_tokens=False,
    )
    pieces = [p for p in targets.split("<pad>") if p]
    assert pieces == ["Rome</s>\n", "Vienna</s>\n"]


def test_training_prompt_is_the_prompt_the_hf_backend_renders(
    tiny_base: Path, tmp_path: Path
) -> None:
    from inspect_ai.model import ChatMessageUser

    from cogumi_eval.model._requests import render_prompt

    question = "What is the capital of France? Answer with one word."
    for folder, template in (
        (tiny_base, False),
        (build_base(tmp_path / "chat", chat_template=TEMPLATE), True),
    ):
        tokenizer = _tokenizer(folder)
        rendered = render_prompt(tokenizer, [ChatMessageUser(content=question)], template)
        assert prompt_ids(tokenizer, [{"role": "user", "content": question}]) == rendered


def test_steps_and_gradient_accumulation_count_optimizer_steps(
    tiny_base: Path, capitals: Path, tmp_path: Path
) -> None:
    result = train(tiny_base, capitals, tmp_path / "a", steps=3, batch_size=2, grad_accum=2)

    assert result.steps == 3 and len(result.losses) == 3
    assert result.lineage["hyperparameters"]["effective_batch"] == 4


def test_qlora_trains_on_an_nf4_base_on_the_cpu(qlora_adapter: Any) -> None:
    spec = qlora_adapter.lineage["quantization"]

    assert qlora_adapter.final_loss < qlora_adapter.first_loss / 2
    assert (spec["method"], spec["bits"], spec["quant_type"]) == ("bitsandbytes", 4, "nf4")
    assert spec["double_quant"] is True and spec["compute_dtype"] == "float32"
    assert qlora_adapter.lineage["kind"] == "qlora"


def test_guard_knows_a_qlora_adapter_was_trained_on_an_nf4_base(
    qlora_adapter: Any, tiny_base: Path
) -> None:
    check = check_adapter_base(qlora_adapter.out)

    assert check.quantized and check.quantization is not None
    assert check.quantization.bits == 4 and "nf4" in check.quantization.evidence
    assert str(tiny_base.resolve()) in check.message()
    assert check.trained_quantization == qlora_adapter.lineage["quantization"]


def test_guard_finds_a_lora_adapter_clean(lora_adapter: Any) -> None:
    assert not check_adapter_base(lora_adapter.out).quantized


def test_record_without_the_fields_is_named_by_line(tiny_base: Path, tmp_path: Path) -> None:
    data = write_jsonl(
        tmp_path / "d.jsonl",
        [{"instruction": "a", "response": "b"}, {"prompt": "a", "completion": "b"}],
    )
    with pytest.raises(TrainingDataError, match=r"d\.jsonl line 2 has completion, prompt; give"):
        train(tiny_base, data, tmp_path / "out")


def test_empty_data_file_is_refused(tiny_base: Path, tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(TrainingDataError, match=r"empty\.jsonl holds no records"):
        train(tiny_base, tmp_path / "empty.jsonl", tmp_path / "out")


def test_line_that_is_not_json_is_named(tiny_base: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"instruction": "a", "response": "b"}\n{oops\n')
    with pytest.raises(TrainingDataError, match=r"bad\.jsonl line 2 is not JSON"):
        train(tiny_base, tmp_path / "bad.jsonl", tmp_path / "out")


def test_target_modules_that_match_nothing_name_the_real_ones(
    tiny_base: Path, capitals: Path, tmp_path: Path
) -> None:
    with pytest.raises(LoraError, match=r"linear layers are named .*q_proj"):
        train(tiny_base, capitals, tmp_path / "out", target_modules=["query_key_value"])


def test_cli_prints_one_line_for_bad_data(
    tiny_base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [{"messages": [{"role": "user", "content": "hi"}]}])
    code = main(
        [
            "train",
            "lora",
            "--base",
            str(tiny_base),
            "--data",
            str(data),
            "--out",
            str(tmp_path / "out"),
            "--device",
            "cpu",
            "--no-progress",
        ]
    )

    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "no assistant message" in err
    assert not (tmp_path / "out").exists()


def test_records_longer_than_max_length_are_cut_or_dropped_and_counted(
    tiny_base: Path, tmp_path: Path
) -> None:
    tokenizer = _tokenizer(tiny_base)
    data = write_jsonl(
        tmp_path / "d.jsonl",
        [
            {"instruction": "Add the two numbers.", "response": "0 1 2 3 4 5 6 7 8 9 10 11 12"},
            {"instruction": " ".join(["Paris"] * 60), "response": "Rome"},
        ],
    )
    encoded = encode_file(data, tokenizer, 12)

    assert (encoded.records, encoded.truncated, encoded.dropped) == (2, 1, 1)
    assert len(encoded.examples) == 1
    assert len(encoded.examples[0].input_ids) == 12 and encoded.examples[0].line == 1


def test_cli_trains_and_prints_what_it_wrote(
    tiny_base: Path, capitals: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "train",
            "lora",
            "--base",
            str(tiny_base),
            "--data",
            str(capitals),
            "--out",
            str(tmp_path / "out"),
            "--steps",
            "2",
            "--rank",
            "4",
            "--device",
            "cpu",
            "--no-progress",
        ]
    )

    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("LoRA: 2 steps on cpu, loss ") and str(tmp_path / "out") in out
    assert (tmp_path / "out" / "adapter_model.safetensors").is_file()
