"""The grader's agreement with itself across repeats: Cohen's kappa (2 repeats), Fleiss'
kappa (more).

Items are (sample, epoch, order) triples, raters are the repeats, and the
categories are the grader's position verdicts (A, B, tie). Items where any
repeat failed to parse are left out. Kappa is undefined (NaN) when chance
agreement is 1, e.g. every verdict in one category.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float:
    """Cohen's kappa between two raters' labels of the same items."""
    if len(first) != len(second):
        raise ValueError("both raters must label the same items")
    n = len(first)
    if n == 0:
        return math.nan
    observed = sum(a == b for a, b in zip(first, second, strict=False)) / n
    categories = set(first) | set(second)
    expected = sum(
        (sum(a == c for a in first) / n) * (sum(b == c for b in second) / n) for c in categories
    )
    return math.nan if expected == 1 else (observed - expected) / (1 - expected)


def fleiss_kappa(ratings: Sequence[Sequence[Hashable]]) -> float:
    """Fleiss' kappa; ``ratings[i]`` holds every rater's label for item i (same count per item)."""
    if not ratings:
        return math.nan
    raters = len(ratings[0])
    if raters < 2 or any(len(r) != raters for r in ratings):
        raise ValueError("every item needs the same number (at least 2) of ratings")
    categories = sorted({label for item in ratings for label in item}, key=repr)
    items = len(ratings)
    counts = [[sum(label == c for label in item) for c in categories] for item in ratings]
    per_item = [(sum(x * x for x in row) - raters) / (raters * (raters - 1)) for row in counts]
    observed = sum(per_item) / items
    shares = [sum(row[j] for row in counts) / (items * raters) for j in range(len(categories))]
    expected = sum(p * p for p in shares)
    return math.nan if expected == 1 else (observed - expected) / (1 - expected)


@dataclass(frozen=True)
class SelfAgreement:
    """How often the grader repeats itself.

    Attributes:
        items: items rated by every repeat.
        repeats: raters per item.
        agreement: share of items on which every repeat gave the same verdict.
        kappa: chance-corrected agreement (Cohen for 2 repeats, Fleiss for more).
        method: ``"cohen"`` or ``"fleiss"``.
    """

    items: int
    repeats: int
    agreement: float
    kappa: float
    method: str


def self_agreement(ratings: Sequence[Sequence[Hashable]]) -> SelfAgreement:
    """Agreement and kappa over items each rated by the same number of repeats."""
    if not ratings:
        return SelfAgreement(0, 0, math.nan, math.nan, "none")
    repeats = len(ratings[0])
    agreement = sum(len(set(item)) == 1 for item in ratings) / len(ratings)
    if repeats == 2:
        kappa = cohen_kappa([r[0] for r in ratings], [r[1] for r in ratings])
        method = "cohen"
    else:
        kappa = fleiss_kappa(ratings)
        method = "fleiss"
    return SelfAgreement(len(ratings), repeats, agreement, kappa, method)
