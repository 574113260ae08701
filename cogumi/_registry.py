"""Registered through the ``inspect_ai`` entry point.

Inspect namespaces a task by the top-level package of the module that defines
it, so the factories from ``cogumi_eval`` are re-declared here to be found as
``cogumi/<name>``. Loading this module changes nothing else in Inspect: the
offline ``mockllm`` fallback is installed only when ``COGUMI_MOCKLLM_OFFLINE=1``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from inspect_ai import Task, task

import cogumi_eval.tasks as _tasks
from cogumi_eval._offline import install_if_requested
from cogumi_eval.model import _provider as _model_provider  # noqa: F401  (--model cogumi/<ref>, lineage hook)

install_if_requested()


def _export(factory: Callable[..., Task]) -> Callable[..., Task]:
    @functools.wraps(factory)
    def wrapper(*args: Any, **kwargs: Any) -> Task:
        return factory(*args, **kwargs)

    wrapper.__module__ = __name__
    return task(name=factory.__name__)(wrapper)


gsm8k = _export(_tasks.gsm8k)
humaneval = _export(_tasks.humaneval)
mmlu = _export(_tasks.mmlu)
