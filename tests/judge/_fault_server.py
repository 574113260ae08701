"""A fault-injecting OpenAI-compatible server on loopback, for judging over real HTTP.

It answers ``POST /v1/chat/completions`` and ``GET /v1/models`` like an
OpenAI-compatible server and plays three parts, told apart by the prompt:

- grader: a judge prompt (``Solution A: <<< … >>>``) is answered by
  correctness against the reference shown (the solution whose final number is
  the reference's wins; both right or both wrong is ``[[C]]``);
- probe: any other short prompt without a known question gets ``OK``;
- baseline model: a prompt that contains a known question gets a worked answer
  with the known final number.

A ``plan(number, request)`` function picks a fault for each request; the
faults are the ways a real API fails. Every request is recorded (its number,
part, fault, the peer address, the model reported), so a test can count what
the server saw. The server binds 127.0.0.1 only, refuses requests past
``max_requests`` and shuts itself down after ``lifetime_s``.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = (
    "ok",
    "429",  # rate limited, no Retry-After
    "429-retry-after",  # rate limited, Retry-After: <retry_after_s>
    "500",
    "503",
    "reset",  # the connection is reset before any response
    "hang",  # no response until the client gives up (or hang_s passes)
    "truncated",  # 200 with a body cut off mid-JSON
    "unparseable",  # 200 with a well-formed reply carrying no verdict
)

_SOLUTION = re.compile(r"Solution ([AB]):\n<<<\n(.*?)\n>>>", re.DOTALL)
_FINAL = re.compile(r"ANSWER:\s*(-?[\d.,]+)")
_HASHES = re.compile(r"#### *(-?[\d.,]+)")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_REFERENCE_BLOCK = re.compile(r"Reference solution \(correct\):\n(.*?)\n\nSolution A:", re.DOTALL)


@dataclass(frozen=True)
class SeenRequest:
    """One request as the server saw it."""

    number: int
    part: str  # "grader", "probe", "baseline" or "other"
    fault: str
    peer: str
    model_asked: str
    model_reported: str
    authorized: bool  # an Authorization header was sent (its value is never kept)
    at: float


Plan = Callable[[int, "Request"], str]


@dataclass(frozen=True)
class Request:
    number: int
    part: str
    prompt: str
    body: dict[str, Any]


def no_faults(number: int, request: Request) -> str:
    return "ok"


def random_faults(rate: float, seed: int, kinds: tuple[str, ...]) -> Plan:
    """Each request fails with probability ``rate``, with a fault drawn from ``kinds``.

    The draw depends only on the seed and the request number, so a run is repeatable.
    """

    def plan(number: int, request: Request) -> str:
        rng = random.Random(seed * 1_000_003 + number)
        return rng.choice(kinds) if rng.random() < rate else "ok"

    return plan


def _final(text: str) -> str | None:
    """The final number of a solution: its ``ANSWER:`` line, else ``####``, else its last number."""
    for pattern in (_FINAL, _HASHES, _NUMBER):
        found = pattern.findall(text)
        if found:
            return found[-1].replace(",", "").rstrip(".")
    return None


def judge_reply(prompt: str) -> str | None:
    """The fair grader's reply to a judge prompt; None if the prompt is not one."""
    found = dict(_SOLUTION.findall(prompt))
    block = _REFERENCE_BLOCK.search(prompt)
    reference = _final(block.group(1)) if block else None
    if "A" not in found or "B" not in found or reference is None:
        return None
    a_ok = _final(found["A"]) == reference
    b_ok = _final(found["B"]) == reference
    if a_ok == b_ok:
        return "Both solutions reach the same standing against the reference.\n[[C]]"
    return "Solution A matches the reference.\n[[A]]" if a_ok else "Solution B matches.\n[[B]]"


@dataclass
class FaultServer:
    """The server and what it saw. Use as a context manager.

    Args:
        plan: picks the fault for each request (default: none).
        answers: question text -> the final number the baseline part answers with.
        model: the model name reported in replies; ``set_model`` changes it mid-run.
        delay_s: time taken by every successful reply (to give a run a measurable length).
        hang_s: how long a ``hang`` fault holds the connection before closing it.
        retry_after_s: the ``Retry-After`` value of ``429-retry-after``.
        max_requests: requests past this number are answered 503 and counted as refused.
        lifetime_s: the server shuts itself down after this long.
    """

    plan: Plan = no_faults
    answers: dict[str, str] = field(default_factory=dict)
    model: str | None = None
    delay_s: float = 0.0
    hang_s: float = 5.0
    retry_after_s: float = 0.05
    max_requests: int = 20_000
    lifetime_s: float = 600.0
    seen: list[SeenRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        assert self._server is not None, "the server is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def set_model(self, name: str) -> None:
        with self._lock:
            self.model = name

    def reset(self) -> None:
        """Forget what was seen and number requests from 1 again."""
        with self._lock:
            self.seen.clear()
            self._numbers = itertools.count(1)

    def next_number(self) -> int:
        with self._lock:
            return next(self._numbers)

    def count(self, part: str | None = None, fault: str | None = None) -> int:
        with self._lock:
            return sum(
                (part is None or r.part == part) and (fault is None or r.fault == fault)
                for r in self.seen
            )

    def _record(
        self, request: Request, fault: str, peer: str, asked: str, reported: str, authorized: bool
    ) -> None:
        with self._lock:
            self.seen.append(
                SeenRequest(
                    request.number,
                    request.part,
                    fault,
                    peer,
                    asked,
                    reported,
                    authorized,
                    time.monotonic(),
                )
            )

    def start(self) -> FaultServer:
        handler = _handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fault-server",
            daemon=True,
        ).start()
        timer = threading.Timer(self.lifetime_s, self.stop)
        timer.daemon = True
        timer.start()
        return self

    def stop(self) -> None:
        if self._server is not None and not self._stopping.is_set():
            self._stopping.set()
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def classify(self, prompt: str) -> str:
        if judge_reply(prompt) is not None:
            return "grader"
        if any(q in prompt for q in self.answers):
            return "baseline"
        return "probe" if len(prompt) < 200 else "other"

    def reply_text(self, part: str, prompt: str) -> str:
        if part == "grader":
            return judge_reply(prompt) or ""
        if part == "baseline":
            value = next(v for q, v in self.answers.items() if q in prompt)
            return f"Working it out step by step.\nANSWER: {value}"
        return "OK"


def _handler(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  quiet
            return

        def _send_json(
            self, status: int, payload: Any, headers: dict[str, str] | None = None
        ) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            if self.path.rstrip("/") == "/v1/models":
                self._send_json(
                    200,
                    {
                        "object": "list",
                        "data": [
                            {
                                "id": server.model or "served-model",
                                "object": "model",
                                "owned_by": "test",
                            }
                        ],
                    },
                )
            else:
                self._send_json(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            messages = body.get("messages") or []
            prompt = "\n".join(
                m["content"]
                if isinstance(m.get("content"), str)
                else "".join(p.get("text", "") for p in m.get("content") or [])
                for m in messages
            )
            number = server.next_number()
            part = server.classify(prompt)
            request = Request(number, part, prompt, body)
            asked = str(body.get("model", ""))
            # the plan runs first: it may change the served model from this request on
            fault = "refused" if number > server.max_requests else server.plan(number, request)
            with server._lock:
                reported = server.model or asked
            server._record(
                request,
                fault,
                self.client_address[0],
                asked,
                reported,
                "Authorization" in self.headers,
            )
            self._respond(fault, part, prompt, reported)

        def _respond(self, fault: str, part: str, prompt: str, reported: str) -> None:
            if fault == "refused":
                self._send_json(
                    503, {"error": {"message": "request budget of the test server spent"}}
                )
            elif fault == "429":
                self._send_json(
                    429,
                    {
                        "error": {
                            "message": "Rate limit reached",
                            "type": "requests",
                            "code": "rate_limit_exceeded",
                        }
                    },
                )
            elif fault == "429-retry-after":
                self._send_json(
                    429,
                    {
                        "error": {
                            "message": "Rate limit reached",
                            "type": "requests",
                            "code": "rate_limit_exceeded",
                        }
                    },
                    {"Retry-After": f"{server.retry_after_s:g}"},
                )
            elif fault in ("500", "503"):
                self._send_json(
                    int(fault),
                    {"error": {"message": "The server had an error", "type": "server_error"}},
                )
            elif fault == "reset":
                # SO_LINGER 0: close() sends RST instead of FIN
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                self.connection.close()
            elif fault == "hang":
                server._stopping.wait(server.hang_s)
                self.close_connection = True
            else:
                if server.delay_s:
                    time.sleep(server.delay_s)
                text = (
                    "I cannot decide between them."
                    if fault == "unparseable"
                    else server.reply_text(part, prompt)
                )
                payload = _completion(reported, text)
                if fault == "truncated":
                    raw = json.dumps(payload).encode()
                    cut = raw[: len(raw) // 2]
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(cut)))
                    self.end_headers()
                    self.wfile.write(cut)
                else:
                    self._send_json(200, payload)

    return Handler


def _completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
    }
