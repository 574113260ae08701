"""The MT-Bench two-order rule, repeats, and the verdict grammar."""

from __future__ import annotations

from cogumi_eval.judge import combine_orders, combine_repeats, load_judge, verdict_value
from cogumi_eval.judge._verdict import RepeatOutcome, candidate_outcome


def test_position_a_is_the_candidate_only_when_the_candidate_is_shown_first() -> None:
    assert candidate_outcome("candidate_first", "A") == "win"
    assert candidate_outcome("baseline_first", "A") == "loss"
    assert candidate_outcome("baseline_first", "B") == "win"
    assert candidate_outcome("candidate_first", "tie") == "tie"


def test_an_unparseable_order_is_an_error_not_a_tie() -> None:
    assert candidate_outcome("candidate_first", None) == "error"
    assert combine_orders(["win", "error"]).outcome == "error"


def test_orders_that_agree_keep_their_outcome() -> None:
    assert combine_orders(["win", "win"]) == RepeatOutcome("win", False)


def test_orders_that_disagree_are_a_tie_counted_as_inconsistent() -> None:
    assert combine_orders(["win", "loss"]) == RepeatOutcome("tie", True)
    assert combine_orders(["win", "tie"]) == RepeatOutcome("tie", True)


def test_repeats_take_a_strict_majority_else_a_tie() -> None:
    win, loss = RepeatOutcome("win", False), RepeatOutcome("loss", False)
    assert combine_repeats([win, win, loss]).outcome == "win"
    assert combine_repeats([win, loss]).outcome == "tie"


def test_repeats_that_all_error_are_an_error() -> None:
    error = RepeatOutcome("error", False)
    assert combine_repeats([error, error]).outcome == "error"


def test_score_value_has_one_outcome_and_the_inconsistency_flag() -> None:
    assert verdict_value("tie", True) == {
        "win": 0.0,
        "tie": 1.0,
        "loss": 0.0,
        "error": 0.0,
        "inconsistent": 1.0,
    }


def test_grammar_reads_the_last_verdict_token() -> None:
    grammar = load_judge("pairwise-math").grammar
    assert grammar.parse("At first [[A]] seemed right, but [[B]]") == "B"
    assert grammar.parse("even\n[[C]]") == "tie"


def test_grammar_refuses_replies_without_a_verdict() -> None:
    grammar = load_judge("pairwise-math").grammar
    assert grammar.parse("") is None
    assert grammar.parse("A is better") is None
    assert grammar.parse("[[D]]") is None
