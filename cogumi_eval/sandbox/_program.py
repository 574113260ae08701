"""A program to run: model-written code, then trusted tests, each compiled on its own."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Program:
    """What the sandbox runs.

    Attributes:
        code: the code under test, as text or as raw bytes (which must be UTF-8).
        tests: trusted code; a pass means it ran to its end. Locally it runs in a
            separate checker process: a name it uses but does not define is looked up
            in the code's globals and comes back as plain data, or, for a function, as
            a proxy whose calls cross a data-only channel. (In docker it runs after
            ``code`` in the same namespace.) Compiled separately, so ``code`` cannot
            swallow it.
        prelude: trusted code the checker runs before ``tests`` (helpers the tests use,
            such as a HumanEval prompt's other functions); never taken from ``code``.
        entry_point: a name that is always the code's function, even where the prelude
            defines it too (a HumanEval prompt's stub).
    """

    code: str | bytes
    tests: str = ""
    prelude: str = ""
    entry_point: str | None = None


class EncodingProblem(ValueError):
    """The code is not valid UTF-8; ``str(self)`` says where."""


def program_text(code: str | bytes) -> str:
    """The code as text that encodes to UTF-8, or ``EncodingProblem`` saying why not.

    Text can hold lone surrogates (from ``surrogateescape`` decoding or JSON
    ``\\udcxx`` escapes); they are no more valid UTF-8 than undecodable bytes.
    """
    if isinstance(code, bytes):
        try:
            return code.decode("utf-8")
        except UnicodeDecodeError as ex:
            bad = code[ex.start : ex.end]
            raise EncodingProblem(
                f"the code is not valid UTF-8: byte(s) {bad!r} at position {ex.start} ({ex.reason})"
            ) from None
    try:
        code.encode("utf-8")
    except UnicodeEncodeError as ex:
        bad_text = code[ex.start : ex.end]
        raise EncodingProblem(
            f"the code is not valid UTF-8: {bad_text!r} at position {ex.start} ({ex.reason})"
        ) from None
    return code
