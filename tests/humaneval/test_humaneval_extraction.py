"""From a model's answer to the program: fences, repeated signatures, prose, bare bodies."""

from __future__ import annotations

import pytest

from cogumi_eval.sandbox import Outcome, Program, default_pool
from cogumi_eval.tasks._code_extract import extract_code, fenced_blocks, normalise_body
from cogumi_eval.tasks.humaneval import humaneval_checks

PROMPT = '''from typing import List


def helper_sign(x: int) -> int:
    return 1 if x >= 0 else -1


def add(a: int, b: int) -> int:
    """Add two integers.
    >>> add(2, 3)
    5
    """
'''
TEST = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-4, 1) == -3\n"
FUNCTION = "def add(a: int, b: int) -> int:\n    return a + b\n"

CASES = {
    "fenced python": ("Here you go:\n```python\n" + FUNCTION + "```\n", "fenced_function"),
    "fenced py": ("```py\n" + FUNCTION + "```", "fenced_function"),
    "bare fence": ("```\n" + FUNCTION + "```", "fenced_function"),
    "tilde fence": ("~~~python\n" + FUNCTION + "~~~", "fenced_function"),
    "unterminated fence": ("```python\n" + FUNCTION, "fenced_function"),
    "prose around fence": (
        "Sure! The idea is simple.\n\n```python\n" + FUNCTION + "```\n\nThis runs in O(1).",
        "fenced_function",
    ),
    "usage block first": (
        "```python\nprint(add(2, 3))\n```\n\n```python\n" + FUNCTION + "```",
        "fenced_function",
    ),
    "whole prompt in fence": ("```python\n" + PROMPT + "    return a + b\n```", "fenced_function"),
    "fence in a list item": (
        "1. Implement:\n   ```python\n   def add(a, b):\n       return a + b\n   ```",
        "fenced_function",
    ),
    "thinking then fence": (
        "<think>add them</think>\n```python\n" + FUNCTION + "```",
        "fenced_function",
    ),
    "fenced body indented": ("```python\n    return a + b\n```", "fenced_body"),
    "fenced body unindented": ("```python\ntotal = a + b\nreturn total\n```", "fenced_body"),
    "fenced body with block": (
        "```python\nif a > 0:\n    return a + b\nreturn b + a\n```",
        "fenced_body",
    ),
    "prose around bare function": (
        "Here is the code:\n\n" + FUNCTION + "\nIt adds the numbers.\nNote: no overflow in Python.",
        "function",
    ),
    "helper before function": (
        "Solution:\n\nimport math\n\ndef plus(x, y):\n    return x + y\n\n"
        "def add(a, b):\n    return plus(a, b)\n\nDone.",
        "function",
    ),
    "uses helper from prompt": (
        "```python\ndef add(a, b):\n    return helper_sign(a) * abs(a) + b\n```",
        "fenced_function",
    ),
    "completion body": ("    return a + b\n", "body"),
    "completion keeps going": (
        "    return a + b\n\n\ndef other():\n    pass\n\nprint(add(1, 2))\nassert False\n",
        "body",
    ),
    "completion stops at main guard": (
        "    return a + b\n\nif __name__ == '__main__':\n    raise SystemExit(1)\n",
        "body",
    ),
    "first line lost its indent": ("return a + b", "body"),
    "first line lost indent, more lines": ("total = a + b\n    return total\n", "body"),
    "first line opens block, lost indent": (
        "if a > 0:\n        return a + b\n    return b + a\n",
        "body",
    ),
    "body indented eight": ("        total = a + b\n        return total\n", "body"),
    "body with tabs": ("\ttotal = a + b\n\treturn total\n", "body"),
}


@pytest.mark.parametrize("answer, rule", CASES.values(), ids=CASES.keys())
def test_extracted_program_passes(answer: str, rule: str) -> None:
    extracted = extract_code(answer, PROMPT, "add")
    assert extracted.rule == rule
    result = default_pool().run(Program(extracted.code, humaneval_checks(TEST, "add")))
    assert result.outcome is Outcome.PASS, (result.detail, extracted.code)


@pytest.mark.parametrize("answer", ["", "   \n\t\n"], ids=["empty", "whitespace"])
def test_empty_answer_is_recognised(answer: str) -> None:
    assert extract_code(answer, PROMPT, "add").rule == "empty"


def test_other_language_block_is_not_taken_as_python() -> None:
    extracted = extract_code(
        "```javascript\nfunction add(a, b) { return a + b; }\n```", PROMPT, "add"
    )
    assert extracted.rule == "body"
    result = default_pool().run(Program(extracted.code, humaneval_checks(TEST, "add")))
    assert result.outcome is Outcome.SYNTAX


def test_prose_only_answer_fails_as_syntax_not_as_a_crash() -> None:
    extracted = extract_code("I am not able to help with that.", PROMPT, "add")
    result = default_pool().run(Program(extracted.code, humaneval_checks(TEST, "add")))
    assert result.outcome is Outcome.SYNTAX


def test_defining_block_is_preferred_over_a_longer_one() -> None:
    usage = "```python\n" + "print(add(1, 1))\n" * 20 + "```\n"
    extracted = extract_code(usage + "```python\n" + FUNCTION + "```", PROMPT, "add")
    assert extracted.snippet == FUNCTION


def test_fenced_blocks_reads_language_and_body() -> None:
    assert fenced_blocks("a\n```Python\nx = 1\n```\nb\n```\ny\n") == [
        ("python", "x = 1\n"),
        ("", "y\n"),
    ]


def test_normalise_body_reindents_to_the_prompt_indent() -> None:
    assert (
        normalise_body("x = 1\nreturn x", "    ", continuation=False) == "    x = 1\n    return x\n"
    )
