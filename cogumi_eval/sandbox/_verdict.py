"""Deciding how an execution ended from its report events and its wait status.

Standard library only: used by the local worker (loaded by path; the wait status
of the code's process) and by the docker path (imported normally; also the
nonce proof of script mode).
"""

from __future__ import annotations

import os
import secrets
import signal
from typing import Any

KINDS = {
    "pass",
    "assertion",
    "exception",
    "syntax",
    "timeout",
    "memory",
    "exit",
    "crash",
    "killed",
    "file_size",
    "sandbox_error",
}
SIGNAL_CRASH = {
    signal.SIGSEGV,
    signal.SIGBUS,
    signal.SIGILL,
    signal.SIGFPE,
    signal.SIGABRT,
    signal.SIGSYS,
}


def has_proof(events: list[dict[str, Any]], nonce: str) -> bool:
    """True when a ``proof`` event echoes the nonce (compared in constant time)."""
    return any(
        e.get("event") == "proof" and secrets.compare_digest(str(e.get("nonce", "")), nonce)
        for e in events
    )


def verdict(
    events: list[dict[str, Any]], nonce: str, timed_out: bool, status: int, limits: dict[str, Any]
) -> tuple[str, str]:
    """Outcome and detail: a pass needs the proof; otherwise the first reported failure, the
    deadline, or the way the process ended."""
    if has_proof(events, nonce):
        return "pass", "all tests ran to completion"
    for event in events:
        if event.get("event") == "fail":
            kind = str(event.get("kind", "exception"))
            return (kind if kind in KINDS and kind != "pass" else "exception"), str(
                event.get("detail", "")
            )[:600]
    if timed_out:
        return (
            "timeout",
            f"wall-clock limit of {float(limits['timeout_s']):g} s reached; "
            "the process tree was killed",
        )
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        if number == signal.SIGXCPU:
            return "timeout", f"CPU-time limit of {limits['cpu_s']} s reached ({name})"
        if number == signal.SIGXFSZ:
            return "file_size", f"file-size limit of {limits['file_size_mb']} MiB reached ({name})"
        if number in SIGNAL_CRASH:
            return "crash", f"the process died of {name}"
        if number == signal.SIGKILL:
            return (
                "killed",
                "killed by SIGKILL (the code itself, or the kernel's out-of-memory killer)",
            )
        return "killed", f"killed by {name}"
    code = os.waitstatus_to_exitcode(status)
    return "exit", f"the process exited with status {code} before the tests finished"
