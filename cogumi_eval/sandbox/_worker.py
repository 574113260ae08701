"""The sandbox worker: a small, clean Python process that starts two processes per execution.

Standard library only; started by ``ExecutionPool`` as ``python -s _worker.py OPTIONS``
with an environment already scrubbed of secrets, so no secret is ever in its
memory. Layers, each used where the host allows it and reported back (``Isolation``):

1. At start: new network, PID and mount namespaces (as root directly; otherwise
   inside a new user namespace). The launcher forks the worker proper, which is
   PID 1 of its namespace, so after every execution ``kill(-1)`` removes
   everything that execution started, even processes that left its session. A
   tmpfs is mounted over the temporary directory, every other mount is remounted
   read-only, and the jail (``_jail``) is built: the code's whole file view. A
   fresh session keyring replaces the caller's.
2. Per execution: a control group (``_cgroups``) with memory, process and CPU
   limits for everything the execution starts; a new tmpfs in the jail; two
   fresh uids (as root); then two forks:

   - the candidate: joins the group, new session, rlimits, stdin from /dev/null,
     stdout/stderr into unlinked files, chroot into the jail, its own uid, an
     empty bounding set and no capabilities, a fresh session keyring, Landlock
     (reads only system and Python directories, writes only in its directory,
     no TCP, no signals out of its domain), then ``execve`` of a fresh Python
     running ``_candidate`` (without a jail, ``_candidate.serve`` in the fork);
   - the checker (``_checker``): the other uid, not dumpable, runs the tests with
     the candidate behind a data-only proxy and sends the verdict here.
   With a jail and a PID namespace the candidate is started one execution ahead: at
   start, then after each execution has been torn down and before its answer is sent,
   the next execution's group, tmpfs, uids and candidate are set up exactly as above,
   and the candidate's fresh interpreter waits for its code while the request is on its
   way; only the checker is forked when the request comes (a request with other limits
   than the prepared ones discards that candidate and starts its own).
3. Supervision here: the wall-clock deadline, the checker's verdict (the only
   thing read: nothing the code writes reaches this process), then the whole
   tree and group killed, the tmpfs detached and the group removed.
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
import subprocess
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
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_runner = _load_sibling("_runner")
_landlock = _load_sibling("_landlock")
_namespaces = _load_sibling("_namespaces")
_verdict = _load_sibling("_verdict")
_channel = _load_sibling("_channel")
_checker = _load_sibling("_checker")
_candidate = _load_sibling("_candidate")
_cgroups = _load_sibling("_cgroups")
_jail = _load_sibling("_jail")
CANDIDATE_SCRIPT = str(Path(__file__).with_name("_candidate.py"))

# Imported once here so forked children need not read them from disk (faster, and
# they stay importable when the sandbox uid cannot read the Python installation).
PRELOAD = (
    "abc array base64 binascii bisect calendar cmath collections copy dataclasses datetime "
    "decimal enum fractions functools hashlib heapq itertools json math numbers operator "
    "random re resource statistics string struct textwrap typing unicodedata"
).split()
for _name in PRELOAD:
    try:
        __import__(_name)
    except ImportError:
        pass

NOBODY = 65534
# Per-execution uids (root only): far above any real account, drawn at random per execution.
UNIQUE_UID_BASE, UNIQUE_UID_SPAN = 1 << 30, 1 << 29
# Executions already run in parallel, one per core: numeric libraries get one thread each
# (and so stay under the process limit, which counts threads).
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


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


# The interpreter itself, resolved before any chroot, not a venv's link to it: a venv may sit
# under a world-writable folder (/tmp) that the jail hides, and with -S the code needs no
# site-packages.
INTERPRETER = os.path.realpath(sys.executable)


class _Prepared:
    """One execution's resources before its request: the candidate is already running."""

    def __init__(self, limits: dict[str, Any], checker_uid: int) -> None:
        self.limits = limits
        self.checker_uid = checker_uid
        self.workdir = ""
        self.groups: list[str] = []
        self.fds: list[int] = []
        self.candidate = 0
        self.parent_fds: tuple[int, int, int, int, int] = (-1, -1, -1, -1, -1)


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
        # As root every execution gets uids of its own (code, checker); else our own uid.
        self.unique_uid = self.root
        self.uid = NOBODY if self.root else os.getuid()
        self.gid = NOBODY if self.root else os.getgid()
        self.scratch_mb = int(options.get("scratch_mb", 256))
        self.sys_path = [p for p in sys.path if os.path.isabs(p) and os.path.isdir(p)]
        self.read_paths = self._read_paths()
        self.jail = None
        self.jail_problem = ""
        # The jail's /tmp is each execution's scratch space, so code installed under the host's
        # /tmp (a checkout or venv there) cannot be seen inside it: no jail then, and the
        # result says the code is forked instead.
        under_tmp = [
            p
            for p in (os.path.dirname(os.path.realpath(CANDIDATE_SCRIPT)), INTERPRETER)
            if p == "/tmp" or p.startswith("/tmp/")
        ]
        if under_tmp:
            self.jail_problem = f"{under_tmp[0]} lies under /tmp, which the jail replaces"
        elif options.get("jail", True) and self.layers["scratch_mb"]:
            try:
                self.jail = _jail.Jail(self.read_paths, list(options.get("hidden", [])))
                # The candidate's own modules, compiled once (its interpreter is new each time).
                self.modules_file = os.path.join(self.jail.root, "cogumi-candidate.marshal")
                with open(self.modules_file, "wb") as f:
                    f.write(_candidate.precompiled(os.path.dirname(CANDIDATE_SCRIPT)))
                os.chmod(self.modules_file, 0o444)
                self.read_paths.append("/cogumi-candidate.marshal")
            except OSError as exc:
                self.jail_problem = str(exc)
        python_files = [os.path.dirname(os.__file__), sys.prefix]
        readable = all(_namespaces.world_readable(p) for p in python_files)
        # Only without a jail (which makes Python readable): the code is forked, never exec'd.
        self.keep_read_capability = (
            self.jail is None and self.root and not readable and self.landlock_abi > 0
        )
        self.cgroups = (
            _cgroups.Cgroups.probe(secrets.token_hex(4))
            if options.get("cgroups", True)
            else _cgroups.Cgroups(reason="turned off")
        )
        # Without a user namespace or unique uids, RLIMIT_NPROC counts all the uid's tasks.
        self.nproc_base = (
            0 if (self.root or self.layers["user"]) else _namespaces.count_user_tasks(self.uid)
        )
        self.scratch = tempfile.mkdtemp(prefix="cogumi-worker-")
        self.keyring = _namespaces.join_fresh_session_keyring()
        self.prepared: _Prepared | None = None

    def _read_paths(self) -> list[str]:
        paths = [*_jail.SYSTEM_PATHS, *_jail.ETC_PATHS]
        for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
            paths.append(prefix)
        paths += [*self.sys_path, os.path.dirname(CANDIDATE_SCRIPT)]
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
                    ("jail", self.jail is not None),
                    ("landlock", self.landlock_abi > 0),
                    ("read-only mounts", self.layers["read_only"] and self.jail is None),
                )
                if used
            )
            or "none",
            "landlock_abi": self.landlock_abi,
            "uid": UNIQUE_UID_BASE if self.unique_uid else self.uid,
            "uid_per_execution": self.unique_uid,
            "process_limit": self.uid != 0,
            "scratch_mb": self.scratch_mb if self.jail else self.layers["scratch_mb"],
            "checker": "separate process; code in a fresh interpreter"
            if self.jail
            else "separate process; code forked from the worker",
            "cgroup": self.cgroups.describe(),
            "keyring": "fresh session keyring" if self.keyring else "inherited",
            "capabilities": "CAP_DAC_READ_SEARCH" if self.keep_read_capability else "none",
        }

    # ---- one execution ------------------------------------------------------

    def _identities(self) -> tuple[int, int]:
        """Uids (and gids) of the code and of the checker for one execution."""
        if not self.unique_uid:
            return self.uid, self.uid
        uid = UNIQUE_UID_BASE + 2 * secrets.randbelow(UNIQUE_UID_SPAN // 2)
        return uid, uid + 1

    def execute(self, request: dict[str, Any]) -> dict[str, Any]:
        limits = request["limits"]
        started = time.monotonic()
        prepared, self.prepared = self.prepared, None
        if prepared is not None and prepared.limits != limits:
            self._discard(prepared)
            prepared = None
        if prepared is None:
            prepared = self._prepare(limits)
        fds, groups = prepared.fds, prepared.groups
        candidate = prepared.candidate
        out, err, call_w, answer_r, setup_r = prepared.parent_fds
        try:
            verdict_r, verdict_w = os.pipe()
            fds += [verdict_r, verdict_w]
            deadline = started + float(limits["timeout_s"])
            checker = os.fork()
            if checker == 0:
                self._checker_child(
                    request, prepared.checker_uid, (call_w, answer_r, verdict_w), deadline + 1.0
                )
            for fd in (call_w, answer_r, verdict_w):  # the checker's
                fds.remove(fd)
                os.close(fd)
            verdict, timed_out = self._supervise(checker, verdict_r, deadline)
            broken = verdict is not None and verdict.get("kind") in ("gone", "not_data")
            if broken:
                _wait_briefly(candidate)  # it may be ending: let its exit status tell how
            alive = _running(candidate)
            self._kill_tree(candidate, groups)
            _, status, rusage = os.wait4(candidate, 0)
            self._reap_all(groups)
            duration = time.monotonic() - started
            setup_error = _drain(setup_r)
            out_of_memory = self.cgroups.out_of_memory(groups)
            if broken and not alive:  # the code ended its own process: that is the outcome
                verdict = {"kind": "gone"}
            elif broken and verdict and verdict.get("kind") == "gone":
                verdict = {"kind": "not_data", "detail": "the code closed its answer channel"}
            outcome, detail = _decide(
                verdict, timed_out, status, limits, setup_error, out_of_memory
            )
            stdout, stdout_cut = _head(out, int(limits["output_bytes"]))
            stderr, stderr_cut = _head(err, int(limits["output_bytes"]))
        finally:
            self._release(prepared)
        return {
            "outcome": outcome,
            "detail": detail,
            "stdout": stdout,
            "stderr": stderr,
            "output_truncated": stdout_cut or stderr_cut,
            "duration_s": round(duration, 6),
            "cpu_s": round(rusage.ru_utime + rusage.ru_stime, 6),
            "max_rss_mb": round(rusage.ru_maxrss / 1024, 3),
            "calls": int(verdict.get("calls", 0)) if verdict else 0,
            "isolation": self.isolation(),
        }

    def prestart(self, limits: dict[str, Any]) -> None:
        """Start the next execution's candidate now, with ``limits`` (the last execution's,
        or the pool's defaults at start).

        Only with a jail (the candidate is a fresh interpreter, whose start is then off the
        next execution's critical path) and in our PID namespace (so that it ends with this
        worker, however the worker ends). It is exactly the candidate ``execute`` would
        start: every layer is in place before its interpreter starts, its memory never held
        a request, and it only waits for its code. A request with other limits discards it.
        """
        if self.jail is None or not self.pid_namespace or self.prepared is not None:
            return
        self.prepared = self._prepare(limits)

    def close(self) -> None:
        if self.prepared is not None:
            prepared, self.prepared = self.prepared, None
            self._discard(prepared)
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.cgroups.close()

    def _prepare(self, limits: dict[str, Any]) -> _Prepared:
        """Scratch directory, control group and capture files for one execution, and its
        candidate, forked and confined (it then waits for the code on its call channel)."""
        code_uid, checker_uid = self._identities()
        name = f"cogumi-exec-{secrets.token_hex(8)}"
        prepared = _Prepared(limits, checker_uid)
        try:
            if self.jail is not None:
                self.jail.mount_scratch(self.scratch_mb, code_uid, code_uid)
                prepared.workdir = os.path.join(self.jail.scratch, name)
                code_workdir = "/tmp/" + name
            else:
                prepared.workdir = os.path.join(self.scratch, name)
                code_workdir = prepared.workdir
            os.mkdir(prepared.workdir, 0o700)
            if self.root:
                os.chown(prepared.workdir, code_uid, code_uid)
            try:
                prepared.groups = self.cgroups.create(
                    name, int(limits["memory_mb"]), int(limits["max_processes"])
                )
            except OSError:
                prepared.groups = []
            fds = prepared.fds
            out, err = self._capture_file(), self._capture_file()
            fds += [out, err]
            call_r, call_w = os.pipe()
            answer_r, answer_w = os.pipe()
            setup_r, setup_w = os.pipe2(os.O_CLOEXEC)
            fds += [call_r, call_w, answer_r, answer_w, setup_r, setup_w]
            candidate = os.fork()
            if candidate == 0:
                self._candidate_child(
                    limits,
                    prepared.groups,
                    code_workdir,
                    code_uid,
                    (out, err, call_r, answer_w),
                    setup_w,
                )
            prepared.candidate = candidate
            for fd in (call_r, answer_w, setup_w):  # the candidate's
                fds.remove(fd)
                os.close(fd)
            prepared.parent_fds = (out, err, call_w, answer_r, setup_r)
        except BaseException:
            self._discard(prepared)
            raise
        return prepared

    def _discard(self, prepared: _Prepared) -> None:
        """End a prepared candidate that will not run (never raises for a dead one)."""
        try:
            if prepared.candidate:
                self._kill_tree(prepared.candidate, prepared.groups)
                os.waitpid(prepared.candidate, 0)
                self._reap_all(prepared.groups)
        finally:
            self._release(prepared)

    def _release(self, prepared: _Prepared) -> None:
        for fd in prepared.fds:
            os.close(fd)
        prepared.fds.clear()
        if self.jail is not None:
            self.jail.unmount_scratch()
        elif prepared.workdir:
            _remove_tree(prepared.workdir)

    def _capture_file(self) -> int:
        try:
            return os.open(self.scratch, os.O_TMPFILE | os.O_RDWR, 0o600)
        except OSError:
            handle, path = tempfile.mkstemp(dir=self.scratch)
            os.unlink(path)
            return handle

    def _supervise(
        self, checker: int, verdict_r: int, deadline: float
    ) -> tuple[dict[str, Any] | None, bool]:
        """Wait for the checker's verdict (or its end, or the deadline); never trusts the code."""
        pidfd = os.pidfd_open(checker)
        poller = select.poll()
        poller.register(verdict_r, select.POLLIN)
        poller.register(pidfd, select.POLLIN)
        data = b""
        timed_out = ended = False
        try:
            while not ended:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                for fd, _ in poller.poll(max(1, int(remaining * 1000))):
                    if fd == pidfd:
                        ended = True
                    else:
                        chunk = os.read(verdict_r, 65536)
                        if not chunk:
                            ended = True
                            poller.unregister(verdict_r)
                        data += chunk
        finally:
            os.close(pidfd)
        os.set_blocking(verdict_r, False)
        try:
            while chunk := os.read(verdict_r, 65536):
                data += chunk
        except BlockingIOError:
            pass
        try:
            message = json.loads(data[4:]) if len(data) > 4 else None
        except ValueError:
            message = None
        verdict = message if isinstance(message, dict) else None
        return verdict, timed_out and not (verdict and verdict.get("kind") == "pass")

    def _kill_tree(self, pid: int, groups: list[str]) -> None:
        if self.pid_namespace:
            try:
                os.kill(-1, signal.SIGKILL)  # every process in our namespace but us
            except ProcessLookupError:
                pass
        self.cgroups.kill(groups)
        if self.pid_namespace:
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
            _namespaces.kill_quietly(orphan)

    def _reap_all(self, groups: list[str]) -> None:
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
                    self.cgroups.kill(groups)
                    for orphan in _namespaces.descendants_of(os.getpid()):
                        _namespaces.kill_quietly(orphan)
                time.sleep(0.001)

    # ---- in the forked children -------------------------------------------------

    def _place_fds(self, fds: tuple[int, ...], keep: int | None = None) -> None:
        """stdin from /dev/null, then ``fds`` at 1, 2, 3...; ``keep`` at the next number,
        close-on-exec; everything else closed."""
        devnull = os.open(os.devnull, os.O_RDONLY)
        wanted = (devnull, *fds)
        lifted = [os.dup2(fd, 200 + i) for i, fd in enumerate(wanted)]
        for target, fd in enumerate(lifted):
            os.dup2(fd, target)
        top = len(wanted)
        if keep is not None:
            os.dup2(keep, top, inheritable=False)
            top += 1
        os.closerange(top, 1 << 16)

    def _drop_privileges(self, uid: int) -> None:
        if self.root or self.layers["user"]:
            _namespaces.drop_bounding_set()
        if self.root:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            if self.keep_read_capability:
                _namespaces.prctl(_namespaces.PR_SET_KEEPCAPS, 1)
            os.setresuid(uid, uid, uid)
            keep = 1 << _namespaces.CAP_DAC_READ_SEARCH if self.keep_read_capability else 0
            _namespaces.capset(keep)
        elif self.layers["user"]:
            _namespaces.capset(0)  # the namespace's capabilities are not the code's to use
        _namespaces.prctl(_namespaces.PR_CAP_AMBIENT, _namespaces.PR_CAP_AMBIENT_CLEAR_ALL)

    def _candidate_child(
        self,
        limits: dict[str, Any],
        groups: list[str],
        workdir: str,
        uid: int,
        fds: tuple[int, int, int, int],
        setup_w: int,
    ) -> NoReturn:
        try:
            _cgroups.Cgroups.join(groups)
            os.setsid()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            self._place_fds(fds, keep=setup_w)
            setup_w = len(fds) + 1
            _runner.apply_limits(
                dict(limits, max_processes=int(limits["max_processes"]) + self.nproc_base)
            )
            if self.jail is not None:
                os.chroot(self.jail.root)
            os.chdir(workdir)
            environ = {
                k: v for k, v in os.environ.items() if k in ("PATH", "LANG") or k.startswith("LC_")
            }
            environ.update(
                HOME=workdir,
                TMPDIR=workdir,
                PYTHONHASHSEED="0",
                PYTHONIOENCODING="utf-8:backslashreplace",
                PYTHONDONTWRITEBYTECODE="1",
                **ONE_THREAD,
            )
            self._drop_privileges(uid)
            _namespaces.join_fresh_session_keyring()
            if self.landlock_abi:
                _landlock.confine(self.read_paths, [workdir], _jail.DEVICE_PATHS)
            else:
                _namespaces.prctl(_namespaces.PR_SET_NO_NEW_PRIVS, 1)
            if self.jail is not None:
                python = INTERPRETER
                modules = "/cogumi-candidate.marshal"
                command = [python, "-S", "-s", "-P", "-c", _candidate.BOOTSTRAP, modules]
                os.execve(python, [*command, "--", *self.sys_path], environ)
            os.environ.clear()
            os.environ.update(environ)
            tempfile.tempdir = workdir
            sys.stdin = open(0, encoding="utf-8", closefd=False)
            sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
            sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
            sys.argv = ["<code>"]
            sys.dont_write_bytecode = True
            import random

            random.seed(0)  # forked children would otherwise all share the worker's random state
            os.close(setup_w)
        except BaseException as exc:
            detail = f"sandbox set-up failed: {type(exc).__name__}: {exc}"
            try:
                os.write(setup_w, detail.encode("utf-8", "backslashreplace")[:4000])
            finally:
                os._exit(70)
        _candidate.serve(_channel, _runner)
        os._exit(70)  # not reached: serve always ends the process

    def _checker_child(
        self,
        request: dict[str, Any],
        uid: int,
        fds: tuple[int, int, int],
        deadline: float,
    ) -> NoReturn:
        verdict: dict[str, Any]
        verdict_fd = fds[2]
        try:
            _namespaces.prctl(_namespaces.PR_SET_DUMPABLE, 0)  # no ptrace, no /proc/<pid>/mem
            devnull = os.open(os.devnull, os.O_WRONLY)
            self._place_fds((devnull, devnull, *fds))  # the tests' prints go nowhere
            call_fd, answer_fd, verdict_fd = 3, 4, 5
            _runner.apply_limits(
                {
                    "cpu_s": 3600,
                    "memory_mb": max(4 * int(request["limits"]["memory_mb"]), 2048),
                    "file_size_mb": 1,
                    "max_processes": 1 << 20,
                }
            )
            if self.jail is not None:
                os.chroot(self.jail.root)
            os.chdir("/")
            if self.root:
                self._drop_privileges(uid)
            _namespaces.join_fresh_session_keyring()
            _namespaces.prctl(_namespaces.PR_SET_DUMPABLE, 0)  # setuid resets it
            import random

            random.seed(0)
            limits = request["limits"]
            channel = _checker.Channel(
                _channel,
                call_fd,
                answer_fd,
                deadline,
                float(limits.get("call_timeout_s") or limits["timeout_s"]),
                int(limits.get("answer_bytes", 16 << 20)),
            )
            verdict = _checker.check(_channel, _runner, request, channel)
        except BaseException as exc:
            verdict = {"kind": "sandbox_error", "detail": f"the checker failed: {exc!r}"[:600]}
        try:
            send(verdict_fd, verdict)
        finally:
            os._exit(0)


def _running(pid: int) -> bool:
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None


def _wait_briefly(pid: int, seconds: float = 0.05) -> None:
    pidfd = os.pidfd_open(pid)
    try:
        select.select([pidfd], [], [], seconds)
    finally:
        os.close(pidfd)


def _remove_tree(path: str) -> None:
    """Remove a scratch directory whatever the code made of it (never raises)."""
    try:
        shutil.rmtree(path, onerror=_force_remove)
    except Exception:  # a tree too deep for rmtree's recursion, say
        subprocess.run(["rm", "-rf", "--one-file-system", path], check=False, capture_output=True)


def _drain(fd: int) -> str:
    os.set_blocking(fd, False)
    data = b""
    try:
        while chunk := os.read(fd, 4096):
            data += chunk
    except BlockingIOError:
        pass
    return data.decode("utf-8", "replace")


def _decide(
    verdict: dict[str, Any] | None,
    timed_out: bool,
    status: int,
    limits: dict[str, Any],
    setup_error: str,
    out_of_memory: bool,
) -> tuple[str, str]:
    """The outcome: the checker's verdict, unless the set-up failed or the code ended the run."""
    if setup_error:
        return "sandbox_error", setup_error
    kind = str(verdict.get("kind")) if verdict else ""
    detail = str(verdict.get("detail", ""))[:600] if verdict else ""
    if kind == "pass":
        return "pass", "all tests ran to completion"
    if kind == "sandbox_error":
        return kind, detail
    if out_of_memory:
        return "memory", (
            f"memory limit of {limits['memory_mb']} MiB for the whole execution reached "
            "(cgroup: children and shared memory included); the kernel killed it"
        )
    if timed_out:
        return _verdict.verdict([], "", True, status, limits)
    if kind in _checker.FAILURE_KINDS:
        return kind, detail
    if kind == "gone" or verdict is None:
        outcome, how = _verdict.verdict([], "", False, status, limits)
        if outcome == "killed" and os.WIFSIGNALED(status) and verdict is None:
            how = "the checker ended without a verdict; " + how
        return outcome, how
    return "exception", detail or "no verdict"


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


def _prestart(worker: Worker, limits: Any) -> None:
    """The next candidate, started now (``Worker.prestart``) when the limits are known."""
    if not isinstance(limits, dict):
        return
    try:
        worker.prestart(limits)
    except Exception:  # the next execution sets itself up (and reports what fails)
        worker.prepared = None


def main(argv: list[str]) -> None:
    options = json.loads(argv[1]) if len(argv) > 1 else {}
    worker = Worker(options)
    # Long-lived objects out of the collector's sight: a collection in a child would
    # otherwise touch (and so copy) every page of the worker's heap.
    gc.freeze()
    _prestart(worker, options.get("limits"))
    send(1, {"ready": True, "isolation": worker.isolation()})
    while True:
        request = receive(0)
        if request is None:  # the pool closed our stdin
            worker.close()
            return
        try:
            response = worker.execute(request)
        except Exception as exc:  # report, and stay up for the next execution
            response = {
                "outcome": "sandbox_error",
                "detail": f"{type(exc).__name__}: {exc}",
                "isolation": worker.isolation(),
            }
        # Before the answer: when the pool hears back, this worker is as it was at start.
        _prestart(worker, request.get("limits"))
        send(1, response)


if __name__ == "__main__":
    main(sys.argv)
