"""Cogumi: is the new checkpoint better or worse than the last one?

Tasks (``gsm8k``, ``humaneval``, ``mmlu``) run on Inspect; everything downstream
(judging, gates, analysis) reads only the eval logs they write.

The task factories are loaded on first use, so ``import cogumi_eval`` (and the
pytest plugin, loaded in every pytest session) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .tasks import gsm8k, humaneval, mmlu

_TASKS = ("gsm8k", "humaneval", "mmlu")


def __getattr__(name: str) -> Any:
    if name in _TASKS:
        from . import tasks

        return getattr(tasks, name)
    raise AttributeError(f"module 'cogumi_eval' has no attribute {name!r}")


__all__ = ["__version__", "gsm8k", "humaneval", "mmlu"]
