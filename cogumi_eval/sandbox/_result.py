"""What one execution of model-written code came to: the outcome, why, and how it was confined."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """How an execution ended. Only ``PASS`` means the tests ran to their end."""

    PASS = "pass"
    """The code ran, then every test ran to completion (proved by the nonce handshake)."""
    ASSERTION = "assertion"
    """A test assertion failed."""
    EXCEPTION = "exception"
    """An uncaught exception other than AssertionError or MemoryError."""
    SYNTAX = "syntax"
    """The code does not compile (SyntaxError, IndentationError, null bytes)."""
    ENCODING = "encoding"
    """The code is not valid UTF-8 (undecodable bytes, lone surrogates); it was not run."""
    TIMEOUT = "timeout"
    """The wall-clock or CPU-time limit ran out."""
    MEMORY = "memory"
    """MemoryError: the address-space limit was reached."""
    EXIT = "exit"
    """The process ended (sys.exit, os._exit, ...) before the tests finished."""
    CRASH = "crash"
    """The process died of a fault signal (SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE)."""
    KILLED = "killed"
    """The process was killed by another signal, or the sandbox worker died under it."""
    FILE_SIZE = "file_size"
    """A write went past the file-size limit (a stdout flood included)."""
    SANDBOX_ERROR = "sandbox_error"
    """The sandbox itself failed to set up the execution; not the code's fault."""


@dataclass(frozen=True)
class Isolation:
    """Which confinement layers were in force for an execution.

    Attributes:
        backend: ``"local"`` (Cogumi's process sandbox) or ``"docker"`` (Inspect's).
        network: True when the code could reach no network at all.
        network_method: how: ``"network namespace"``, ``"landlock (tcp only)"``,
            ``"docker network_mode none"`` or ``"none"``.
        pid_namespace: the code saw only its own processes, and everything it started
            was killed with it.
        filesystem: the file layers, comma-separated: ``landlock`` (writes only in the
            temporary directory, reads only system and Python directories) and
            ``read-only mounts`` (every mount but the scratch tmpfs remounted
            read-only in the worker's mount namespace); ``"none"`` without either.
        landlock_abi: the kernel's Landlock ABI version (0 = unavailable).
        uid: the user id the code ran as (65534 = nobody when started as root).
        process_limit: True when RLIMIT_NPROC is enforced by the kernel for that uid.
        scratch_mb: size cap of the private tmpfs holding temporary directories
            (0 = the host's temporary directory, uncapped).
    """

    backend: str = "local"
    network: bool = False
    network_method: str = "none"
    pid_namespace: bool = False
    filesystem: str = "none"
    landlock_abi: int = 0
    uid: int = -1
    process_limit: bool = False
    scratch_mb: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ExecutionResult:
    """The outcome of running one program.

    Attributes:
        outcome: pass or the failure kind.
        detail: one line saying why (exception and line, signal, limit reached).
        stdout: the head of what the code printed (``Limits.output_bytes`` at most).
        stderr: the head of its standard error.
        output_truncated: True when either stream held more than was kept.
        duration_s: wall-clock seconds from process start to its end.
        cpu_s: CPU seconds the process used (user + system).
        max_rss_mb: its peak resident memory.
        isolation: the confinement layers in force.
    """

    outcome: Outcome
    detail: str
    stdout: str = ""
    stderr: str = ""
    output_truncated: bool = False
    duration_s: float = 0.0
    cpu_s: float = 0.0
    max_rss_mb: float = 0.0
    isolation: Isolation = field(default_factory=Isolation)

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASS

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcome"] = self.outcome.value
        return data
