"""Refs: folders, adapters and registry names; and every bad input the issue names."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from inspect_ai.model import get_model

from cogumi_eval.model import (
    BaseModelNotFoundError,
    CorruptWeightsError,
    ModelOptionError,
    ModelRefError,
    TokenizerMissingError,
    lineage,
    resolve_ref,
)


def test_checkpoint_folder_resolves_as_a_checkpoint(tiny_checkpoint: Path) -> None:
    ref = resolve_ref(str(tiny_checkpoint))

    assert (ref.kind, ref.path) == ("checkpoint", tiny_checkpoint.resolve())


def test_adapter_takes_its_base_from_adapter_config(
    tiny_checkpoint: Path, tiny_adapter: Path
) -> None:
    ref = resolve_ref(str(tiny_adapter))

    assert (ref.kind, ref.base_path) == ("adapter", tiny_checkpoint.resolve())


def test_base_option_overrides_adapter_config(tiny_adapter: Path, checkpoint_copy: Path) -> None:
    ref = resolve_ref(str(tiny_adapter), base=str(checkpoint_copy))

    assert ref.base_path == checkpoint_copy.resolve()


def test_registry_name_resolves_relative_to_the_registry_file(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = tmp_path / "registry.toml"
    os.symlink(tiny_checkpoint, tmp_path / "weights")
    registry.write_text('[models.gsm8k-v3]\npath = "weights"\n')
    monkeypatch.setenv("COGUMI_REGISTRY", str(registry))

    ref = resolve_ref("gsm8k-v3")

    assert (ref.path, ref.registry) == (tiny_checkpoint.resolve(), registry.resolve())
    assert lineage("gsm8k-v3").registry == str(registry.resolve())


def test_relative_folder_is_found_from_the_shell_directory(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # as when Inspect changes into a task file's folder
    monkeypatch.setenv("PWD", str(tiny_checkpoint.parent))

    assert resolve_ref(tiny_checkpoint.name).path == tiny_checkpoint.resolve()


def test_unknown_ref_lists_every_place_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PWD", str(tmp_path))
    (tmp_path / "registry.toml").write_text('[models.other]\npath = "x"\n')
    monkeypatch.setenv("COGUMI_REGISTRY", str(tmp_path / "registry.toml"))

    with pytest.raises(ModelRefError) as raised:
        resolve_ref("no-such-model")

    message = str(raised.value)
    assert f"folder {tmp_path / 'no-such-model'} (not found)" in message
    assert "not registered; names: other" in message


def test_adapter_whose_base_cannot_be_found_says_what_was_tried(
    tiny_adapter: Path, tmp_path: Path
) -> None:
    adapter = tmp_path / "orphan"
    adapter.mkdir()
    config = json.loads((tiny_adapter / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "acme/never-published-7b"
    (adapter / "adapter_config.json").write_text(json.dumps(config))

    with pytest.raises(
        BaseModelNotFoundError, match=r"acme/never-published-7b.*hub id.*-M base=<folder>"
    ):
        resolve_ref(str(adapter))


def test_checkpoint_without_tokenizer_is_refused(checkpoint_copy: Path) -> None:
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (checkpoint_copy / name).unlink(missing_ok=True)

    with pytest.raises(TokenizerMissingError, match=r"has no tokenizer.*-M tokenizer=<folder>"):
        get_model(f"cogumi/{checkpoint_copy}", memoize=False)


def test_corrupted_safetensors_file_is_named(checkpoint_copy: Path) -> None:
    weights = checkpoint_copy / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])

    with pytest.raises(CorruptWeightsError, match=r"model\.safetensors is corrupted.*truncated"):
        get_model(f"cogumi/{checkpoint_copy}", memoize=False)


def test_garbage_safetensors_header_is_named(checkpoint_copy: Path) -> None:
    (checkpoint_copy / "model.safetensors").write_bytes(
        b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!"
    )

    with pytest.raises(CorruptWeightsError, match="not valid JSON"):
        lineage(str(checkpoint_copy))


def test_unknown_option_lists_the_valid_ones(tiny_checkpoint: Path) -> None:
    with pytest.raises(ModelOptionError) as raised:
        get_model(f"cogumi/{tiny_checkpoint}", dtpye="bfloat16", memoize=False)

    message = str(raised.value)
    assert "unknown -M option dtpye" in message
    assert "Valid options: attn_implementation, backend, base, batch_size, chat_template" in message


def test_option_of_another_backend_names_that_backend(tiny_checkpoint: Path) -> None:
    with pytest.raises(ModelOptionError, match=r"\(source belongs to backend replay\)"):
        get_model(f"cogumi/{tiny_checkpoint}", backend="hf", source="x.jsonl", memoize=False)
