"""A pool of sandbox workers, one per core; every execution still gets a fresh process."""

from __future__ import annotations

import atexit
import functools
import json
import os
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio.to_thread

from .._errors import CogumiError
from ._environment import scrub_environment
from ._jail import SYSTEM_PATHS, world_writable_dirs
from ._limits import Limits
from ._program import EncodingProblem, Program, program_text
from ._result import ExecutionResult, Isolation, Outcome

WORKER_SCRIPT = Path(__file__).with_name("_worker.py")
_START_TIMEOUT_S = 60.0
_ANSWER_GRACE_S = 15.0  # on top of the time limit: killing, reaping and cleaning up


class SandboxError(CogumiError):
    """The sandbox could not run code at all (not a failure of the code)."""


def available_cores() -> int:
    """Cores this process may run on (affinity-aware ``os.cpu_count()``)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _worker_environment() -> dict[str, str]:
    env = scrub_environment(os.environ)
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    # The same string hashing in every worker and every run: set order never decides a test.
    env.update(PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8")
    return env


@functools.cache
def _world_writable() -> list[str]:
    """World-writable directories inside the trees the jail binds (scanned once per process)."""
    roots = [*SYSTEM_PATHS, sys.prefix, sys.base_prefix, *sys.path]
    return world_writable_dirs([r for r in dict.fromkeys(roots) if os.path.isabs(r)])


def _read_message(fd: int, deadline: float) -> Any:
    """One length-prefixed JSON message; None on end of stream or when the deadline passes."""
    data = b""
    size: int | None = None
    while size is None or len(data) < size:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return None
        chunk = os.read(fd, 65536 if size is None else max(1, size - len(data) + 4))
        if not chunk:
            return None
        data += chunk
        if size is None and len(data) >= 4:
            size = struct.unpack(">I", data[:4])[0] + 4
    return json.loads(data[4:size])


class _WorkerProcess:
    """One sandbox worker and the pipe pair that talks to it."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-s", str(WORKER_SCRIPT), json.dumps(options)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_worker_environment(),
            cwd="/",
            close_fds=True,
            start_new_session=True,  # Ctrl-C in the terminal does not reach it; killpg does
            bufsize=0,
        )
        self.isolation: dict[str, Any] = {}

    def wait_ready(self) -> None:
        assert self.process.stdout is not None
        message = _read_message(self.process.stdout.fileno(), time.monotonic() + _START_TIMEOUT_S)
        if not message or not message.get("ready"):
            self.kill()
            raise SandboxError(
                f"the sandbox worker ({WORKER_SCRIPT}) failed to start "
                f"(exit status {self.process.poll()}); its error, if any, is printed above"
            )
        self.isolation = message["isolation"]

    def call(self, request: dict[str, Any], deadline: float) -> dict[str, Any] | None:
        assert self.process.stdin is not None and self.process.stdout is not None
        body = json.dumps(request).encode()
        try:
            self.process.stdin.write(struct.pack(">I", len(body)) + body)
        except (BrokenPipeError, OSError):
            return None
        reply: dict[str, Any] | None = _read_message(self.process.stdout.fileno(), deadline)
        return reply

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._release()

    def close(self) -> None:
        try:
            if self.process.stdin:
                self.process.stdin.close()
            self.process.wait(timeout=5)
        except (subprocess.TimeoutExpired, OSError):
            self.kill()
        self._release()

    def _release(self) -> None:
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self.process.stdout:
            self.process.stdout.close()


class ExecutionPool:
    """Runs programs in Cogumi's local sandbox, in parallel across cores.

    Each worker is a small Python process started once (in its own network, PID
    and mount namespaces where the host allows); it starts a fresh, confined
    candidate for every execution, one execution ahead (so that a fresh
    interpreter's start is not waited for), and forks the checker on request.
    See ``cogumi_eval/sandbox/_worker.py`` for the layers and ``_runner.py`` for
    how a pass is proved.

    Args:
        workers: parallel executions (default: the cores this process may use).
        namespaces: use Linux namespaces where permitted (turn off only to diagnose a host).
        landlock: use Landlock where the kernel has it (turn off only to diagnose a host).
        jail: run the code chrooted in read-only binds of the system and Python
            directories, in a fresh interpreter (needs the mount namespace; turn off
            only to diagnose a host).
        cgroups: give every execution a control group of its own where the host lets us
            (turn off only to diagnose a host).
        scratch_mb: size of the tmpfs holding an execution's temporary directory.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        namespaces: bool = True,
        landlock: bool = True,
        jail: bool = True,
        cgroups: bool = True,
        scratch_mb: int = 256,
    ) -> None:
        if not sys.platform.startswith("linux"):
            raise SandboxError(
                "Cogumi's local sandbox needs Linux (namespaces, rlimits, Landlock); "
                "on this platform pass -T sandbox=docker to run the tests in Inspect's "
                "docker sandbox"
            )
        self.size = workers or available_cores()
        self._options = {
            "namespaces": namespaces,
            "landlock": landlock,
            "jail": jail,
            "cgroups": cgroups,
            "scratch_mb": scratch_mb,
            "hidden": _world_writable() if jail and namespaces else [],
            "limits": Limits().as_dict(),  # what each worker's first candidate is started with
        }
        self._idle: queue.SimpleQueue[_WorkerProcess] = queue.SimpleQueue()
        self._workers: list[_WorkerProcess] = []
        self._lock = threading.Lock()
        self._closed = False
        started = [_WorkerProcess(self._options) for _ in range(self.size)]
        try:
            for worker in started:
                worker.wait_ready()
        except BaseException:
            for worker in started:
                worker.kill()
            raise
        for worker in started:
            self._workers.append(worker)
            self._idle.put(worker)
        self.isolation = Isolation(
            **{k: v for k, v in started[0].isolation.items() if k in Isolation.__dataclass_fields__}
        )

    def run(self, program: Program, limits: Limits | None = None) -> ExecutionResult:
        """Run one program and say how it ended (never raises for anything the code does)."""
        limits = limits or Limits()
        try:
            code = program_text(program.code)
        except EncodingProblem as problem:
            return ExecutionResult(Outcome.ENCODING, str(problem), isolation=self.isolation)
        request = {
            "code": code,
            "tests": program.tests,
            "prelude": program.prelude,
            "entry_point": program.entry_point,
            "limits": limits.as_dict(),
        }
        worker = self._checkout()
        deadline = time.monotonic() + limits.timeout_s + _ANSWER_GRACE_S
        reply = worker.call(request, deadline)
        if reply is None:
            unresponsive = time.monotonic() >= deadline  # else the pipe closed: it died
            worker.kill()
            self._replace(worker)
            if unresponsive:
                return ExecutionResult(
                    Outcome.TIMEOUT,
                    "the sandbox worker did not answer in time and was restarted",
                    isolation=self.isolation,
                )
            return ExecutionResult(
                Outcome.KILLED,
                "the sandbox worker died during this execution and was restarted",
                isolation=self.isolation,
            )
        self._idle.put(worker)
        return _result(reply)

    async def run_async(self, program: Program, limits: Limits | None = None) -> ExecutionResult:
        """``run`` from async code (Inspect scorers), on a thread so the event loop keeps going."""
        call = functools.partial(self.run, program, limits)
        return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)

    def map(
        self, programs: Iterable[Program], limits: Limits | None = None
    ) -> list[ExecutionResult]:
        """Run many programs, ``size`` at a time; results in input order."""
        with ThreadPoolExecutor(self.size) as executor:
            return list(executor.map(lambda p: self.run(p, limits), programs))

    def close(self) -> None:
        """Stop every worker (idempotent)."""
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.close()

    def __enter__(self) -> ExecutionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _checkout(self) -> _WorkerProcess:
        if self._closed:
            raise SandboxError("this ExecutionPool is closed")
        return self._idle.get()

    def _replace(self, dead: _WorkerProcess) -> None:
        with self._lock:
            if dead in self._workers:
                self._workers.remove(dead)
            if self._closed:
                return
        fresh = _WorkerProcess(self._options)
        fresh.wait_ready()
        with self._lock:
            self._workers.append(fresh)
        self._idle.put(fresh)


def _result(reply: dict[str, Any]) -> ExecutionResult:
    isolation = Isolation(
        **{
            k: v
            for k, v in reply.get("isolation", {}).items()
            if k in Isolation.__dataclass_fields__
        }
    )
    return ExecutionResult(
        outcome=Outcome(reply["outcome"]),
        detail=reply.get("detail", ""),
        stdout=reply.get("stdout", ""),
        stderr=reply.get("stderr", ""),
        output_truncated=bool(reply.get("output_truncated", False)),
        duration_s=float(reply.get("duration_s", 0.0)),
        cpu_s=float(reply.get("cpu_s", 0.0)),
        max_rss_mb=float(reply.get("max_rss_mb", 0.0)),
        isolation=isolation,
    )


_default: ExecutionPool | None = None
_default_pid = 0
_default_lock = threading.Lock()


IN_FLIGHT_PER_CORE = 2
"""Executions the process-wide pool runs at once per core: each one waits on round trips
between its checker and its candidate, so with one per core the cores sit partly idle; three
or four per core measured no faster on two shared cores (``benchmarks/humaneval_exec.py``
measures one and two)."""


def default_pool() -> ExecutionPool:
    """The process-wide pool (``IN_FLIGHT_PER_CORE`` workers per core), started on first use
    and closed at exit."""
    global _default, _default_pid
    with _default_lock:
        if _default is None or _default_pid != os.getpid():
            _default = ExecutionPool(workers=IN_FLIGHT_PER_CORE * available_cores())
            _default_pid = os.getpid()
            atexit.register(_default.close)
        return _default
