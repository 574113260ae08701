"""Hostile code: each attempt is scored a failure with its reason, the harness runs on, the host
is untouched."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cogumi_eval.sandbox import ExecutionPool, Limits, Outcome, Program

FUNCTION = "def add(a, b):\n    return a + b\n"
TESTS = "assert add(2, 3) == 5\n"
# Generous: under a loaded machine, fork + namespace set-up alone can take a second.
QUICK = Limits(timeout_s=10.0)
# Landlock refuses with EACCES, a read-only mount with EROFS.
REFUSED = ("PermissionError: [Errno 13]", "OSError: [Errno 30] Read-only file system")


def worker_descendants(pool: ExecutionPool) -> list[int]:
    """Processes below the pool's workers, beyond each worker's launcher -> worker pair."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(b")", 1)[1].split()[1])
    found: list[int] = []
    frontier = [w.process.pid for w in pool._workers]
    while frontier:
        current = frontier.pop()
        kids = [pid for pid, ppid in parents.items() if ppid == current]
        found += kids
        frontier += kids
    return found


def still_works(pool: ExecutionPool) -> bool:
    return pool.run(Program(FUNCTION, TESTS), QUICK).outcome is Outcome.PASS


def test_infinite_loop_times_out_and_is_killed(pool: ExecutionPool) -> None:
    result = pool.run(Program("while True:\n    pass\n", TESTS), Limits(timeout_s=1.0))
    assert result.outcome is Outcome.TIMEOUT
    assert result.detail == "wall-clock limit of 1 s reached; the process tree was killed"
    assert still_works(pool)


@pytest.mark.parametrize(
    "bomb",
    [
        "import os\nwhile True:\n    os.fork()\n",
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        "import os\nwhile True:\n    if os.fork() == 0:\n        os.setsid()\n",
    ],
    ids=["plain", "persistent", "escaping-session"],
)
def test_fork_bomb_fails_and_leaves_no_process_behind(pool: ExecutionPool, bomb: str) -> None:
    before = len(worker_descendants(pool))
    result = pool.run(Program(bomb, TESTS), QUICK)
    assert result.outcome in {Outcome.EXCEPTION, Outcome.TIMEOUT}
    if result.outcome is Outcome.EXCEPTION:
        assert "Resource temporarily unavailable" in result.detail  # RLIMIT_NPROC
    assert len(worker_descendants(pool)) == before
    assert still_works(pool)


@pytest.mark.parametrize(
    "bomb",
    ["x = ' ' * 10**12\n", "chunks = []\nwhile True:\n    chunks.append(bytearray(10**7))\n"],
    ids=["at-once", "growing"],
)
def test_memory_bomb_is_a_memory_failure(pool: ExecutionPool, bomb: str) -> None:
    result = pool.run(Program(bomb, TESTS), Limits(timeout_s=10.0, memory_mb=512))
    assert result.outcome is Outcome.MEMORY
    assert result.detail.startswith("MemoryError")


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A world-writable directory on the host, outside /tmp (which the worker's own tmpfs hides)."""
    path = Path("/var/tmp") / f"cogumi-test-{uuid.uuid4().hex}"
    path.mkdir()
    path.chmod(0o777)  # only the sandbox, not file permissions, may stop the code
    yield path
    shutil.rmtree(path)


@pytest.mark.parametrize("where", ["open-dir", "host-tmp", "home"])
def test_write_outside_the_temporary_directory_is_refused(
    pool: ExecutionPool, open_dir: Path, tmp_path: Path, where: str
) -> None:
    target = {"open-dir": open_dir, "host-tmp": tmp_path, "home": Path.home()}[where] / "escape.txt"
    result = pool.run(Program(f"open({str(target)!r}, 'w').write('x')\n", TESTS), QUICK)
    assert result.outcome is Outcome.EXCEPTION
    assert result.detail.startswith(REFUSED + ("FileNotFoundError",)), result.detail
    assert not target.exists()


@pytest.mark.parametrize(
    ("layers", "layer", "error"),
    [
        ({"namespaces": False}, "landlock", "PermissionError: [Errno 13]"),
        (
            {"landlock": False, "jail": False},
            "read-only mounts",
            "OSError: [Errno 30] Read-only file system",
        ),
        ({"landlock": False}, "jail", "FileNotFoundError: [Errno 2]"),
    ],
    ids=["landlock-alone", "read-only-mounts-alone", "jail-alone"],
)
def test_each_file_layer_alone_refuses_a_write_that_permissions_allow(
    open_dir: Path, layers: dict[str, bool], layer: str, error: str
) -> None:
    with ExecutionPool(workers=1, **layers) as single:
        if single.isolation.filesystem != layer:
            pytest.skip(f"{layer} is not available on this host ({single.isolation.filesystem})")
        result = single.run(Program(f"open({str(open_dir / 'x')!r}, 'w')\n", TESTS), QUICK)
    assert result.detail.startswith(error), result.detail
    assert not (open_dir / "x").exists()


def test_deleting_a_file_outside_is_refused(pool: ExecutionPool, open_dir: Path) -> None:
    victim = open_dir / "keep.txt"
    victim.write_text("precious")
    victim.chmod(0o666)
    result = pool.run(Program(f"import os\nos.remove({str(victim)!r})\n", TESTS), QUICK)
    # Refused, or (in the jail) not there to be named at all.
    assert result.outcome is Outcome.EXCEPTION
    assert result.detail.startswith(REFUSED + ("FileNotFoundError",)), result.detail
    assert victim.read_text() == "precious"


def test_api_key_in_the_callers_environment_is_not_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = "sk-cogumi-test-" + uuid.uuid4().hex
    monkeypatch.setenv("OPENAI_API_KEY", fake)
    monkeypatch.setenv("HF_TOKEN", fake)
    steal = (
        "import os, glob\n"
        "print(dict(os.environ))\n"
        "for path in glob.glob('/proc/*/environ'):\n"
        "    try:\n"
        "        print(open(path, 'rb').read())\n"
        "    except OSError:\n"
        "        pass\n"
        "key = os.environ['OPENAI_API_KEY']\n"
    )
    with ExecutionPool(workers=1) as fresh:  # started after the key was set
        result = fresh.run(Program(steal, TESTS), QUICK)
    assert result.outcome is Outcome.EXCEPTION
    assert result.detail.startswith("KeyError: 'OPENAI_API_KEY'")
    assert fake not in result.stdout + result.stderr + result.detail


def test_environment_holds_only_allow_listed_names(pool: ExecutionPool) -> None:
    result = pool.run(Program("import os\nprint(sorted(os.environ))\n", ""), QUICK)
    names = set(eval(result.stdout))  # noqa: S307 - our own program's printed list
    threads = {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"}
    assert names <= {"PATH", "LANG", "HOME", "TMPDIR", *threads} | {
        n for n in names if n.startswith("LC_")
    }
    assert {"HOME", "TMPDIR"} <= names


@pytest.mark.parametrize(
    "attack",
    [
        "import os\nos.kill(os.getppid(), 9)\n",
        "import os, signal\nos.killpg(os.getpgid(os.getppid()), 9)\n",
    ],
    ids=["kill-parent", "kill-parent-group"],
)
def test_killing_the_parent_fails_and_the_harness_survives(
    pool: ExecutionPool, attack: str
) -> None:
    workers = [w.process.pid for w in pool._workers]
    result = pool.run(Program(attack, TESTS), QUICK)
    # Refused (Landlock scopes signals), or - the parent's group being invisible from
    # inside the PID namespace - aimed at its own group, killing only itself.
    assert (result.outcome, result.detail[:15]) in {
        (Outcome.EXCEPTION, "PermissionError"),
        (Outcome.KILLED, "killed by SIGKI"),
    }
    assert [w.process.pid for w in pool._workers] == workers  # no worker had to be replaced
    assert still_works(pool)


def test_kill_everything_reaches_nothing_outside(pool: ExecutionPool) -> None:
    workers = [w.process.pid for w in pool._workers]
    pool.run(Program("import os\nos.kill(-1, 9)\n", TESTS), QUICK)
    assert [w.process.pid for w in pool._workers] == workers
    assert still_works(pool)


def test_stdout_flood_is_stopped_and_capture_is_bounded(pool: ExecutionPool) -> None:
    limits = Limits(timeout_s=5.0, output_bytes=1000)
    result = pool.run(Program("while True:\n    print('x' * 10000)\n", TESTS), limits)
    assert result.outcome is Outcome.FILE_SIZE
    assert len(result.stdout) == 1000 and result.output_truncated


def test_network_is_unreachable(pool: ExecutionPool) -> None:
    if not pool.isolation.network:
        pytest.skip(f"no network isolation on this host ({pool.isolation.network_method})")
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(1)
    port = server.getsockname()[1]
    accepted: list[object] = []
    listener = threading.Thread(target=lambda: accepted.append(_accept(server)), daemon=True)
    listener.start()
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
    result = pool.run(Program(code, TESTS), QUICK)
    listener.join(timeout=5)
    server.close()
    assert result.outcome is Outcome.EXCEPTION
    assert accepted == [None]


def _accept(server: socket.socket) -> object:
    try:
        return server.accept()
    except OSError:
        return None


def test_each_execution_gets_a_fresh_directory_removed_afterwards(pool: ExecutionPool) -> None:
    first = pool.run(
        Program("import os\nopen('marker', 'w').write('x')\nprint(os.getcwd())\n", ""), QUICK
    )
    first_dir = first.stdout.strip()
    probe = f"import os\nprint(os.getcwd())\nprint(os.path.exists({first_dir!r}))\n"
    second = pool.run(Program(probe, ""), QUICK)
    second_dir, first_still_there = second.stdout.split()
    assert first_dir.startswith("/") and first_dir != second_dir
    assert first_still_there == "False"


def test_output_printed_before_a_failure_is_kept(pool: ExecutionPool) -> None:
    result = pool.run(Program("print('before')\nraise ValueError('boom')\n", ""), QUICK)
    assert (result.outcome, result.stdout) == (Outcome.EXCEPTION, "before\n")


def test_worker_killed_from_outside_is_replaced(pool: ExecutionPool) -> None:
    with ExecutionPool(workers=1) as single:
        os.killpg(single._workers[0].process.pid, 9)
        result = single.run(Program(FUNCTION, TESTS), QUICK)
        assert result.outcome is Outcome.KILLED
        assert still_works(single)


def test_executions_run_in_parallel_across_workers(pool: ExecutionPool) -> None:
    if pool.size < 2:
        pytest.skip("one core: nothing runs in parallel")
    timed = "import time\nstart = time.time()\ntime.sleep(0.5)\nprint(start, time.time())\n"
    results = pool.map([Program(timed, "")] * 2, QUICK)
    (start_a, end_a), (start_b, end_b) = (map(float, r.stdout.split()) for r in results)
    assert start_a < end_b and start_b < end_a  # the two intervals overlap
