"""The Hugging Face hub as a second source, at pinned revisions.

Used only when no data folder is set. ``fetch_rows`` is the single place that
touches the network, so tests replace it and check the mapping from hub rows to
records without a hub.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


def fetch_rows(dataset: HubDataset, config: str | None, split: str) -> list[dict[str, Any]]:
    """All rows of one split of a pinned hub dataset, in the hub's order.

    Raises:
        ImportError: the ``datasets`` package is not installed.
        Exception: whatever the hub client raises when it cannot reach the hub.
    """
    import datasets  # the hub extra; imported late so the local path never needs it

    loaded = datasets.load_dataset(dataset.repo, config, split=split, revision=dataset.revision)
    return [dict(row) for row in loaded]
