"""MMLU letter extraction: which option a response chose, and by which rule."""

from __future__ import annotations

import pytest

from cogumi_eval.tasks._letter import extract_letter

CHOICES = ["Paris", "London", "Berlin", "Rome"]

CASES = [
    ("ANSWER: B", "B", "answer"),
    ("Let me think.\nANSWER: C", "C", "answer"),
    ("Answer: **D**", "D", "answer"),
    ("answer: c", "C", "answer"),
    ("Final answer: (A)", "A", "answer"),
    ("ANSWER: B\nActually no.\nANSWER: D", "D", "answer"),
    ("Answer: a bit tricky. I think (C) is right", "C", "marked"),
    ("Final Answer: $\\boxed{C}$", "C", "boxed"),
    ("so \\boxed{\\text{b}}", "B", "boxed"),
    ("The answer is (B).", "B", "answer_is"),
    ("The answer is B", "B", "answer_is"),
    ("The correct answer is D because...", "D", "answer_is"),
    ("The answer is not A, it is C.", "C", "answer_is"),
    ("The correct option is (D)", "D", "answer_is"),
    ("I choose D", "D", "answer_is"),
    ("I would go with B.", "B", "answer_is"),
    ("B", "B", "bare"),
    ("(B)", "B", "bare"),
    ("B.", "B", "bare"),
    ("**D**", "D", "bare"),
    ("B) London", "B", "bare"),
    ("  C  ", "C", "bare"),
    ("B\nBecause London is the capital of the UK.", "B", "bare"),
    ("C. Berlin is the capital", "C", "leading"),
    ("(A) Paris, since it is in France", "A", "bare"),
    ("D: Rome", "D", "leading"),
    ("The capital of France is Paris.", "A", "choice_text"),
    ("It must be berlin", "C", "choice_text"),
    ("Either Paris or London.", None, "none"),
    ("A cat sat on a mat", None, "none"),
    ("Options (A) and (B) are both wrong", None, "none"),
    ("I am not sure.", None, "none"),
    ("", None, "empty"),
    ("\n\t", None, "empty"),
    ("Looking at C), it fits best.", "C", "marked"),
]


@pytest.mark.parametrize(("response", "letter", "rule"), CASES)
def test_letter_extraction(response: str, letter: str | None, rule: str) -> None:
    found = extract_letter(response, CHOICES)
    assert (found.value, found.rule) == (letter, rule)


def test_there_are_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30


def test_choice_text_rule_needs_the_choices() -> None:
    assert extract_letter("The capital of France is Paris.").value is None
