"""Each recipe that runs on the CPU: a checkpoint that evaluates through cogumi/<folder>, its size
report and its lineage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import eval

from cogumi_compress import RECIPES
from cogumi_eval import gsm8k
from cogumi_eval.cli import main
from cogumi_eval.model import read_lineage, weights_digest

from .conftest import CALIBRATION, CPU_RECIPES


def _loaded_weights(folder: Path) -> dict[str, Any]:
    """Linear weights of ``folder`` as transformers rebuilds them (compressed layers unpacked)."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(folder))
    with torch.no_grad():
        model(torch.tensor([[1, 5, 9]]))  # compressed-tensors unpacks on the first forward pass
    return {
        name: module.weight.detach().clone()
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear)
    }


def _follows_2of4(weight: Any) -> bool:
    return bool(((weight == 0).reshape(-1, 4).sum(-1) >= 2).all())


@pytest.mark.parametrize("recipe", CPU_RECIPES)
def test_checkpoint_evaluates_gsm8k_through_the_model_api_with_compression_lineage(
    recipe: str, compressed: dict[str, Any], parent: Path
) -> None:
    result = compressed[recipe]

    log = eval(gsm8k(), model=f"cogumi/{result.out}", limit=2, max_tokens=8, display="none")[0]

    assert log.status == "success"
    assert [s.scores["final_number"].value in ("C", "I") for s in log.samples] == [True, True]
    assert all(s.output.usage.output_tokens > 0 for s in log.samples)
    lineage = read_lineage(log)
    assert lineage["weights"]["sha256"] == weights_digest(result.out).sha256
    assert lineage["base"] == str(parent.resolve())
    record = lineage["compression"]
    assert record["recipe"] == recipe
    assert record["method"] == RECIPES[recipe].method
    assert record["scheme"] == RECIPES[recipe].scheme
    assert record["group_size"] == RECIPES[recipe].group_size
    assert record["parent"]["weights_sha256"] == weights_digest(parent).sha256
    assert record["calibration"]["spec"] == CALIBRATION
    assert record["calibration"]["samples"] == 16
    assert record["calibration"]["sha256"] == result.calibration.sha256
    assert record["size"]["bytes_on_disk"] == result.report.bytes_on_disk
    bits = RECIPES[recipe].weight_bits
    if bits is None:
        assert lineage["quantization"] is None
    else:
        assert lineage["quantization"]["method"] == "compressed-tensors"
        assert lineage["quantization"]["bits"] == bits


def test_size_report_and_lineage_record_are_written_beside_the_model(
    compressed: dict[str, Any],
) -> None:
    result = compressed["gptq-w4a16"]

    record = json.loads((result.out / "compression.json").read_text())

    assert record == json.loads(json.dumps(result.record))
    assert record["size"] == json.loads(json.dumps(result.report.to_dict()))
    assert record["size"]["bytes_on_disk"] == (result.out / "model.safetensors").stat().st_size
    assert {layer["name"] for layer in record["size"]["layers"]} >= {
        "model.layers.0.self_attn.q_proj",
        "model.layers.1.mlp.down_proj",
        "lm_head",
    }


def test_gptq_int4_stores_four_bits_and_a_scale_per_group_of_128(
    compressed: dict[str, Any],
) -> None:
    report = compressed["gptq-w4a16"].report

    # 4 bits per weight, plus one float32 scale per 128 weights (0.25 bits) and the layer shape
    assert 4.25 <= report.targeted_bits_per_parameter < 4.3
    assert report.bytes_on_disk < report.parent_bytes / 2
    head = next(layer for layer in report.layers if layer.name == "lm_head")
    assert head.bits_per_parameter == 32.0  # left alone


def test_w8a8_stores_eight_bit_weights_with_one_scale_per_row(compressed: dict[str, Any]) -> None:
    report = compressed["w8a8"].report

    assert 8.0 < report.targeted_bits_per_parameter < 8.35
    assert compressed["w8a8"].record["activation_bits"] == 8


def test_sparse_2of4_zeroes_two_of_every_four_weights_and_stays_dense_on_disk(
    compressed: dict[str, Any],
) -> None:
    result = compressed["sparse-2of4"]
    report = result.report

    assert report.sparsity == 0.5
    targeted = [layer for layer in report.layers if layer.name != "lm_head"]
    assert len(targeted) == 14 and report.layers_following_2of4 == 14
    assert all(layer.sparsity == 0.5 and layer.follows_2of4 for layer in targeted)
    head = next(layer for layer in report.layers if layer.name == "lm_head")
    assert head.sparsity < 0.01 and not head.follows_2of4  # the output head is left alone
    # compressed-tensors 0.19 has no sparse storage format: same bytes as the parent
    assert report.size_ratio == 1.0
    loaded = _loaded_weights(result.out)
    assert all(_follows_2of4(loaded[layer.name]) for layer in targeted)
    assert not _follows_2of4(loaded["lm_head"])


def test_sparse_then_int4_keeps_the_2of4_mask_through_quantization(
    compressed: dict[str, Any],
) -> None:
    result = compressed["sparse-2of4+w4a16"]
    report = result.report

    assert report.layers_following_2of4 == 14
    assert report.sparsity >= 0.5
    assert 4.25 <= report.targeted_bits_per_parameter < 4.3
    loaded = _loaded_weights(result.out)
    assert all(
        _follows_2of4(loaded[layer.name]) for layer in report.layers if layer.name != "lm_head"
    )


def test_lineage_command_shows_the_recipe_parent_and_calibration(
    compressed: dict[str, Any], parent: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = compressed["w8a8"]

    assert main(["lineage", str(result.out)]) == 0

    out = capsys.readouterr().out
    assert "w8a8 (SmoothQuant + GPTQ, W8A8" in out
    assert f"parent sha256 {weights_digest(parent).sha256[:16]}" in out
    assert f"calibration 16 samples sha256 {result.calibration.sha256[:16]}" in out


def test_command_compresses_and_prints_the_size_report(
    parent: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sparse"

    code = main(
        [
            "compress",
            str(parent),
            "--recipe",
            "sparse-2of4",
            "--out",
            str(out),
            "--calibration",
            CALIBRATION,
            "--max-seq-length",
            "64",
        ]
    )

    assert code == 0
    printed = capsys.readouterr().out
    assert "sparsity 50.0% (14/14 targeted layers 2:4)" in printed
    assert f"--model cogumi/{out}" in printed
    assert (out / "compression.json").is_file()
    assert not list(tmp_path.glob(".sparse.partial-*"))
