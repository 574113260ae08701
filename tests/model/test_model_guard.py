"""The quantized-base guard and quantization detection, on synthetic checkpoint configs."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from cogumi_eval.model import (
    QuantizedBaseError,
    check_adapter_base,
    detect_quantization,
    refuse_quantized_base,
)


def _checkpoint(folder: Path, config: dict | None = None, **files: dict) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(
        json.dumps({"model_type": "llama", "dtype": "bfloat16", **(config or {})})
    )
    for name, content in files.items():
        (folder / f"{name}.json").write_text(json.dumps(content))
    return folder


def _adapter(folder: Path, base: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(
        json.dumps({"peft_type": "LORA", "r": 8, "base_model_name_or_path": base})
    )
    return folder


def _safetensors(path: Path, tensors: dict[str, str]) -> None:
    header, offset = {}, 0
    for name, dtype in tensors.items():
        header[name] = {"dtype": dtype, "shape": [2], "data_offsets": [offset, offset + 2]}
        offset += 2
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * offset)


BNB_4BIT = {"quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_type": "nf4"}
AWQ = {"quant_method": "awq", "bits": 4, "group_size": 128, "version": "gemm"}
GPTQ = {"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": False}
COMPRESSED = {
    "quant_method": "compressed-tensors",
    "format": "pack-quantized",
    "config_groups": {
        "group_0": {"weights": {"num_bits": 4, "type": "int"}, "targets": ["Linear"]}
    },
}


@pytest.mark.parametrize(
    ("quantization_config", "method", "bits"),
    [
        (BNB_4BIT, "bitsandbytes", 4),
        (AWQ, "awq", 4),
        (GPTQ, "gptq", 4),
        (COMPRESSED, "compressed-tensors", 4),
        ({"quant_method": "bitsandbytes", "load_in_8bit": True}, "bitsandbytes", 8),
    ],
    ids=["bnb-4bit", "awq", "gptq", "compressed-tensors", "bnb-8bit"],
)
def test_quantization_config_is_detected(
    tmp_path: Path, quantization_config: dict, method: str, bits: int
) -> None:
    base = _checkpoint(tmp_path / "base", {"quantization_config": quantization_config})

    found = detect_quantization(base)

    assert (found.method, found.bits, found.name_hint_only) == (method, bits, False)
    assert "quantization_config" in found.evidence


def test_legacy_autogptq_file_is_detected(tmp_path: Path) -> None:
    base = _checkpoint(tmp_path / "base", quantize_config={"bits": 4, "group_size": 128})

    assert (detect_quantization(base).method, detect_quantization(base).bits) == ("gptq", 4)


def test_quantized_tensor_names_are_detected_without_a_config_entry(tmp_path: Path) -> None:
    base = _checkpoint(tmp_path / "base")
    _safetensors(
        base / "model.safetensors",
        {"model.layers.0.q_proj.qweight": "I32", "model.layers.0.q_proj.scales": "F16"},
    )

    assert detect_quantization(base).method == "awq"


def test_sparsity_only_compressed_tensors_is_not_quantized(tmp_path: Path) -> None:
    base = _checkpoint(
        tmp_path / "base",
        {
            "quantization_config": {
                "quant_method": "compressed-tensors",
                "sparsity_config": {"format": "sparse-24-bitmask"},
            }
        },
    )

    assert detect_quantization(base) is None


def test_clean_bf16_base_is_not_quantized(tmp_path: Path) -> None:
    base = _checkpoint(tmp_path / "base")
    _safetensors(base / "model.safetensors", {"model.embed_tokens.weight": "BF16"})
    adapter = _adapter(tmp_path / "adapter", str(base))

    check = check_adapter_base(adapter)

    assert not check.quantized
    assert refuse_quantized_base(adapter).quantization is None


def test_adapter_on_a_bnb_4bit_base_folder_is_refused(tmp_path: Path) -> None:
    base = _checkpoint(tmp_path / "llama-base", {"quantization_config": BNB_4BIT})
    adapter = _adapter(tmp_path / "adapter", str(base))

    with pytest.raises(
        QuantizedBaseError, match=r"trained on a 4-bit quantized base.*Retrain on the bf16 base"
    ):
        refuse_quantized_base(adapter)


def test_a_name_alone_marks_the_base_quantized(tmp_path: Path) -> None:
    adapter = _adapter(tmp_path / "adapter", "unsloth/llama-3-8b-bnb-4bit")

    check = check_adapter_base(adapter)

    assert check.quantized and check.quantization.name_hint_only
    assert (check.quantization.method, check.quantization.bits) == ("bitsandbytes", 4)
    assert "unsloth/llama-3-8b-bnb-4bit" in check.message()


def test_allow_quantized_base_lets_evaluation_proceed(tmp_path: Path) -> None:
    adapter = _adapter(tmp_path / "adapter", "TheBloke/Llama-2-7B-GPTQ")

    check = refuse_quantized_base(adapter, allow_quantized_base=True)

    assert check.quantization.method == "gptq"


def test_a_quantized_evaluation_base_is_reported_even_when_training_base_was_clean(
    tmp_path: Path,
) -> None:
    clean = _checkpoint(tmp_path / "clean")
    awq = _checkpoint(tmp_path / "served-awq", {"quantization_config": AWQ})
    adapter = _adapter(tmp_path / "adapter", str(clean))

    check = check_adapter_base(adapter, base=str(awq))

    assert check.quantized and check.reasons[0].startswith("evaluated on")


def test_merge_through_the_model_api_is_refused_for_a_quantized_base(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    from inspect_ai.model import get_model

    from .conftest import build_adapter

    adapter = build_adapter(
        tiny_checkpoint, tmp_path / "adapter", base_name="unsloth/llama-3-8b-bnb-4bit"
    )
    with pytest.raises(QuantizedBaseError):
        get_model(f"cogumi/{adapter}", base=str(tiny_checkpoint), merge=True, memoize=False)
