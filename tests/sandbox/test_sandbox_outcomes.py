"""Every way a program can end is named: pass only with the proof, each failure with its kind."""

from __future__ import annotations

import pytest

from cogumi_eval.sandbox import ExecutionPool, Limits, Outcome, Program

FUNCTION = "def add(a, b):\n    return a + b\n"
TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"
FAST = Limits(timeout_s=2.0)


def run(pool: ExecutionPool, code: str | bytes, tests: str = TESTS, limits: Limits = FAST):  # type: ignore[no-untyped-def]
    return pool.run(Program(code, tests), limits)


def test_correct_code_passes_with_proof_of_completed_tests(pool: ExecutionPool) -> None:
    result = run(pool, FUNCTION)
    assert (result.outcome, result.detail) == (Outcome.PASS, "all tests ran to completion")
    assert result.passed


def test_failed_assertion_is_named_with_the_test_line(pool: ExecutionPool) -> None:
    result = run(pool, "def add(a, b):\n    return a - b\n")
    assert result.outcome is Outcome.ASSERTION
    assert "tests line 1: assert add(2, 3) == 5" in result.detail


def test_uncaught_exception_is_named_with_type_and_line(pool: ExecutionPool) -> None:
    result = run(pool, "def add(a, b):\n    return a / 0\n")
    assert result.outcome is Outcome.EXCEPTION
    assert result.detail.startswith("ZeroDivisionError: division by zero (code line 2")


def test_invalid_python_is_a_syntax_failure(pool: ExecutionPool) -> None:
    result = run(pool, "def add(a, b)\n    return a + b\n")
    assert result.outcome is Outcome.SYNTAX
    assert result.detail == "SyntaxError: expected ':' (code line 1)"


def test_null_byte_in_source_is_a_syntax_failure(pool: ExecutionPool) -> None:
    assert run(pool, "def add(a, b):\n    return a + b\x00\n").outcome is Outcome.SYNTAX


def test_undecodable_bytes_are_an_encoding_failure_and_never_run(pool: ExecutionPool) -> None:
    result = run(pool, b"def add(a, b):\n    return '\xff'\n")
    assert result.outcome is Outcome.ENCODING
    assert "position 27" in result.detail and "not valid UTF-8" in result.detail


def test_lone_surrogate_in_text_is_an_encoding_failure(pool: ExecutionPool) -> None:
    result = run(pool, "def add(a, b):\n    return '\udc80'\n")
    assert result.outcome is Outcome.ENCODING


def test_code_cannot_swallow_the_tests_with_an_open_string(pool: ExecutionPool) -> None:
    # Compiled together, the open triple quote would turn the tests into a string.
    result = run(pool, FUNCTION + 'x = """\n', tests=TESTS + '"""\n')
    assert result.outcome is Outcome.SYNTAX
    assert "code line 3" in result.detail


def test_segfault_is_a_crash(pool: ExecutionPool) -> None:
    result = run(pool, "import ctypes\nctypes.string_at(0)\n")
    assert (result.outcome, result.detail) == (Outcome.CRASH, "the process died of SIGSEGV")


def test_cpu_time_limit_is_a_timeout(pool: ExecutionPool) -> None:
    result = run(pool, "while True:\n    pass\n", limits=Limits(timeout_s=8.0, cpu_s=1.0))
    assert result.outcome is Outcome.TIMEOUT
    assert result.detail == "CPU-time limit of 1 s reached (SIGXCPU)"


def test_printed_output_is_returned(pool: ExecutionPool) -> None:
    result = run(pool, FUNCTION + "print('hello')\nimport sys\nprint('oops', file=sys.stderr)\n")
    assert (result.outcome, result.stdout, result.stderr) == (Outcome.PASS, "hello\n", "oops\n")


def test_main_guard_is_skipped(pool: ExecutionPool) -> None:
    result = run(pool, FUNCTION + "if __name__ == '__main__':\n    input()\n")
    assert result.outcome is Outcome.PASS


@pytest.mark.parametrize(
    ("ending", "detail"),
    [
        ("import sys\nsys.exit(0)\n", "SystemExit(0) raised in the code before the tests finished"),
        ("raise SystemExit\n", "SystemExit(None) raised in the code before the tests finished"),
        ("import os\nos._exit(0)\n", "the process exited with status 0 before the tests finished"),
        (
            "import atexit, os, sys\natexit.register(lambda: os._exit(0))\nsys.exit(0)\n",
            "SystemExit(0) raised in the code before the tests finished",
        ),
    ],
    ids=["sys.exit", "raise SystemExit", "os._exit", "atexit"],
)
def test_exiting_before_the_tests_is_never_a_pass(
    pool: ExecutionPool, ending: str, detail: str
) -> None:
    result = run(pool, FUNCTION + ending, tests="assert False, 'tests must not be skipped'\n")
    assert (result.outcome, result.detail) == (Outcome.EXIT, detail)


def test_exit_inside_the_tests_is_never_a_pass(pool: ExecutionPool) -> None:
    result = run(pool, FUNCTION + "import os\nadd = lambda a, b: os._exit(0)\n")
    assert result.outcome is Outcome.EXIT


def test_printing_a_fake_proof_and_exiting_is_not_a_pass(pool: ExecutionPool) -> None:
    forge = 'import os\nprint(\'{"event": "proof", "nonce": "0"}\', flush=True)\nos._exit(0)\n'
    assert run(pool, FUNCTION + forge).outcome is Outcome.EXIT


def test_guessed_proof_on_the_report_channel_is_not_a_pass(pool: ExecutionPool) -> None:
    forge = (
        "import os\n"
        'os.write(4, b\'{"event": "proof", "nonce": "00000000000000000000000000000000"}\\n\')\n'
        "os._exit(0)\n"
    )
    assert run(pool, FUNCTION + forge).outcome is Outcome.EXIT


def test_result_carries_resource_use(pool: ExecutionPool) -> None:
    result = run(pool, FUNCTION + "x = bytearray(50 * 1024 * 1024)\n")
    assert result.outcome is Outcome.PASS
    assert result.max_rss_mb > 50 and result.duration_s > 0
