"""Attacks on the harness itself: none fakes a pass, reaches the host, a neighbour or the harness.

Every attack runs beside a correct solution (on the other worker, at the same
time) and is checked three ways: the verdict it gets, that the correct neighbour
still passes, and that the host is untouched: files and pathname sockets in
world-writable folders, a key in the session keyring, and no process left behind.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cogumi_eval.sandbox import ExecutionPool, ExecutionResult, Limits, Outcome, Program

from .test_sandbox_hostile import worker_descendants

WRONG = "def add(a, b):\n    return 0\n"
TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"
LIMITS = Limits(timeout_s=10.0)
# A correct answer that also forks, allocates and computes: what a neighbour must still do.
NEIGHBOUR = Program(
    "import os\n"
    "def add(a, b):\n"
    "    return a + b\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os._exit(0)\n"
    "os.waitpid(pid, 0)\n"
    "block = bytearray(32 * 1024 * 1024)\n"
    "total = sum(range(2_000_000))\n",
    TESTS,
)
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_ADD_KEY, _KEYCTL = {"x86_64": (248, 250), "aarch64": (217, 219)}.get(os.uname().machine, (0, 0))
KEY_SPEC_SESSION_KEYRING, KEYCTL_READ, KEYCTL_INVALIDATE = -3, 11, 21


@dataclass
class Host:
    """What the code must not reach: a key, files and listening sockets in open folders."""

    key_name: str
    key_payload: bytes
    key_serial: int
    folders: list[Path]
    sockets: list[socket.socket]
    connections: list[str] = field(default_factory=list)

    def read_key(self) -> bytes:
        buffer = ctypes.create_string_buffer(256)
        size = _libc.syscall(_KEYCTL, KEYCTL_READ, ctypes.c_long(self.key_serial), buffer, 256)
        return buffer.raw[: max(size, 0)]

    def listing(self) -> dict[str, set[str]]:
        return {str(folder): set(os.listdir(folder)) for folder in self.folders}


def _serve(server: socket.socket, seen: list[str]) -> None:
    while True:
        try:
            connection, _ = server.accept()
        except OSError:
            return
        seen.append(server.getsockname())
        connection.close()


@pytest.fixture
def host() -> Iterator[Host]:
    if not _KEYCTL:
        pytest.skip(f"no keyctl syscall numbers for {os.uname().machine}")
    tag = uuid.uuid4().hex
    payload = f"cogumi-secret-{tag}".encode()
    serial = _libc.syscall(
        _ADD_KEY, b"user", f"cogumi-{tag}".encode(), payload, len(payload),
        ctypes.c_long(KEY_SPEC_SESSION_KEYRING),
    )  # fmt: skip
    assert serial > 0, os.strerror(ctypes.get_errno())
    folders, sockets = [], []
    for parent in ("/var/tmp", "/dev/shm", "/tmp"):
        folder = Path(parent) / f"cogumi-host-{tag}"
        folder.mkdir()
        folder.chmod(0o777)
        (folder / "keep.txt").write_text("precious")
        (folder / "keep.txt").chmod(0o666)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(folder / "host.sock"))
        os.chmod(folder / "host.sock", 0o777)
        server.listen(8)
        folders.append(folder)
        sockets.append(server)
    state = Host(f"cogumi-{tag}", payload, serial, folders, sockets)
    for server in sockets:
        threading.Thread(target=_serve, args=(server, state.connections), daemon=True).start()
    yield state
    for server in sockets:
        server.close()
    for folder in folders:
        shutil.rmtree(folder)
    _libc.syscall(_KEYCTL, KEYCTL_INVALIDATE, ctypes.c_long(serial))


def attack(
    pool: ExecutionPool, host: Host, code: str, tests: str = TESTS, limits: Limits = LIMITS
) -> ExecutionResult:
    """Run ``code`` beside a correct neighbour; check the neighbour and the host; the result."""
    if pool.size < 2:
        pytest.skip("one core: no neighbour runs at the same time")
    before = host.listing()
    processes = len(worker_descendants(pool))
    result, neighbour = pool.map([Program(code, tests), NEIGHBOUR], limits)
    assert neighbour.outcome is Outcome.PASS, neighbour.detail
    assert host.listing() == before
    assert all((f / "keep.txt").read_text() == "precious" for f in host.folders)
    assert host.connections == []
    assert host.read_key() == host.key_payload
    assert len(worker_descendants(pool)) == processes
    assert host.key_payload.decode() not in result.stdout + result.stderr + result.detail
    return result


# ---- the classes the sandbox already held, now each beside a neighbour ---------------------


@pytest.mark.parametrize(
    ("code", "outcomes"),
    [
        ("while True:\n    pass\n", {Outcome.TIMEOUT}),
        ("import os\nwhile True:\n    os.fork()\n", {Outcome.EXCEPTION, Outcome.TIMEOUT}),
        ("x = bytearray(10**10)\n", {Outcome.MEMORY}),
        ("open('/etc/passwd', 'a').write('x')\n", {Outcome.EXCEPTION}),
        ("import os\nos.kill(-1, 9)\n", {Outcome.KILLED, Outcome.EXCEPTION}),
        ("while True:\n    print('x' * 10000)\n", {Outcome.FILE_SIZE}),
        (
            "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=1)\n",
            {Outcome.EXCEPTION},
        ),
        ("import os\nprint(sorted(os.environ))\n" + WRONG, {Outcome.ASSERTION}),
    ],
    ids=["loop", "fork-bomb", "memory-bomb", "write-system-file", "kill-all", "flood", "network",
         "environment"],
)  # fmt: skip
def test_known_attacks_fail_without_touching_host_or_neighbour(
    pool: ExecutionPool, host: Host, code: str, outcomes: set[Outcome]
) -> None:
    result = attack(pool, host, code, limits=Limits(timeout_s=5.0))
    assert result.outcome in outcomes, result.detail


# ---- fake passes: a wrong function must fail, whatever it does to the harness ------------

FRAME_WALK = WRONG + (
    "import sys, os\n"
    "frame = sys._getframe()\n"
    "while frame is not None:\n"
    "    names = {**frame.f_globals, **frame.f_locals}\n"
    "    for key, value in names.items():\n"
    "        if 'nonce' in key.lower() and callable(value):\n"
    "            try:\n"
    "                nonce = value()\n"
    "            except Exception:\n"
    "                continue\n"
    "            names.get('report', lambda *a, **k: None)(4, 'proof', nonce=nonce)\n"
    "            os._exit(0)\n"
    "    frame = frame.f_back\n"
)
FORGED_PROTOCOL = WRONG + (
    "import os, json, struct\n"
    'os.write(4, b\'{"event": "done"}\\n\')\n'
    "os.write(4, json.dumps({'event': 'proof', 'nonce': '0' * 32}).encode() + b'\\n')\n"
    "body = json.dumps({'ready': True}).encode()\n"
    "os.write(4, struct.pack('>I', len(body)) + body)\n"
    "os._exit(0)\n"
)
SETTRACE_JUMP = WRONG + (
    "import sys\n"
    "def tracer(frame, event, arg):\n"
    "    if frame.f_code.co_filename == '<tests>' and event == 'line':\n"
    "        try:\n"
    "            frame.f_lineno = 1 + frame.f_code.co_firstlineno + 10\n"
    "        except Exception:\n"
    "            pass\n"
    "    return tracer\n"
    "sys.settrace(tracer)\n"
    "sys._getframe().f_trace = tracer\n"
)
ALWAYS_EQUAL = (
    "class Yes:\n"
    "    def __eq__(self, other):\n"
    "        return True\n"
    "    __hash__ = object.__hash__\n"
    "def add(a, b):\n"
    "    return Yes()\n"
)
EQUAL_INT = (
    "class Yes(int):\n"
    "    def __eq__(self, other):\n"
    "        return True\n"
    "    __hash__ = int.__hash__\n"
    "def add(a, b):\n"
    "    return Yes(0)\n"
)
PATCHED_BUILTINS = (
    "import builtins\n"
    "builtins.abs = lambda x: 0\n"
    "abs = lambda x: 0\n"
    "AssertionError = type('Quiet', (Exception,), {})\n"
    "def add(a, b):\n"
    "    return 0\n"
)
READ_TESTS_FROM_MEMORY = (
    "import gc, re\n"
    "answers = {}\n"
    "objects = gc.get_objects()\n"
    "for obj in objects + [c for o in objects for c in getattr(o, 'co_consts', ())]:\n"
    "    if isinstance(obj, str):\n"
    "        for a, b, want in re.findall(r'add\\((-?\\d+), (-?\\d+)\\) == (-?\\d+)', obj):\n"
    "            answers[(int(a), int(b))] = int(want)\n"
    "print('found', len(answers))\n"
    "def add(a, b):\n"
    "    return answers.get((a, b), 0)\n"
)


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (FRAME_WALK, Outcome.ASSERTION),
        (SETTRACE_JUMP, Outcome.ASSERTION),
        (ALWAYS_EQUAL, Outcome.NOT_DATA),
        (EQUAL_INT, Outcome.NOT_DATA),
        (READ_TESTS_FROM_MEMORY, Outcome.ASSERTION),
    ],
    ids=["frame-walk", "settrace-jump", "always-equal", "equal-int-subclass", "tests-from-memory"],
)
def test_a_wrong_function_cannot_fake_a_pass(
    pool: ExecutionPool, host: Host, code: str, outcome: Outcome
) -> None:
    result = attack(pool, host, code)
    assert result.outcome is outcome, result.detail


def test_forging_the_protocol_on_inherited_descriptors_is_not_a_pass(
    pool: ExecutionPool, host: Host
) -> None:
    result = attack(pool, host, FORGED_PROTOCOL)
    assert result.outcome in {Outcome.NOT_DATA, Outcome.EXIT}, result.detail


def test_builtins_the_tests_use_are_the_checkers_own(pool: ExecutionPool, host: Host) -> None:
    tests = "assert abs(add(2, 3) - 5) < 1e-9\n"
    result = attack(pool, host, PATCHED_BUILTINS, tests)
    assert result.outcome is Outcome.ASSERTION
    assert "tests line 1: assert abs(add(2, 3) - 5) < 1e-9" in result.detail


def test_the_code_never_holds_the_tests(pool: ExecutionPool, host: Host) -> None:
    if "fresh interpreter" not in pool.isolation.checker:
        pytest.skip(f"the code is forked here ({pool.isolation.checker})")
    marker = f"assert add(123, {uuid.uuid4().int % 1000}) == 7\n"
    pool.run(Program(WRONG, marker), LIMITS)  # an earlier request, on either worker
    result = attack(pool, host, READ_TESTS_FROM_MEMORY, TESTS + marker)
    assert (result.outcome, result.stdout) == (Outcome.ASSERTION, "found 0\n")


# ---- secrets, host reachability, privilege, identity -------------------------------------

STEAL_KEY = (
    "import ctypes, os\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "libc.syscall.restype = ctypes.c_long\n"
    "for ring in (-3, -4, -5):\n"  # session, user, user-session keyrings
    "    serial = libc.syscall({keyctl}, 10, ctypes.c_long(ring), b'user', b'{name}', 0)\n"
    "    if serial > 0:\n"
    "        buf = ctypes.create_string_buffer(256)\n"
    "        n = libc.syscall({keyctl}, 11, ctypes.c_long(serial), buf, 256)\n"
    "        print(buf.raw[:max(n, 0)])\n"
    "for serial in range({serial} - 50, {serial} + 50):\n"
    "    buf = ctypes.create_string_buffer(256)\n"
    "    n = libc.syscall({keyctl}, 11, ctypes.c_long(serial), buf, 256)\n"
    "    if n > 0:\n"
    "        print(buf.raw[:n])\n"
    "    libc.syscall({keyctl}, 21, ctypes.c_long(serial))\n"  # and try to invalidate it
    "def add(a, b):\n"
    "    return a + b\n"
)


def test_the_hosts_session_keyring_is_out_of_reach(pool: ExecutionPool, host: Host) -> None:
    code = STEAL_KEY.format(keyctl=_KEYCTL, name=host.key_name, serial=host.key_serial)
    result = attack(pool, host, code)  # asserts the payload appears nowhere and the key is intact
    assert result.outcome is Outcome.PASS, result.detail
    assert pool.isolation.keyring == "fresh session keyring"


def test_pathname_sockets_and_files_in_open_folders_are_unreachable(
    pool: ExecutionPool, host: Host
) -> None:
    paths = [str(folder / name) for folder in host.folders for name in ("host.sock", "keep.txt")]
    code = (
        "import socket\n"
        f"for path in {paths!r}:\n"
        "    try:\n"
        "        if path.endswith('.sock'):\n"
        "            s = socket.socket(socket.AF_UNIX)\n"
        "            s.connect(path)\n"
        "        else:\n"
        "            open(path, 'w').write('gone')\n"
        "        print('reached', path)\n"
        "    except OSError as exc:\n"
        "        print(type(exc).__name__)\n"
        "import os\n"
        "def listable(path):\n"
        "    try:\n"
        "        return bool(os.listdir(path))\n"
        "    except OSError:\n"
        "        return False\n"
        "places = ('/var/tmp', '/run', '/proc', '/sys', '/home', '/root')\n"
        "print(sorted(p for p in places if listable(p)))\n"
    ) + WRONG.replace("0", "a + b")
    result = attack(pool, host, code)
    assert result.outcome is Outcome.PASS, result.detail
    assert "reached" not in result.stdout
    if "jail" in pool.isolation.filesystem:
        assert result.stdout.splitlines()[-1] == "[]"


def test_the_code_holds_no_capability(pool: ExecutionPool, host: Host) -> None:
    code = (
        "import ctypes, struct\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "header = ctypes.create_string_buffer(struct.pack('=Ii', 0x20080522, 0))\n"
        "data = ctypes.create_string_buffer(24)\n"
        "assert libc.capget(header, data) == 0\n"
        "e0, p0, i0, e1, p1, i1 = struct.unpack('=6I', data.raw)\n"
        "bounding = [c for c in range(64) if libc.prctl(23, c, 0, 0, 0) == 1]\n"
        "ambient = [c for c in range(64) if libc.prctl(47, 2, c, 0, 0) == 1]\n"
        "print(e0 | e1 << 32, p0 | p1 << 32, i0 | i1 << 32, bounding, ambient)\n"
        "def add(a, b):\n"
        "    return a + b\n"
    )
    result = attack(pool, host, code)
    assert (result.outcome, result.stdout) == (Outcome.PASS, "0 0 0 [] []\n")
    assert pool.isolation.capabilities == "none"


def test_every_execution_has_an_identity_of_its_own(pool: ExecutionPool) -> None:
    if not pool.isolation.uid_per_execution:
        pytest.skip("not root: every execution runs as our own uid")
    probe = Program("import os\nprint(os.getuid(), os.getgid())\n", "")
    uids = [tuple(r.stdout.split()) for r in pool.map([probe] * 4, LIMITS)]
    assert len(set(uids)) == 4
    assert all(int(uid) >= pool.isolation.uid and uid == gid for uid, gid in uids)


# ---- supervision and the harness: any answer is a failure of that sample only --------------

DAEMON = (
    "import os, time\n"
    "if os.fork() == 0:\n"
    "    os.setsid()\n"
    "    if os.fork() == 0:\n"
    "        time.sleep(60)\n"
    "    os._exit(0)\n"
)


@pytest.mark.parametrize(
    "garbage",
    [
        "os.write(4, struct.pack('>I', 50) + b'[' * 50)",
        "os.write(4, struct.pack('>I', 200000) + b'[' * 200000)",
        "os.write(4, struct.pack('>I', 2**31) + b'{}')",
        "os.write(4, struct.pack('>I', 4) + b'\\xff\\xfe\\x00\\x01')",
        "os.write(4, struct.pack('>I', 31) + b'{\"fail\": \"sandbox_error\"}' + b' ' * 6)",
        "os.write(4, struct.pack('>I', 14) + b'{\"ready\": true}')",
    ],
    ids=["truncated", "deep-json", "huge-size", "not-utf8", "claims-sandbox-error", "early-ready"],
)
def test_garbage_on_the_channel_is_a_failure_and_leaves_nothing_running(
    pool: ExecutionPool, host: Host, garbage: str
) -> None:
    code = DAEMON + f"import struct\n{garbage}\n" + WRONG + "time.sleep(30)\n"
    result = attack(pool, host, code)  # asserts that the daemon did not outlive the verdict
    assert result.outcome in {Outcome.NOT_DATA, Outcome.EXCEPTION, Outcome.ASSERTION}
    assert result.outcome is not Outcome.SANDBOX_ERROR


def test_closing_the_channel_is_a_failure_not_a_harness_error(
    pool: ExecutionPool, host: Host
) -> None:
    code = "import os\nos.close(3)\nos.close(4)\n" + DAEMON + WRONG + "time.sleep(30)\n"
    result = attack(pool, host, code)
    assert (result.outcome, result.detail) == (
        Outcome.NOT_DATA,
        "the code closed its answer channel",
    )


def test_leftovers_never_reach_the_next_execution_on_the_worker() -> None:
    deep = (
        "import os\n"
        "for _ in range(3000):\n"
        "    os.mkdir('d')\n"
        "    os.chdir('d')\n"
        "open('fill', 'wb').write(b'x' * (12 << 20))\n"
    )
    after = Program(
        "import os, shutil\n"
        "print(os.listdir('.'), shutil.disk_usage('.').used < (1 << 20))\n"
        "def add(a, b):\n"
        "    return a + b\n",
        TESTS,
    )
    with ExecutionPool(workers=1, scratch_mb=8) as single:
        filled = single.run(Program(deep + WRONG, TESTS), LIMITS)
        nxt = single.run(after, LIMITS)
    assert filled.outcome in {Outcome.EXCEPTION, Outcome.FILE_SIZE}, filled.detail
    if "jail" in single.isolation.filesystem:
        assert filled.detail.startswith("OSError: [Errno 28] No space left on device")
    assert (nxt.outcome, nxt.stdout) == (Outcome.PASS, "[] True\n")


# ---- neighbours: limits are per execution, whatever the code starts ----------------------


def test_a_fork_storm_does_not_break_a_neighbour(pool: ExecutionPool, host: Host) -> None:
    storm = (
        "import os, time\n"
        "for _ in range(300):\n"
        "    try:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(30)\n"
        "            os._exit(0)\n"
        "    except OSError:\n"
        "        time.sleep(0.001)\n"
    )
    result = attack(pool, host, storm + WRONG)
    assert result.outcome is Outcome.ASSERTION


def test_setsid_children_share_one_executions_cpu(pool: ExecutionPool, host: Host) -> None:
    if pool.size < 2:
        pytest.skip("one core: no neighbour runs at the same time")
    spinners = (
        "import os\n"
        "for _ in range(16):\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        while True:\n"
        "            pass\n"
        "while True:\n"
        "    pass\n"
    )
    # ~0.4 s of CPU: with its fair share it ends well inside 10 s; starved 26x it would not
    busy = Program(
        "def add(a, b):\n    return a + b\ntotal = sum(i * i for i in range(4_000_000))\n", TESTS
    )
    result, neighbour = pool.map([Program(spinners, TESTS), busy], Limits(timeout_s=10.0))
    assert result.outcome is Outcome.TIMEOUT
    assert neighbour.outcome is Outcome.PASS, neighbour.detail


def test_children_and_shared_memory_count_against_one_memory_limit(
    pool: ExecutionPool, host: Host
) -> None:
    if pool.isolation.cgroup == "none":
        pytest.skip("no cgroup here: memory is limited per process only")
    hog = (
        "import os, mmap, time\n"
        "memfds = [os.memfd_create(f'hog{i}') for i in range(8)]\n"
        "for fd in memfds:\n"
        "    os.write(fd, b'x' * (15 << 20))\n"  # under the file-size limit, each
        "shared = mmap.mmap(-1, 150 << 20)\n"
        "shared.write(b'x' * (150 << 20))\n"
        "kids = []\n"
        "for _ in range(4):\n"
        "    r, w = os.pipe()\n"
        "    if os.fork() == 0:\n"
        "        block = bytearray(150 << 20)\n"
        "        os.write(w, b'1')\n"
        "        time.sleep(3)\n"
        "        os._exit(0)\n"
        "    kids.append(r)\n"
        "held = sum(len(os.read(r, 1)) for r in kids)\n"
        "print('held all' if held == 4 else f'held {held}')\n"
        "raise SystemExit(0)\n"
    )
    result, neighbour = pool.map(
        [Program(hog + WRONG, TESTS), NEIGHBOUR], Limits(timeout_s=20.0, memory_mb=512)
    )
    assert neighbour.outcome is Outcome.PASS, neighbour.detail
    assert result.outcome is Outcome.MEMORY, result.detail
    assert "held all" not in result.stdout
