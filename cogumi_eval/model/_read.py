"""Reading lineage back from an eval log: the one accessor everything downstream uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inspect_ai.log import EvalLog

LINEAGE_KEY = "lineage"
"""Key of the lineage record in ``log.eval.metadata`` (written by the ``cogumi`` model API)."""


def read_lineage(log: EvalLog) -> dict[str, Any] | None:
    """The lineage of the model that produced ``log``, or None when it was not a ``cogumi/`` model.

    Works on header-only logs (``read_eval_log(path, header_only=True)``): the
    record lives in the log header's metadata, not in the samples.

    Args:
        log: an eval log as returned by ``inspect_ai.eval`` or ``read_eval_log``.
    """
    metadata = log.eval.metadata or {}
    lineage = metadata.get(LINEAGE_KEY)
    return dict(lineage) if isinstance(lineage, dict) else None
