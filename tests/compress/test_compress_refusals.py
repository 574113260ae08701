"""Bad input is refused before anything is loaded, naming the input and the fix."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import namedtuple
from pathlib import Path
from typing import Any

import pytest

from cogumi_compress import (
    RECIPES,
    AcceleratorRequiredError,
    AdapterFolderError,
    AlreadyQuantizedError,
    CalibrationError,
    CompressionError,
    DiskSpaceError,
    OutputExistsError,
    UnknownRecipeError,
    compress,
)
from cogumi_compress._cli import RECIPE_NAMES
from cogumi_eval.cli import main

from .conftest import CALIBRATION


def _no_model_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the model is loaded (each refusal must come first)."""
    import transformers

    def loaded(*args: object, **kwargs: object) -> None:
        pytest.fail("the model was loaded before the input was refused")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", loaded)


def test_unknown_recipe_lists_the_valid_ones(parent: Path, tmp_path: Path) -> None:
    with pytest.raises(UnknownRecipeError) as caught:
        compress(parent, recipe="awq-w3", out=tmp_path / "out")

    assert "unknown recipe 'awq-w3'" in str(caught.value)
    assert all(name in str(caught.value) for name in RECIPES)
    assert not (tmp_path / "out").exists()


def test_command_prints_one_line_and_exits_2_on_bad_input(
    parent: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["compress", str(parent), "--recipe", "int3", "--out", str(tmp_path / "o")])

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: unknown recipe 'int3'; choose one of: awq-w4a16, gptq-w4a16")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_the_command_lists_the_same_recipes_as_the_library() -> None:
    assert RECIPE_NAMES == tuple(RECIPES)


def test_recipes_that_need_a_gpu_are_named() -> None:
    needs = {name: r.needs_accelerator for name, r in RECIPES.items() if r.needs_accelerator}

    assert list(needs) == ["awq-w4a16"]
    assert "page-locked memory" in needs["awq-w4a16"]


def test_gpu_recipe_on_a_cpu_machine_is_refused_before_loading_the_model(
    parent: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    if torch.accelerator.is_available():
        pytest.skip("this machine has an accelerator")
    _no_model_load(monkeypatch)

    with pytest.raises(AcceleratorRequiredError) as caught:
        compress(parent, recipe="awq-w4a16", out=tmp_path / "out", calibration=CALIBRATION)

    message = str(caught.value)
    assert "recipe awq-w4a16 needs a GPU" in message and "this machine has none" in message
    assert "gptq-w4a16, w8a8, sparse-2of4, sparse-2of4+w4a16" in message


def test_already_quantized_folder_is_refused_with_the_evidence(
    compressed: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_model_load(monkeypatch)
    quantized = compressed["gptq-w4a16"].out

    with pytest.raises(AlreadyQuantizedError) as caught:
        compress(quantized, recipe="w8a8", out=tmp_path / "again")

    message = str(caught.value)
    assert "is already quantized (compressed-tensors 4-bit" in message
    assert "config.json quantization_config" in message
    assert "Compress the unquantized parent" in message


def test_adapter_folder_is_refused_saying_merge_it_first(
    parent: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    adapter = tmp_path / "lora"
    lora = LoraConfig(r=4, target_modules=["q_proj", "v_proj"])
    get_peft_model(AutoModelForCausalLM.from_pretrained(parent), lora).save_pretrained(adapter)
    _no_model_load(monkeypatch)

    with pytest.raises(AdapterFolderError) as caught:
        compress(adapter, recipe="w8a8", out=tmp_path / "out")

    assert "is a PEFT adapter" in str(caught.value)
    assert "Merge it into its base first" in str(caught.value)


def test_existing_output_is_never_overwritten(parent: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")

    with pytest.raises(OutputExistsError):
        compress(parent, recipe="w8a8", out=out)

    assert (out / "keep.txt").read_text() == "mine"


def test_not_enough_disk_space_is_refused_before_starting(
    parent: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 4096, 4096))
    _no_model_load(monkeypatch)

    with pytest.raises(DiskSpaceError) as caught:
        compress(parent, recipe="gptq-w4a16", out=tmp_path / "out", calibration=CALIBRATION)

    assert "MiB free; free some space or write --out elsewhere" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_group_size_that_does_not_divide_the_layers_is_refused(
    parent: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_model_load(monkeypatch)

    with pytest.raises(CompressionError) as caught:
        compress(parent, recipe="gptq-w4a16", out=tmp_path / "out", group_size=96)

    assert "groups of 96 weights" in str(caught.value)
    assert "does not divide the inputs of 14 layer(s)" in str(caught.value)
    assert "model.layers.0.self_attn.k_proj (128 inputs)" in str(caught.value)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("missing.jsonl:16", "neither a task (gsm8k, mmlu) nor an existing JSONL file"),
        ("gsm8k:4", "gives 4 non-empty samples; at least 8 are needed"),
        ("gsm8k", "needs a count, e.g. gsm8k:256"),
        ("gsm8k:999999", "holds 7473 samples but 999999 were asked for"),
    ],
)
def test_missing_or_too_small_calibration_is_refused_before_loading_the_model(
    spec: str, says: str, parent: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _no_model_load(monkeypatch)

    with pytest.raises(CalibrationError) as caught:
        compress(parent, recipe="w8a8", out=tmp_path / "out", calibration=spec)

    assert says in str(caught.value)


def test_task_calibration_without_the_data_folder_is_refused(
    parent: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "no-data"
    empty.mkdir()
    monkeypatch.setenv("COGUMI_DATA_DIR", str(empty))
    _no_model_load(monkeypatch)

    with pytest.raises(CalibrationError) as caught:
        compress(parent, recipe="w8a8", out=tmp_path / "out", calibration="gsm8k:16")

    assert "calibration source gsm8k cannot be read" in str(caught.value)


def test_jsonl_with_fewer_records_than_asked_is_refused(parent: Path, tmp_path: Path) -> None:
    data = tmp_path / "calib.jsonl"
    data.write_text("".join(json.dumps({"text": f"sample {i}"}) + "\n" for i in range(3)))

    with pytest.raises(CalibrationError) as caught:
        compress(parent, recipe="w8a8", out=tmp_path / "out", calibration=f"{data}:10")

    assert f"calibration source {data} holds 3 samples but 10 were asked for" in str(caught.value)


def test_importing_the_package_and_its_command_loads_neither_torch_nor_llmcompressor() -> None:
    code = (
        "import sys, cogumi_compress, cogumi_compress._cli\n"
        "from cogumi_eval.cli import build_parser\n"
        "build_parser(['compress'])\n"
        "print(sorted(m for m in ('torch', 'llmcompressor', 'transformers') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert done.stdout.strip() == "[]"
