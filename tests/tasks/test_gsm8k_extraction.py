"""The GSM8K final-number extraction: which number is taken, by which rule, and how it is
normalised."""

from __future__ import annotations

import pytest

from cogumi_eval.tasks._numeric import extract_final_number, normalise_number, numbers_equal

CASES = [
    # (response, expected value, expected rule)
    ("Janet sells 9 eggs.\n#### 18", "18", "hash"),
    ("#### 1,080", "1080", "hash"),
    ("So the total is 5.\n####   -7", "-7", "hash"),
    ("#### $2,125.00", "2125", "hash"),
    ("First 3 then 4.\n#### 12\nANSWER: 99", "12", "hash"),
    ("Step 1: 2+2=4\nANSWER: 4", "4", "answer"),
    ("ANSWER: $18", "18", "answer"),
    ("Reasoning...\nAnswer: 1,234,567", "1234567", "answer"),
    ("Final answer: 0.5", "0.5", "answer"),
    ("Some work\nA: 18", "18", "answer"),
    ("The answer is 42.", "42", "answer_is"),
    ("The answer is not 5, it is 7.", "7", "answer_is"),
    ("The answer is 7, not 5.", "7", "answer_is"),
    ("I first thought 10. The final answer is 12 apples because 3 * 4 = 12.", "12", "answer_is"),
    ("So the answer is -3 degrees.", "-3", "answer_is"),
    ("the answer is \u22124", "-4", "answer_is"),
    ("Thus the answer will be 3/4.", "0.75", "answer_is"),
    ("Therefore \\boxed{18}.", "18", "boxed"),
    ("We get \\boxed{\\frac{3}{4}}", "0.75", "boxed"),
    ("\\boxed{1,000} dollars", "1000", "boxed"),
    ("\\boxed{\\$25.50}", "25.5", "boxed"),
    ("\\boxed{\\dfrac{1}{3}}", "1/3", "boxed"),
    ("\\boxed{50\\%}", "50", "boxed"),
    ("She has 3 apples and buys 5 more, so 8 apples.", "8", "last"),
    ("It costs $12.00 in total.", "12", "last"),
    ("The price went up by 25%.", "25", "last"),
    ("He is 12.50 meters tall.", "12.5", "last"),
    ("Temperature dropped to -15 degrees.", "-15", "last"),
    ("Total: 10,000 people", "10000", "last"),
    ("The ratio is 2/6", "1/3", "last"),
    ("She walked .5 miles", "0.5", "last"),
    ("From 3-5 pm she works 2 hours", "2", "last"),
    ("It was 10 - 4 = 6", "6", "last"),
    ("The result is 7. It is not 9.", "7", "last"),
    ("24 eggs / 12 = 2 dozen", "2", "last"),
    ("The answer is +7", "7", "answer_is"),
    ("£1,500 was spent", "1500", "last"),
    ("a list 1,2,3", "3", "last"),
    ("Price is 1,5 euros", "5", "last"),
    ("I don't know.", None, "none"),
    ("", None, "empty"),
    ("   \n  ", None, "empty"),
    ("#### \nANSWER: 3", "3", "hash"),
    ("Answer:\n\n 56", "56", "answer"),
]


@pytest.mark.parametrize(("response", "value", "rule"), CASES)
def test_extraction(response: str, value: str | None, rule: str) -> None:
    found = extract_final_number(response)
    assert (found.value, found.rule) == (value, rule)


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("12.0", "12"),
        ("12.50", "12.5"),
        ("-0", "0"),
        ("$1,080", "1080"),
        ("+3", "3"),
        ("\u22123", "-3"),
        ("7/2", "3.5"),
        ("4/6", "2/3"),
        ("60%", "60"),
        ("-$5", "-5"),
        ("$-5", "-5"),
        ("nothing", None),
        ("3/0", None),
    ],
)
def test_normalisation(written: str, normal: str | None) -> None:
    assert normalise_number(written) == normal


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("0.5", "1/2", True),
        ("18", "18.00", True),
        ("1080", "1,080", True),
        ("3", "-3", False),
        (None, "3", False),
    ],
)
def test_numbers_compare_exactly_as_rationals(a: str | None, b: str, equal: bool) -> None:
    assert numbers_equal(a, b) is equal
