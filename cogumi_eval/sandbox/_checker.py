"""The checker process: runs the trusted tests, with the code under test behind a data-only proxy.

Standard library only (loaded by path in the worker, run in a forked child that
the code cannot read, write or signal: another uid, not dumpable, outside the
code's Landlock domain). The tests run here, in a namespace where the entry
point and every name the tests use but do not define resolve to ``Candidate``
proxies: calling one sends the arguments as plain data to the candidate
process and returns the plain data that comes back (``_channel``). A pass is
decided here, from values this process computed: the tests ran to their end
and no call failed on the way.
"""

from __future__ import annotations

import builtins
import os
import select
import time
from typing import Any

FAILURE_KINDS = {
    "assertion",
    "exception",
    "syntax",
    "timeout",
    "memory",
    "exit",
    "crash",
    "killed",
    "file_size",
    "not_data",
}
"""Kinds the candidate may report about itself; it can never report a pass or a sandbox fault."""


class CallFailed(BaseException):
    """A call could not give a value: the candidate ended, timed out, or broke the channel.

    A BaseException, so that a test's ``except Exception`` does not swallow it.
    """

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind, self.detail = kind, detail


class CandidateError(Exception):
    """The candidate raised an exception that is not a built-in one (re-raised by name)."""


class Channel:
    """The checker's end of the call channel, with the deadlines and the answer cap."""

    def __init__(
        self,
        codec: Any,
        call_fd: int,
        answer_fd: int,
        deadline: float,
        call_timeout_s: float,
        answer_bytes: int,
    ) -> None:
        self.codec = codec
        self.call_fd, self.answer_fd = call_fd, answer_fd
        self.deadline, self.call_timeout_s, self.answer_bytes = (
            deadline,
            call_timeout_s,
            answer_bytes,
        )
        self.failure: CallFailed | None = None
        self.calls = 0
        self.slowest_call_s = 0.0

    def fail(self, kind: str, detail: str) -> CallFailed:
        self.failure = self.failure or CallFailed(kind, detail)
        return self.failure

    def request(self, text: str) -> dict[str, Any]:
        if self.failure is not None:
            raise self.failure  # nothing more is asked of a candidate that already failed
        started = time.monotonic()
        try:
            self.codec.write_frame(self.call_fd, text)
        except OSError:
            raise self.fail("not_data", "the code closed its call channel") from None
        limit = min(self.deadline, started + self.call_timeout_s)
        header = self._read(4, limit)
        size = int.from_bytes(header, "big")
        if size > self.answer_bytes:
            raise self.fail(
                "not_data", f"an answer of {size} bytes is over the {self.answer_bytes}-byte cap"
            )
        body = self._read(size, limit)
        elapsed = time.monotonic() - started
        self.calls += 1
        self.slowest_call_s = max(self.slowest_call_s, elapsed)
        try:
            answer = self.codec.parse_body(body)
        except self.codec.NotData as exc:
            raise self.fail("not_data", f"the answer was {exc}") from None
        if type(answer) is not dict:
            raise self.fail("not_data", "the answer was not a message")
        if "fail" in answer:
            kind = str(answer.get("fail"))
            raise self.fail(
                kind if kind in FAILURE_KINDS else "exception", str(answer.get("detail", ""))[:600]
            )
        return answer

    def _read(self, size: int, limit: float) -> bytes:
        data = b""
        poller = select.poll()
        poller.register(self.answer_fd, select.POLLIN)
        while len(data) < size:
            remaining = limit - time.monotonic()
            if remaining <= 0 or not poller.poll(max(1, int(remaining * 1000))):
                overall = limit >= self.deadline
                raise self.fail(
                    "timeout",
                    f"wall-clock limit of {self.call_timeout_s:g} s per call reached"
                    if not overall
                    else "the wall-clock limit was reached during a call",
                )
            chunk = os.read(self.answer_fd, min(size - len(data), 1 << 20))
            if not chunk:
                raise self.fail("gone", "the code ended the process during a call")
            data += chunk
        return data


class Candidate:
    """A function of the code under test, as seen by the tests: plain data in, plain data out."""

    __slots__ = ("_channel", "_name")

    def __init__(self, channel: Channel, name: str) -> None:
        self._channel, self._name = channel, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        codec = self._channel.codec
        try:
            payload = codec.request_text(("call", self._name, list(args), kwargs))
        except codec.NotData as exc:
            raise TypeError(
                f"the tests passed {exc} to {self._name}; only plain data crosses"
            ) from None
        answer = self._channel.request(payload)
        if "value" in answer:
            try:
                return codec.decode(answer["value"])
            except (codec.NotData, RecursionError, MemoryError) as exc:
                raise self._channel.fail("not_data", f"{self._name} returned {exc}") from None
        if "raised" in answer:
            raise _rebuilt(answer)
        if "not_data" in answer:
            raise self._channel.fail("not_data", f"{self._name} {str(answer['not_data'])[:300]}")
        raise self._channel.fail("not_data", f"{self._name} gave an answer of no known form")

    def __repr__(self) -> str:
        return f"<candidate {self._name}>"


def _rebuilt(answer: dict[str, Any]) -> BaseException:
    """The candidate's exception, as the built-in type of that name when there is one."""
    name, message = str(answer.get("raised")), str(answer.get("message", ""))[:400]
    cls = getattr(builtins, name, None)
    error: BaseException
    try:
        if not (isinstance(cls, type) and issubclass(cls, Exception)):
            raise TypeError(name)
        error = cls(message)
    except Exception:
        error = CandidateError(f"{name}: {message}")
    kind = str(answer.get("kind"))
    error.cogumi_origin = (  # type: ignore[attr-defined]
        kind if kind in FAILURE_KINDS else "exception",
        str(answer.get("detail", ""))[:600],
    )
    return error


class TestNamespace(dict):  # type: ignore[type-arg]
    """Globals of the tests: a name they use but do not define is asked of the candidate.

    Built-in names are never asked (the code cannot replace ``abs`` for the tests).
    """

    def __init__(self, channel: Channel) -> None:
        super().__init__(__name__="__cogumi_tests__", __builtins__=builtins)
        self._channel = channel

    def __missing__(self, name: str) -> Any:
        if hasattr(builtins, name) or name.startswith("__"):
            raise KeyError(name)
        answer = self._channel.request(self._channel.codec.request_text(("get", name)))
        if answer.get("callable") is True:
            value: Any = Candidate(self._channel, name)
        elif "value" in answer:
            try:
                value = self._channel.codec.decode(answer["value"])
            except (self._channel.codec.NotData, RecursionError, MemoryError) as exc:
                raise self._channel.fail("not_data", f"{name} is {exc}") from None
        elif "not_data" in answer:
            raise self._channel.fail("not_data", f"{name} {str(answer['not_data'])[:300]}")
        else:
            raise KeyError(name)
        self[name] = value
        return value


def check(
    codec: Any,
    runner: Any,
    request: dict[str, Any],
    channel: Channel,
) -> dict[str, Any]:
    """Send the code, run prelude and tests against the candidate; the verdict as a message."""
    try:
        answer = channel.request(str(request["code"]))
    except CallFailed as failed:
        return {"kind": failed.kind, "detail": failed.detail}
    if answer.get("ready") is not True:
        return {"kind": "not_data", "detail": "the code did not start the way the harness expects"}
    namespace = TestNamespace(channel)
    prelude, tests = request.get("prelude", ""), request.get("tests", "")
    sources = {"<prelude>": prelude, "<tests>": tests}
    try:
        exec(compile(prelude, "<prelude>", "exec", dont_inherit=True), namespace)
    except BaseException as exc:
        return {"kind": "sandbox_error", "detail": f"the trusted prelude failed: {exc!r}"[:600]}
    entry_point = request.get("entry_point")
    if entry_point:
        namespace[entry_point] = Candidate(channel, entry_point)
    try:
        compiled = compile(tests, "<tests>", "exec", dont_inherit=True)
    except BaseException as exc:
        return {
            "kind": "sandbox_error",
            "detail": f"the trusted tests do not compile: {exc!r}"[:600],
        }
    try:
        exec(compiled, namespace)
    except CallFailed as failed:
        return {"kind": failed.kind, "detail": failed.detail}
    except BaseException as exc:
        if channel.failure is not None:  # the tests caught it, but the call still failed
            return {"kind": channel.failure.kind, "detail": channel.failure.detail}
        origin = getattr(exc, "cogumi_origin", None)
        if origin is not None:
            return {"kind": origin[0], "detail": origin[1]}
        kind, detail = runner.classify(exc, "tests", sources)
        return {"kind": kind if kind != "exit" else "exception", "detail": detail}
    if channel.failure is not None:
        return {"kind": channel.failure.kind, "detail": channel.failure.detail}
    return {
        "kind": "pass",
        "detail": "all tests ran to completion",
        "calls": channel.calls,
        "slowest_call_s": round(channel.slowest_call_s, 6),
    }
