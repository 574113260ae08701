"""Legacy AutoAWQ checkpoints: the model API names the maintained path, not a deep ImportError.

The checkpoint is the folder AutoAWQ 0.2.9 writes (``quantization_config`` with
``quant_method: awq``, GEMM version); transformers 5.17 would hand it to
gptqmodel, which is not installed here.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from cogumi_compress import AlreadyQuantizedError, compress
from cogumi_eval.model import BackendUnavailableError

AUTOAWQ_CONFIG = {
    "bits": 4,
    "group_size": 128,
    "modules_to_not_convert": None,
    "quant_method": "awq",
    "version": "gemm",
    "zero_point": True,
}


@pytest.fixture
def legacy_awq(parent: Path, tmp_path: Path) -> Path:
    folder = Path(shutil.copytree(parent, tmp_path / "llama-awq"))
    config = json.loads((folder / "config.json").read_text())
    config["quantization_config"] = AUTOAWQ_CONFIG
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_legacy_autoawq_checkpoint_is_refused_naming_the_maintained_path(legacy_awq: Path) -> None:
    from inspect_ai.model import get_model

    if importlib.util.find_spec("gptqmodel") is not None:
        pytest.skip("gptqmodel is installed: transformers loads AutoAWQ checkpoints itself")

    with pytest.raises(BackendUnavailableError) as caught:
        get_model(f"cogumi/{legacy_awq}", memoize=False)

    message = str(caught.value)
    assert f"{legacy_awq} is a legacy AutoAWQ checkpoint" in message
    assert "only through gptqmodel" in message
    assert "llmcompressor + compressed-tensors" in message
    assert "--recipe awq-w4a16" in message


def test_compressing_a_legacy_autoawq_checkpoint_is_refused(
    legacy_awq: Path, tmp_path: Path
) -> None:
    with pytest.raises(AlreadyQuantizedError) as caught:
        compress(legacy_awq, recipe="gptq-w4a16", out=tmp_path / "again")

    assert "is already quantized (awq 4-bit from config.json quantization_config)" in str(
        caught.value
    )
