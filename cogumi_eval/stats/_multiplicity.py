"""Family-wise error control when one gate tests several rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from ._results import AdjustedPValues

Correction = Literal["holm", "bonferroni", "none"]
CORRECTIONS: tuple[str, ...] = ("holm", "bonferroni", "none")


def adjust_pvalues(pvalues: Sequence[float], method: Correction = "holm") -> AdjustedPValues:
    """Adjusted p-values; reject hypothesis i at level α when ``adjusted[i] <= α``.

    Holm's step-down (the default) controls the family-wise error rate like
    Bonferroni under any dependence between rules, and is uniformly more powerful.

    Args:
        pvalues: one p-value per hypothesis.
        method: "holm", "bonferroni" or "none".
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    if method == "none" or m == 0:
        adjusted = p.copy()
    elif method == "bonferroni":
        adjusted = np.minimum(1.0, p * m)
    elif method == "holm":
        order = np.argsort(p, kind="mergesort")
        stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
        adjusted = np.empty(m)
        adjusted[order] = np.minimum(1.0, stepped)
    else:
        raise ValueError(f"correction must be one of {CORRECTIONS}, got {method!r}")
    return AdjustedPValues(
        method=method, pvalues=tuple(p.tolist()), adjusted=tuple(adjusted.tolist())
    )
