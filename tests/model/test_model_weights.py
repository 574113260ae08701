"""The weights' content hash: any changed byte changes it, and an unchanged file is never
re-read."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from cogumi_eval.model import _weights, weights_digest


def test_digest_combines_each_file_sha256_over_sorted_names(checkpoint_copy: Path) -> None:
    weights = checkpoint_copy / "model.safetensors"
    file_hash = hashlib.sha256(weights.read_bytes()).hexdigest()
    expected = hashlib.sha256(
        f"model.safetensors\t{weights.stat().st_size}\t{file_hash}\n".encode()
    ).hexdigest()

    assert weights_digest(checkpoint_copy).sha256 == expected


def test_one_changed_byte_changes_the_digest(checkpoint_copy: Path) -> None:
    before = weights_digest(checkpoint_copy).sha256
    weights = checkpoint_copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))

    assert weights_digest(checkpoint_copy).sha256 != before


def test_unchanged_files_are_not_hashed_twice(
    checkpoint_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights_digest(checkpoint_copy)
    calls: list[Path] = []
    monkeypatch.setattr(_weights, "sha256_file", lambda p: calls.append(p) or "x")

    weights_digest(checkpoint_copy)
    assert calls == []
    stat = (checkpoint_copy / "model.safetensors").stat()
    os.utime(
        checkpoint_copy / "model.safetensors", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000)
    )
    weights_digest(checkpoint_copy)
    assert [p.name for p in calls] == ["model.safetensors"]


def test_folder_without_weights_has_no_digest(tmp_path: Path) -> None:
    assert weights_digest(tmp_path) is None
