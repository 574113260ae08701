"""What one execution of model-written code came to: the outcome, why, and how it was confined."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """How an execution ended. Only ``PASS`` means the tests ran to their end."""

    PASS = "pass"
    """The code ran, then every test ran to completion in the checker process (locally), or
    in the code's own process with the nonce handshake (docker)."""
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
    NOT_DATA = "not_data"
    """What came back from the code was not plain data (an object of another type, an answer
    over the size cap or nested too deep), or the code broke the channel the calls cross."""
    SANDBOX_ERROR = "sandbox_error"
    """The sandbox itself failed to set up the execution; never something the code did."""


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
        filesystem: the file layers, comma-separated: ``jail`` (a chroot holding only
            read-only system and Python directories and a fresh tmpfs per execution: no
            host /tmp, /var/tmp, /dev/shm, /run, /proc or home), ``landlock`` (writes
            only in the temporary directory, reads only system and Python directories)
            and ``read-only mounts`` (without a jail: every mount but the scratch tmpfs
            remounted read-only in the worker's mount namespace); ``"none"`` without any.
        landlock_abi: the kernel's Landlock ABI version (0 = unavailable).
        uid: the user id the code ran as (65534 = nobody when started as root; with
            ``uid_per_execution``, the start of the range the uids are drawn from).
        uid_per_execution: every execution ran as uids of its own (code and checker),
            so no two executions share an identity or a per-uid limit.
        process_limit: True when RLIMIT_NPROC is enforced by the kernel for that uid.
        scratch_mb: size cap of the tmpfs holding the temporary directory
            (0 = the host's temporary directory, uncapped).
        checker: where the tests ran: ``"separate process; code in a fresh interpreter"``
            (the code's process never held the tests), ``"separate process; code forked
            from the worker"`` (without a jail: the code could find earlier requests in
            its inherited memory), or ``"same process (nonce proof)"`` (docker).
        cgroup: per-execution control group and its limits, e.g. ``"v1: memory, pids,
            cpu"`` (memory counts every child and shared memory; the group is killed
            whole), or ``"none"`` (rlimits only, which are per process).
        keyring: ``"fresh session keyring"`` (the host's session keyring is not
            reachable), ``"inherited"``, or ``"blocked (docker seccomp)"``.
        capabilities: the capabilities the code kept (``"none"``).
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
    uid_per_execution: bool = False
    checker: str = "none"
    cgroup: str = "none"
    keyring: str = "inherited"
    capabilities: str = "unknown"

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
