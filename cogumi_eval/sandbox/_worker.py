"""The sandbox worker: a small, clean Python process that forks one fresh child per execution.

Standard library only; started by ``ExecutionPool`` as ``python -s _worker.py OPTIONS``
with an environment already scrubbed of secrets, so no secret is ever in its
memory. Forking this small process costs well under a millisecond, against
tens of milliseconds for starting an interpreter, and every execution still
gets a process of its own with its own limits.

Layers, each used where the host allows it and reported back (``Isolation``):

1. At start: new network, PID and mount namespaces (as root directly; otherwise
   inside a new user namespace). The launcher forks the worker proper, which is
   PID 1 of its namespace: the code it runs sees no other process, and after
   every execution ``kill(-1)`` removes everything that execution started, even
   processes that left its session. A size-capped tmpfs is mounted over the
   temporary directory, so the code cannot fill the host's disk, and every
   other mount is remounted read-only (the file defence where Landlock is absent).
2. Per execution, in the forked child: a new session, rlimits (CPU, address
   space, file size, processes), stdin from /dev/null, stdout/stderr into
   unlinked files, a fresh temporary directory as cwd, an allow-listed
   environment, an unprivileged uid (root drops to nobody, keeping only
   CAP_DAC_READ_SEARCH when Python is installed where nobody cannot read it,
   and then only under Landlock), no capabilities, no_new_privs, and Landlock:
   reads only beneath system and Python directories, writes only in its
   temporary directory, no TCP, no signals out of its domain.
3. Supervision here: wall-clock deadline, the nonce handshake (``_runner``), then
   the whole process tree killed and the temporary directory removed.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import secrets
import select
import shutil
import signal
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn


def _load_sibling(name: str) -> Any:
    path = Path(__file__).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"cogumi_sandbox{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_runner = _load_sibling("_runner")
_landlock = _load_sibling("_landlock")
_namespaces = _load_sibling("_namespaces")
_verdict = _load_sibling("_verdict")

# Imported once here so forked children need not read them from disk (faster, and
# they stay importable when the sandbox uid cannot read the Python installation).
PRELOAD = (
    "abc array base64 binascii bisect calendar cmath collections copy dataclasses datetime "
    "decimal enum fractions functools hashlib heapq itertools json math numbers operator "
    "random re statistics string struct textwrap typing unicodedata"
).split()
for _name in PRELOAD:
    try:
        __import__(_name)
    except ImportError:
        pass

NOBODY = 65534
SYSTEM_READ_PATHS = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin"]
ETC_READ_PATHS = [
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/mime.types",
    "/etc/os-release",
    "/etc/ssl",
    "/etc/alternatives",
    "/etc/python3",
]
# Executions already run in parallel, one per core: numeric libraries get one thread each
# (and so stay under the process limit, which counts threads).
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
DEVICE_PATHS = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"]


# ---- protocol with the pool: 4-byte big-endian length, then JSON ----------------


def _read_exact(fd: int, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def receive(fd: int) -> Any:
    header = _read_exact(fd, 4)
    if header is None:
        return None
    body = _read_exact(fd, struct.unpack(">I", header)[0])
    return None if body is None else json.loads(body)


def send(fd: int, message: Any) -> None:
    body = json.dumps(message).encode()
    data = struct.pack(">I", len(body)) + body
    while data:
        data = data[os.write(fd, data) :]


class Worker:
    """The worker proper: holds the isolation facts and runs executions one at a time."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.layers = (
            _namespaces.enter_namespaces(int(options.get("scratch_mb", 256)))
            if options.get("namespaces", True)
            else {
                "network": False,
                "pid": False,
                "user": False,
                "scratch_mb": 0,
                "read_only": False,
            }
        )
        self.pid_namespace = self.layers["pid"] and os.getpid() == 1
        if not self.pid_namespace:
            _namespaces.prctl(
                _namespaces.PR_SET_CHILD_SUBREAPER, 1
            )  # orphans come back to us for killing
        self.landlock_abi = _landlock.abi_version() if options.get("landlock", True) else 0
        self.root = os.geteuid() == 0
        self.uid = NOBODY if self.root else os.getuid()
        self.gid = NOBODY if self.root else os.getgid()
        python_files = [os.path.dirname(os.__file__), sys.prefix]
        readable = all(_namespaces.world_readable(p) for p in python_files)
        self.keep_read_capability = self.root and not readable and self.landlock_abi > 0
        self.read_paths = self._read_paths()
        # Without a user namespace RLIMIT_NPROC counts all of the user's tasks on the host.
        self.nproc_base = (
            0 if (self.root or self.layers["user"]) else _namespaces.count_user_tasks(self.uid)
        )
        self.scratch = tempfile.mkdtemp(prefix="cogumi-worker-")

    def _read_paths(self) -> list[str]:
        paths = [*SYSTEM_READ_PATHS, *ETC_READ_PATHS]
        for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
            paths.append(prefix)
        paths += [p for p in sys.path if os.path.isabs(p) and os.path.isdir(p)]
        return list(dict.fromkeys(paths))

    def isolation(self) -> dict[str, Any]:
        if self.layers["network"]:
            network, method = True, "network namespace"
        elif self.landlock_abi >= 4:
            network, method = False, "landlock (tcp only)"
        else:
            network, method = False, "none"
        return {
            "backend": "local",
            "network": network,
            "network_method": method,
            "pid_namespace": self.pid_namespace,
            "filesystem": ", ".join(
                layer
                for layer, used in (
                    ("landlock", self.landlock_abi > 0),
                    ("read-only mounts", self.layers["read_only"]),
                )
                if used
            )
            or "none",
            "landlock_abi": self.landlock_abi,
            "uid": self.uid,
            "process_limit": self.uid != 0,
            "scratch_mb": self.layers["scratch_mb"],
        }

    # ---- one execution ------------------------------------------------------

    def execute(self, request: dict[str, Any]) -> dict[str, Any]:
        limits = request["limits"]
        workdir = tempfile.mkdtemp(prefix="cogumi-exec-")
        fds: list[int] = []
        try:
            os.chmod(workdir, 0o700)
            if self.root:
                os.chown(workdir, self.uid, self.gid)
            out, err = self._capture_file(), self._capture_file()
            control_r, control_w = os.pipe()
            report_r, report_w = os.pipe()
            fds = [out, err, control_w, report_r, control_r, report_w]
            nonce = secrets.token_hex(16)
            started = time.monotonic()
            pid = os.fork()
            if pid == 0:
                self._child(request, workdir, out, err, control_r, report_w)
            for fd in (control_r, report_w):  # the child's ends
                fds.remove(fd)
                os.close(fd)
            events, timed_out, status, rusage = self._supervise(
                pid, limits, nonce, report_r, control_w
            )
            duration = time.monotonic() - started
            outcome, detail = _verdict.verdict(events, nonce, timed_out, status, limits)
            stdout, stdout_cut = _head(out, int(limits["output_bytes"]))
            stderr, stderr_cut = _head(err, int(limits["output_bytes"]))
        finally:
            for fd in fds:
                os.close(fd)
            shutil.rmtree(workdir, onerror=_force_remove)
        return {
            "outcome": outcome,
            "detail": detail,
            "stdout": stdout,
            "stderr": stderr,
            "output_truncated": stdout_cut or stderr_cut,
            "duration_s": round(duration, 6),
            "cpu_s": round(rusage.ru_utime + rusage.ru_stime, 6),
            "max_rss_mb": round(rusage.ru_maxrss / 1024, 3),
            "isolation": self.isolation(),
        }

    def _capture_file(self) -> int:
        try:
            return os.open(self.scratch, os.O_TMPFILE | os.O_RDWR, 0o600)
        except OSError:
            handle, path = tempfile.mkstemp(dir=self.scratch)
            os.unlink(path)
            return handle

    def _supervise(
        self, pid: int, limits: dict[str, Any], nonce: str, report_r: int, control_w: int
    ) -> tuple[list[dict[str, Any]], bool, int, Any]:
        deadline = time.monotonic() + float(limits["timeout_s"])
        pidfd = os.pidfd_open(pid)
        poller = select.poll()
        poller.register(report_r, select.POLLIN)
        poller.register(pidfd, select.POLLIN)
        reader = _verdict.ReportReader()
        timed_out = exited = False
        try:
            while not exited:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                for fd, _ in poller.poll(max(1, int(remaining * 1000))):
                    if fd == pidfd:
                        exited = True
                    elif reader.feed(os.read(report_r, 65536)):
                        poller.unregister(report_r)
                    if reader.wants_nonce:
                        reader.wants_nonce = False
                        try:
                            os.write(control_w, nonce.encode() + b"\n")
                        except OSError:
                            pass
        finally:
            os.close(pidfd)
        self._kill_tree(pid)
        _, status, rusage = os.wait4(pid, 0)
        self._reap_all()
        os.set_blocking(report_r, False)
        try:
            while not reader.feed(os.read(report_r, 65536)):
                pass
        except BlockingIOError:
            pass
        return reader.events, timed_out and not reader.proved(nonce), status, rusage

    def _kill_tree(self, pid: int) -> None:
        if self.pid_namespace:
            try:
                os.kill(-1, signal.SIGKILL)  # every process in our namespace but us
            except ProcessLookupError:
                pass
            return
        for target in (
            lambda: os.killpg(pid, signal.SIGKILL),
            lambda: os.kill(pid, signal.SIGKILL),
        ):
            try:
                target()
            except (ProcessLookupError, PermissionError):
                pass
        for orphan in _namespaces.descendants_of(os.getpid()):
            if orphan != pid:
                _namespaces.kill_quietly(orphan)

    def _reap_all(self) -> None:
        """Reap everything the execution left behind (re-killing anything forked meanwhile)."""
        while True:
            try:
                reaped, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if reaped == 0:
                if self.pid_namespace:
                    try:
                        os.kill(-1, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                else:
                    for orphan in _namespaces.descendants_of(os.getpid()):
                        _namespaces.kill_quietly(orphan)
                time.sleep(0.001)

    # ---- in the forked child ----------------------------------------------------

    def _child(
        self,
        request: dict[str, Any],
        workdir: str,
        out: int,
        err: int,
        control_r: int,
        report_w: int,
    ) -> NoReturn:
        self._report_fd = report_w
        try:
            self._confine_child(request["limits"], workdir, out, err, control_r, report_w)
        except BaseException as exc:
            detail = f"sandbox set-up failed: {type(exc).__name__}: {exc}"
            _runner.report(self._report_fd, "fail", kind="sandbox_error", detail=detail)
            os._exit(70)
        _runner.run_program(
            request["code"],
            request["tests"],
            report_fd=_runner.REPORT_FD,
            obtain_nonce=_runner.nonce_from_control_fd,
        )
        os._exit(70)  # not reached: run_program always ends the process

    def _confine_child(
        self,
        limits: dict[str, Any],
        workdir: str,
        out: int,
        err: int,
        control_r: int,
        report_w: int,
    ) -> None:
        os.setsid()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        limits = dict(limits, max_processes=int(limits["max_processes"]) + self.nproc_base)
        _runner.apply_limits(limits)
        devnull = os.open(os.devnull, os.O_RDONLY)
        # Lift every fd we keep above the target numbers before placing them at 0..4.
        lifted = [
            os.dup2(fd, 200 + i) for i, fd in enumerate((devnull, out, err, control_r, report_w))
        ]
        for target, fd in enumerate(lifted):
            os.dup2(fd, target)
        self._report_fd = _runner.REPORT_FD
        os.closerange(5, 1 << 16)  # the pool's pipes and everything else of the worker
        os.chdir(workdir)
        environ = {
            k: v for k, v in os.environ.items() if k in ("PATH", "LANG") or k.startswith("LC_")
        }
        os.environ.clear()
        os.environ.update(environ, HOME=workdir, TMPDIR=workdir, **ONE_THREAD)
        tempfile.tempdir = workdir
        if self.root:
            self._drop_root()
        elif self.layers["user"]:
            _namespaces.capset(0)  # the namespace's capabilities are not the code's to use
        _namespaces.prctl(_namespaces.PR_CAP_AMBIENT, _namespaces.PR_CAP_AMBIENT_CLEAR_ALL)
        if self.landlock_abi:
            _landlock.confine(self.read_paths, [workdir], DEVICE_PATHS)
        else:
            _namespaces.prctl(_namespaces.PR_SET_NO_NEW_PRIVS, 1)
        sys.stdin = open(0, encoding="utf-8", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
        sys.argv = ["<code>"]
        sys.dont_write_bytecode = True
        import random

        random.seed(0)  # forked children would otherwise all share the worker's random state

    def _drop_root(self) -> None:
        os.setgroups([])
        os.setresgid(self.gid, self.gid, self.gid)
        if self.keep_read_capability:
            _namespaces.prctl(_namespaces.PR_SET_KEEPCAPS, 1)
        os.setresuid(self.uid, self.uid, self.uid)
        _namespaces.capset(1 << _namespaces.CAP_DAC_READ_SEARCH if self.keep_read_capability else 0)


def _force_remove(function: Any, path: str, excinfo: Any) -> None:
    """rmtree fallback for directories the code made unreadable."""
    try:
        os.chmod(os.path.dirname(path), 0o700)
        os.chmod(path, 0o700)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except OSError:
        pass


def _head(fd: int, limit: int) -> tuple[str, bool]:
    size = os.fstat(fd).st_size
    data = os.pread(fd, limit, 0) if limit else b""
    return data.decode("utf-8", "replace"), size > limit


def main(argv: list[str]) -> None:
    options = json.loads(argv[1]) if len(argv) > 1 else {}
    worker = Worker(options)
    # Long-lived objects out of the collector's sight: a collection in a child would
    # otherwise touch (and so copy) every page of the worker's heap.
    gc.freeze()
    send(1, {"ready": True, "isolation": worker.isolation()})
    while True:
        request = receive(0)
        if request is None:  # the pool closed our stdin
            shutil.rmtree(worker.scratch, ignore_errors=True)
            return
        try:
            response = worker.execute(request)
        except Exception as exc:  # report, and stay up for the next execution
            response = {
                "outcome": "sandbox_error",
                "detail": f"{type(exc).__name__}: {exc}",
                "isolation": worker.isolation(),
            }
        send(1, response)


if __name__ == "__main__":
    main(sys.argv)
