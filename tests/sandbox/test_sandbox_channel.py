"""The data-only channel: plain values round-trip exactly; nothing else can come out of it."""

from __future__ import annotations

import math

import pytest

from cogumi_eval.sandbox import ExecutionPool, Limits, Outcome, Program
from cogumi_eval.sandbox._channel import NotData, decode, encode

QUICK = Limits(timeout_s=10.0)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(10**40),
        0.1,
        -0.0,
        math.inf,
        1 + 2j,
        "é\n",
        b"\x00\xff",
        [1, [2, (3, 4)]],
        (),
        {1, "a", (2, 3)},
        frozenset({1}),
        {(1, 2): [3], "k": {"n": None}},
    ],
)
def test_plain_values_round_trip_exactly(value: object) -> None:
    back = decode(encode(value))
    assert (type(back), back) == (type(value), value)


def test_nan_stays_nan() -> None:
    assert math.isnan(decode(encode(math.nan)))


def test_a_returned_iterator_compares_like_one_but_iterates_to_the_same_items() -> None:
    back = decode(encode(x * 2 for x in range(3)))
    assert back != [0, 2, 4] and list(back) == [0, 2, 4]


@pytest.mark.parametrize(
    "value",
    [object(), type("Yes", (int,), {"__eq__": lambda s, o: True})(1), print, [[]] * 0 + [object()]],
    ids=["object", "int-subclass", "function", "nested-object"],
)
def test_anything_else_is_refused_when_encoding(value: object) -> None:
    with pytest.raises(NotData):
        encode(value)


@pytest.mark.parametrize(
    "data",
    [
        {"f": 1},
        {"x": []},
        {"t": [], "s": []},
        {"d": [[[], 1]]},
        {"s": [[1]]},
        {"b": "***"},
        1.5,
        {"d": [[1]]},
    ],
    ids=[
        "bad-float",
        "unknown-tag",
        "two-tags",
        "list-key",
        "list-in-set",
        "bad-bytes",
        "bare-float",
        "bad-pair",
    ],
)
def test_decoding_builds_only_plain_data_or_refuses(data: object) -> None:
    with pytest.raises(NotData):
        decode(data)


def test_nesting_past_the_limit_is_refused() -> None:
    deep: list[object] = []
    for _ in range(500):
        deep = [deep]
    with pytest.raises(NotData):
        encode(deep)


def test_exceptions_the_tests_expect_cross_as_their_builtin_type(pool: ExecutionPool) -> None:
    code = "def parse(s):\n    return int(s)\n"
    tests = (
        "try:\n    parse('x')\nexcept ValueError as e:\n    assert 'invalid literal' in str(e)\n"
        "else:\n    raise AssertionError('no ValueError')\n"
        "assert parse('7') == 7\n"
    )
    assert pool.run(Program(code, tests), QUICK).outcome is Outcome.PASS


def test_arguments_are_copies_so_mutation_does_not_reach_the_tests(pool: ExecutionPool) -> None:
    code = "def grow(xs):\n    xs.append(1)\n    return len(xs)\n"
    tests = "data = [0]\nassert grow(data) == 2\nassert data == [0]\n"
    assert pool.run(Program(code, tests), QUICK).outcome is Outcome.PASS


def test_an_answer_over_the_cap_is_not_data(pool: ExecutionPool) -> None:
    code = "def big():\n    return 'x' * 5_000_000\n"
    result = pool.run(Program(code, "big()\n"), Limits(timeout_s=10.0, answer_bytes=1_000_000))
    assert result.outcome is Outcome.NOT_DATA
    assert "over the 1000000-byte cap" in result.detail


def test_a_slow_call_hits_the_per_call_limit(pool: ExecutionPool) -> None:
    code = "import time\ndef slow():\n    time.sleep(5)\n"
    result = pool.run(Program(code, "slow()\n"), Limits(timeout_s=10.0, call_timeout_s=0.5))
    assert (result.outcome, result.detail) == (
        Outcome.TIMEOUT,
        "wall-clock limit of 0.5 s per call reached",
    )
