"""The docker path: refused with the fix when no engine runs; the in-sandbox protocol is real."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from inspect_ai.util._sandbox.local import LocalSandboxEnvironment

from cogumi_eval.sandbox import (
    Limits,
    Outcome,
    Program,
    SandboxUnavailableError,
    docker_compose,
    require_docker,
    run_in_sandbox,
)
from cogumi_eval.tasks import humaneval

FUNCTION = "def add(a, b):\n    return a + b\n"
TESTS = "assert add(2, 3) == 5\n"


def test_missing_docker_command_is_refused_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cogumi_eval.sandbox._docker.shutil.which", lambda name: None)
    with pytest.raises(SandboxUnavailableError) as raised:
        require_docker()
    message = str(raised.value)
    assert "the `docker` command is not installed" in message
    assert "docs.docker.com/engine/install" in message and "drop -T sandbox=docker" in message


def test_unreachable_docker_engine_is_refused_with_its_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    daemon_down = (
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
        "Is the docker daemon running?"
    )
    monkeypatch.setattr("cogumi_eval.sandbox._docker.shutil.which", lambda name: "/usr/bin/docker")
    monkeypatch.setattr(
        "cogumi_eval.sandbox._docker.subprocess.run",
        lambda *a, **k: subprocess.CompletedProcess(a, 1, stdout="", stderr=daemon_down),
    )
    with pytest.raises(SandboxUnavailableError, match="Is the docker daemon running") as raised:
        require_docker()
    assert "sudo systemctl start docker" in str(raised.value)


def test_humaneval_with_docker_unavailable_fails_before_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("cogumi_eval.sandbox._docker.shutil.which", lambda name: None)
    with pytest.raises(
        SandboxUnavailableError, match="sandbox=docker needs a running Docker engine"
    ):
        humaneval(sandbox="docker")


def test_compose_config_has_no_network_and_no_capabilities() -> None:
    service = docker_compose(Limits(memory_mb=512, max_processes=32)).services["default"]
    assert (service.network_mode, service.cap_drop, service.pids_limit, service.mem_limit) == (
        "none",
        ["ALL"],
        48,
        "1024m",
    )


@pytest.fixture
def local_env() -> Iterator[LocalSandboxEnvironment]:
    """Inspect's local sandbox stands in for docker: the same exec/write_file calls, here."""
    env = LocalSandboxEnvironment()
    yield env
    env.directory.cleanup()


async def _run(env: LocalSandboxEnvironment, code: str, tests: str = TESTS):  # type: ignore[no-untyped-def]
    return await run_in_sandbox(
        env, Program(code, tests), Limits(timeout_s=5.0), user=None, python=sys.executable
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (FUNCTION, Outcome.PASS),
        ("def add(a, b):\n    return 0\n", Outcome.ASSERTION),
        (FUNCTION + "import sys\nsys.exit(0)\n", Outcome.EXIT),
        (FUNCTION + "import os\nos._exit(0)\n", Outcome.EXIT),
        (
            FUNCTION + "input()\n",
            Outcome.EXCEPTION,
        ),  # stdin is closed: the nonce cannot be read by the code
        ("def add(a, b)\n", Outcome.SYNTAX),
        ("def add(a, b):\n    return '\udc80'\n", Outcome.ENCODING),
    ],
    ids=["pass", "assertion", "sys.exit", "os._exit", "input", "syntax", "encoding"],
)
async def test_runner_script_mode_proves_completion(
    local_env: LocalSandboxEnvironment, code: str, outcome: Outcome
) -> None:
    result = await _run(local_env, code)
    assert result.outcome is outcome, result.detail
    assert result.isolation.backend == "docker"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
