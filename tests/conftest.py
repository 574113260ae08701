"""Shared fixtures: the benchmark data folder and an isolated environment for every test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _data_dir() -> Path:
    configured = os.environ.get("COGUMI_DATA_DIR")
    path = Path(configured) if configured else REPO.parent / "shared" / "data"
    return path.resolve()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The benchmark data folder (``$COGUMI_DATA_DIR``, else ``../shared/data``)."""
    path = _data_dir()
    if not (path / "gsm8k" / "test.jsonl").is_file():
        pytest.fail(
            f"benchmark data not found at {path}: set COGUMI_DATA_DIR to the data folder "
            "(gsm8k/, humaneval/, mmlu/) before running the tests"
        )
    return path


@pytest.fixture(scope="session", autouse=True)
def _offline_mockllm() -> None:
    """Plain ``mockllm/model`` runs need tiktoken's downloaded encoding; the tests opt in to
    Cogumi's estimate."""
    from cogumi_eval.testing import offline_mockllm

    offline_mockllm()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test gets its own cache folder and data folder setting; no test touches ~/.cache."""
    monkeypatch.setenv("COGUMI_DATA_DIR", str(_data_dir()))
    monkeypatch.setenv("COGUMI_CACHE_DIR", str(tmp_path / "cogumi-cache"))
    monkeypatch.setenv("INSPECT_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv(
        "COGUMI_MOCKLLM_OFFLINE", "1"
    )  # the same opt-in for `inspect eval` subprocesses
