"""Training test fixtures: the taught tiny model, its destroyed copy, and GSM8K logs of both.

``_taught.py`` is also registered as the top-level module ``_taught``, so test
files here can ``import _taught`` (under ``--import-mode=importlib`` each test
folder is a package of ``tests``; another folder imports ``..train._taught``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from . import _taught as taught

sys.modules.setdefault("_taught", taught)


@pytest.fixture(scope="session")
def taught_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("taught-models")


@pytest.fixture(scope="session")
def taught_checkpoint(taught_cache: Path, data_dir: Path) -> Path:
    """The tiny Llama that answers GSM8K ``taught.TAUGHT_IDS`` correctly (built once a session)."""
    return Path(taught.taught_model(taught_cache, data_dir=data_dir))


@pytest.fixture(scope="session")
def destroyed_checkpoint(taught_checkpoint: Path, taught_cache: Path, data_dir: Path) -> Path:
    """The taught model with the weights of half its layers zeroed."""
    return Path(taught.destroyed_model(taught_cache, data_dir=data_dir))


def evaluate_gsm8k(model: Path | str, log_dir: Path, data_dir: Path, **kwargs: object) -> Path:
    """GSM8K on ``taught.EVAL_IDS`` through ``cogumi/<model>`` (greedy, short); the log file."""
    from inspect_ai import eval as inspect_eval

    from cogumi_eval.tasks import gsm8k

    log = inspect_eval(
        gsm8k(data_dir=str(data_dir)),
        model=f"cogumi/{model}",
        sample_id=list(taught.EVAL_IDS),
        max_tokens=16,
        display="none",
        log_dir=str(log_dir),
        **kwargs,  # type: ignore[arg-type]
    )[0]
    assert log.status == "success", log.error
    return Path(log.location)


def _session_logs(model: Path, folder: Path, data_dir: Path) -> Path:
    # session fixtures run before the per-test environment: isolate the cache here too
    with pytest.MonkeyPatch.context() as env:
        env.setenv("COGUMI_CACHE_DIR", str(folder.parent / f"{folder.name}-cache"))
        env.setenv("HF_HUB_OFFLINE", "1")
        evaluate_gsm8k(model, folder, data_dir)
    return folder


@pytest.fixture(scope="session")
def taught_logs(
    taught_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory, data_dir: Path
) -> Path:
    """A folder holding one GSM8K log of the taught model (the baseline of the promotion tests)."""
    return _session_logs(taught_checkpoint, tmp_path_factory.mktemp("taught-logs"), data_dir)


@pytest.fixture(scope="session")
def destroyed_logs(
    destroyed_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory, data_dir: Path
) -> Path:
    """A folder holding one GSM8K log of the destroyed model."""
    return _session_logs(destroyed_checkpoint, tmp_path_factory.mktemp("destroyed-logs"), data_dir)
