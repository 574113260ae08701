"""pass@k: the estimator and Inspect's reducer against exact enumeration over k-subsets."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from inspect_ai.scorer import CORRECT, INCORRECT, Score

from cogumi_eval.metrics import parse_k, pass_at_k, pass_at_k_reducers


def enumerated_pass_at_k(n: int, c: int, k: int) -> Fraction:
    """Share of the k-subsets of n samples (c correct) holding at least one correct sample."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return Fraction(sum(any(samples[i] for i in s) for s in subsets), len(subsets))


ALL_SMALL = [(n, c, k) for n in range(1, 9) for c in range(n + 1) for k in range(1, n + 1)]


@pytest.mark.parametrize(("n", "c", "k"), ALL_SMALL)
def test_estimator_equals_enumeration(n: int, c: int, k: int) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(float(enumerated_pass_at_k(n, c, k)), abs=1e-12)


@pytest.mark.parametrize(("n", "c", "k"), [(8, 3, 2), (5, 0, 5), (6, 6, 1), (7, 1, 3), (4, 2, 4)])
def test_inspect_pass_at_reducer_is_the_unbiased_estimator(n: int, c: int, k: int) -> None:
    [reducer] = pass_at_k_reducers([k], epochs=n)
    scores = [Score(value=CORRECT if i < c else INCORRECT) for i in range(n)]
    assert reducer(scores).value == pytest.approx(float(enumerated_pass_at_k(n, c, k)), abs=1e-12)


def test_estimator_is_stable_where_binomials_overflow_floats() -> None:
    # C(2000, 1000) is ~1e600: the product form never forms it.
    assert pass_at_k(2000, 1, 1000) == pytest.approx(0.5)
    assert pass_at_k(2000, 0, 1000) == 0.0


def test_estimator_rejects_k_above_n() -> None:
    with pytest.raises(ValueError, match="at least k=5 samples"):
        pass_at_k(3, 1, 5)


@pytest.mark.parametrize(
    ("given", "expected"),
    [(1, [1]), ("1,10", [1, 10]), (["10", "1"], [1, 10]), ("5, 1, 5", [1, 5]), ([3], [3])],
)
def test_parse_k_reads_cli_forms(given: object, expected: list[int]) -> None:
    assert parse_k(given) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["0", "a", "", "1,-2"])
def test_parse_k_rejects_bad_values(bad: str) -> None:
    with pytest.raises(ValueError, match="k"):
        parse_k(bad)


def test_k_above_epochs_is_refused_with_the_fix() -> None:
    with pytest.raises(
        ValueError, match=r"pass@10 needs at least 10 epochs but epochs=3; raise -T epochs"
    ):
        pass_at_k_reducers([1, 10], epochs=3)


def test_reducers_are_logged_as_pass_at_k() -> None:
    from inspect_ai.scorer._reducer.registry import reducer_log_names

    assert reducer_log_names(pass_at_k_reducers([1, 10])) == ["pass_at_1", "pass_at_10"]
