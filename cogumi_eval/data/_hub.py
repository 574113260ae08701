"""The Hugging Face hub as a second source, at pinned revisions.

Used only when no data folder is set. ``fetch_rows`` is the single place that
touches the network, so tests replace it and check the mapping from hub rows to
records without a hub.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

PROBE_SECONDS = 3.0
"""How long to wait for a connection to the hub before calling it unreachable."""


@dataclass(frozen=True)
class HubDataset:
    """A dataset repository on the hub, pinned to one commit."""

    repo: str
    revision: str

    def describe(self) -> str:
        return f"hub:{self.repo}@{self.revision[:12]}"


GSM8K_HUB = HubDataset("openai/gsm8k", "cc7b047b6e5bb11b4f1af84efc572db110a51b3c")
HUMANEVAL_HUB = HubDataset("openai/openai_humaneval", "7dce6050a7d6d172f3cc5c32aa97f52fa1a2e544")
MMLU_HUB = HubDataset("cais/mmlu", "c30699e8356da336a370243923dbaf21066bb9fe")


class HubUnreachableError(ConnectionError):
    """The hub cannot be reached from this machine (checked before any download is tried)."""


def _offline_mode() -> bool:
    return any(
        os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def check_reachable(timeout: float = PROBE_SECONDS) -> None:
    """Raise ``HubUnreachableError`` at once when the hub's host takes no connection.

    Without this, ``datasets`` spends ~30 s in retries and prints pages of warnings
    on a machine without network access before it fails.
    """
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parsed = urlparse(endpoint)
    host = parsed.hostname or "huggingface.co"
    port = parsed.port or (80 if parsed.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as ex:
        raise HubUnreachableError(
            f"{host}:{port} takes no connection ({type(ex).__name__}: {ex}); "
            "with the datasets already in the hub cache, set HF_HUB_OFFLINE=1 to read them "
            "from there"
        ) from None


def fetch_rows(dataset: HubDataset, config: str | None, split: str) -> list[dict[str, Any]]:
    """All rows of one split of a pinned hub dataset, in the hub's order.

    In Hugging Face's offline mode (``HF_HUB_OFFLINE=1``) only the local hub cache
    is read; otherwise the hub must take a connection within a few seconds.

    Raises:
        ImportError: the ``datasets`` package is not installed.
        HubUnreachableError: the hub takes no connection.
        Exception: whatever the hub client raises when it cannot load the dataset.
    """
    import datasets  # the hub extra; imported late so the local path never needs it

    if not _offline_mode():
        check_reachable()

    loaded = datasets.load_dataset(dataset.repo, config, split=split, revision=dataset.revision)
    return [dict(row) for row in loaded]
