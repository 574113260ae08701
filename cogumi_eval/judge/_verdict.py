"""From position verdicts to the candidate's outcome: the MT-Bench two-order rule, and repeats.

The grader says which *position* is better (A, B or tie). With ``swap`` the
pair is judged in both orders; the candidate wins only if both orders say so,
and orders that disagree make a tie that is also counted as inconsistent.
With K repeats each repeat is combined this way, and the pair's outcome is the
one a strict majority of repeats gave (otherwise a tie).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ._definition import PositionVerdict

Outcome = Literal["win", "tie", "loss", "error"]
Order = Literal["candidate_first", "baseline_first"]

ORDERS: tuple[Order, Order] = ("candidate_first", "baseline_first")


def candidate_outcome(order: Order, verdict: PositionVerdict | None) -> Outcome:
    """The candidate's outcome for one judged order (``None`` = unparseable after retry)."""
    if verdict is None:
        return "error"
    if verdict == "tie":
        return "tie"
    candidate_position = "A" if order == "candidate_first" else "B"
    return "win" if verdict == candidate_position else "loss"


@dataclass(frozen=True)
class RepeatOutcome:
    """One repeat: the outcome and whether its two orders disagreed."""

    outcome: Outcome
    inconsistent: bool


def combine_orders(outcomes: Sequence[Outcome]) -> RepeatOutcome:
    """MT-Bench rule over the orders judged in one repeat: agreement stands, disagreement is a
    tie."""
    if not outcomes or "error" in outcomes:
        return RepeatOutcome("error", False)
    if len(set(outcomes)) == 1:
        return RepeatOutcome(outcomes[0], False)
    return RepeatOutcome("tie", True)


@dataclass(frozen=True)
class PairOutcome:
    """The pair's outcome over all repeats."""

    outcome: Outcome
    inconsistent: bool
    repeats: tuple[RepeatOutcome, ...]


def combine_repeats(repeats: Sequence[RepeatOutcome]) -> PairOutcome:
    """Strict majority of the repeats that did not error; no majority is a tie; all errors is an
    error.

    ``inconsistent`` is set when the winning side came from order disagreement in
    a majority of the counted repeats (with one repeat: exactly the MT-Bench flag).
    """
    counted = [r for r in repeats if r.outcome != "error"]
    if not counted:
        return PairOutcome("error", False, tuple(repeats))
    votes = Counter(r.outcome for r in counted)
    outcome, count = votes.most_common(1)[0]
    if count * 2 <= len(counted):
        outcome = "tie"
    inconsistent = sum(r.inconsistent for r in counted) * 2 > len(counted)
    return PairOutcome(outcome, inconsistent, tuple(repeats))


def verdict_value(outcome: Outcome, inconsistent: bool) -> dict[str, float]:
    """The score value: 0/1 for each of win, tie, loss, error, inconsistent."""
    value = {key: 0.0 for key in ("win", "tie", "loss", "error", "inconsistent")}
    value[outcome] = 1.0
    value["inconsistent"] = 1.0 if inconsistent else 0.0
    return value
