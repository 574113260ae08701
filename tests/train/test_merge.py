"""cogumi train merge: merged logits equal base+adapter as trained; QLoRA adapters are guarded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from cogumi_eval.cli import main
from cogumi_eval.model import QuantizedBaseError
from cogumi_eval.model._cli import describe
from cogumi_eval.model._lineage import lineage
from cogumi_train import merge
from cogumi_train._merge import AdapterMismatchError, MergeError

from . import _tiny
from ._tiny import build_base, shared

# the shared fixtures, built once per session whichever file asks first
capitals = _tiny.capitals
lora_adapter = _tiny.lora_adapter
qlora_adapter = _tiny.qlora_adapter
tiny_base = _tiny.tiny_base

TOLERANCE = 1e-4
"""fp32 on the CPU: merging reorders one sum per weight, so logits agree to ~1e-6."""

PROMPT = "What is the capital of Spain? Answer with one word."


def _logits(model: Any, tokenizer: Any) -> Any:
    import torch

    ids = tokenizer(PROMPT, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        return model.eval()(input_ids=ids).logits[0]


def _merged_logits(folder: Path) -> Any:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return _logits(
        AutoModelForCausalLM.from_pretrained(str(folder)),
        AutoTokenizer.from_pretrained(str(folder)),
    )


@pytest.fixture
def dequantized(qlora_adapter: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return shared(
        "dequantized",
        lambda: merge(
            qlora_adapter.out,
            tmp_path_factory.mktemp("merged") / "deq",
            into="dequantized",
            device="cpu",
        ),
    )


@pytest.fixture
def allowed(qlora_adapter: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return shared(
        "allowed",
        lambda: merge(
            qlora_adapter.out,
            tmp_path_factory.mktemp("merged") / "allowed",
            allow_quantized_base=True,
            device="cpu",
        ),
    )


def test_merged_logits_equal_base_plus_adapter(
    lora_adapter: Any, tiny_base: Path, tmp_path: Path
) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    result = merge(lora_adapter.out, tmp_path / "merged", device="cpu")
    unmerged = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(str(tiny_base)), str(lora_adapter.out)
    )
    expected = _logits(unmerged, AutoTokenizer.from_pretrained(str(tiny_base)))

    assert (_merged_logits(tmp_path / "merged") - expected).abs().max() < TOLERANCE
    assert result.check.within(TOLERANCE) and result.check.greedy_agreement == 1.0
    assert result.check.probe_source.startswith("training data")
    written = json.loads((tmp_path / "merged" / "cogumi_lineage.json").read_text())
    assert written["check"]["max_abs_logit_diff"] == result.check.max_abs_logit_diff
    assert written["allowed_quantized_base"] is False and written["quantized_base"] is None


def test_qlora_adapter_is_refused_naming_the_base_and_the_ways_out(
    qlora_adapter: Any, tiny_base: Path, tmp_path: Path
) -> None:
    with pytest.raises(QuantizedBaseError) as refused:
        merge(qlora_adapter.out, tmp_path / "merged", device="cpu")

    message = str(refused.value)
    assert str(tiny_base.resolve()) in message and "nf4" in message
    assert "--into dequantized" in message and "Retrain on the bf16 base" in message
    assert not (tmp_path / "merged").exists()


def test_into_dequantized_reproduces_the_trained_function(
    dequantized: Any, qlora_adapter: Any, tiny_base: Path
) -> None:
    from peft import PeftModel
    from transformers import AutoTokenizer

    from cogumi_eval.model._quantization import load_quantized_as_trained

    spec = qlora_adapter.lineage["quantization"]
    trained = PeftModel.from_pretrained(
        load_quantized_as_trained(tiny_base, spec, "cpu"), str(qlora_adapter.out)
    )
    expected = _logits(trained, AutoTokenizer.from_pretrained(str(tiny_base)))

    assert (_merged_logits(dequantized.out) - expected).abs().max() < TOLERANCE
    assert dequantized.check.within(TOLERANCE) and dequantized.check.greedy_agreement == 1.0
    assert "nf4 as in training" in dequantized.check.reference
    assert dequantized.lineage["into"] == "dequantized"
    assert dequantized.lineage["allowed_quantized_base"] is False


def test_allow_quantized_base_merges_and_marks_the_lineage(allowed: Any, dequantized: Any) -> None:
    written = json.loads((allowed.out / "cogumi_lineage.json").read_text())

    assert written["allowed_quantized_base"] is True and written["into"] == "base"
    assert written["quantized_base"]["bits"] == 4
    assert "--into dequantized" in written["guard"]["message"]
    # merged into weights it never saw: far from the function trained, unlike --into dequantized
    assert allowed.check.max_abs_logit_diff > 100 * dequantized.check.max_abs_logit_diff


def test_cogumi_lineage_shows_a_merge_marked_quantized(allowed: Any) -> None:
    record = lineage(str(allowed.out), hash_weights=False).to_dict()
    rows = dict(describe(record))

    assert record["training"]["step"] == "merge"
    assert "QUANTIZED BASE MERGED ANYWAY" in rows["produced by"]


def test_folder_without_adapter_config_is_refused(tiny_base: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(MergeError, match=r"empty holds no adapter_config\.json: it is no PEFT"):
        merge(tmp_path / "empty", tmp_path / "merged")
    with pytest.raises(MergeError, match=r"full checkpoint .* nothing to merge"):
        merge(tiny_base, tmp_path / "merged")


def test_base_of_another_architecture_is_refused(lora_adapter: Any, tmp_path: Path) -> None:
    other = build_base(tmp_path / "wider", seed=1)
    config = json.loads((other / "config.json").read_text())
    shutil.rmtree(other)
    from transformers import LlamaConfig, LlamaForCausalLM

    config.update(hidden_size=128, intermediate_size=256)
    LlamaForCausalLM(LlamaConfig(**config)).save_pretrained(other)

    with pytest.raises(
        AdapterMismatchError,
        match=r"does not fit the base .*wider: .*takes 256 inputs in the base, 128 in",
    ):
        merge(lora_adapter.out, tmp_path / "merged", base=str(other))


def test_into_dequantized_is_refused_for_an_adapter_on_a_full_precision_base(
    lora_adapter: Any, tmp_path: Path
) -> None:
    with pytest.raises(MergeError, match=r"not quantized; merge with the default --into base"):
        merge(lora_adapter.out, tmp_path / "merged", into="dequantized")


def test_cli_refusal_is_one_line(
    qlora_adapter: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["train", "merge", str(qlora_adapter.out), "--out", str(tmp_path / "m"), "--device", "cpu"]
    )

    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "trained on a 4-bit quantized base" in err
