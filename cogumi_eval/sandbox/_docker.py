"""Inspect's docker sandbox, used when the user asks for it (``-T sandbox=docker``).

The container has no network (``network_mode: none``), no capabilities, a
process and memory cap; inside it ``_runner`` (script mode) applies the rlimits
and the nonce proof. The tests run in the code's own process there, so the
checker guarantees of the local sandbox (``Isolation.checker``) do not hold.
"""

from __future__ import annotations

import json
import math
import secrets
import shutil
import subprocess
from pathlib import Path

from inspect_ai._util.error import PrerequisiteError
from inspect_ai.util import ComposeConfig, SandboxEnvironment
from inspect_ai.util._sandbox.compose import ComposeService

from .._errors import CogumiError
from ._limits import Limits
from ._program import EncodingProblem, Program, program_text
from ._result import ExecutionResult, Isolation, Outcome
from ._verdict import verdict

DOCKER_IMAGE = "python:3.11-slim"
RUNNER_SOURCE = Path(__file__).with_name("_runner.py").read_text(encoding="utf-8")
DOCKER_ISOLATION = Isolation(
    backend="docker",
    network=True,
    network_method="docker network_mode none",
    pid_namespace=True,
    filesystem="container",
    uid=65534,
    process_limit=True,
    checker="same process (nonce proof)",
    cgroup="docker: memory, pids, cpu (per container)",
    keyring="blocked (docker seccomp)",
    capabilities="none",
)


class SandboxUnavailableError(CogumiError, PrerequisiteError):
    """The sandbox the user asked for cannot run on this machine.

    Also an Inspect ``PrerequisiteError``, so ``inspect eval`` prints just the message.
    """

    def __init__(self, message: str) -> None:
        CogumiError.__init__(self, message)
        self.message = message


def docker_problem() -> str | None:
    """Why docker cannot be used here, or None when a Docker engine answers."""
    if shutil.which("docker") is None:
        return "the `docker` command is not installed"
    try:
        probe = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as ex:
        return f"`docker version` did not answer ({type(ex).__name__})"
    if probe.returncode != 0 or not probe.stdout.strip():
        reason = (probe.stderr or probe.stdout).strip().splitlines()
        last = reason[-1].rstrip(" .") if reason else "no output"
        return f"`docker version` could not reach a Docker engine ({last})"
    return None


def require_docker() -> None:
    """Raise ``SandboxUnavailableError`` naming the fix when docker cannot run the tests."""
    problem = docker_problem()
    if problem is not None:
        raise SandboxUnavailableError(
            f"-T sandbox=docker needs a running Docker engine, but {problem}. "
            "Install Docker (https://docs.docker.com/engine/install/) and start it "
            "(Docker Desktop, or `sudo systemctl start docker`), check with `docker info`, "
            "or drop -T sandbox=docker to use Cogumi's local process sandbox."
        )


def docker_compose(limits: Limits) -> ComposeConfig:
    """One container per sample: no network, no capabilities, capped processes and memory."""
    return ComposeConfig(
        services={
            "default": ComposeService(
                image=DOCKER_IMAGE,
                command="tail -f /dev/null",
                init=True,
                network_mode="none",
                working_dir="/tmp",
                mem_limit=f"{2 * limits.memory_mb}m",
                pids_limit=limits.max_processes + 16,
                cpus=1.0,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
            )
        }
    )


async def run_in_sandbox(
    env: SandboxEnvironment,
    program: Program,
    limits: Limits,
    *,
    user: str | None = "nobody",
    python: str = "python3",
) -> ExecutionResult:
    """Run ``program`` in an Inspect sandbox environment (docker in practice).

    Args:
        env: the sample's sandbox (``inspect_ai.util.sandbox()``).
        program: code and tests.
        limits: applied by the runner inside the sandbox; the timeout by Inspect.
        user: the user the runner executes as.
        python: the interpreter inside the sandbox.
    """
    try:
        code = program_text(program.code)
    except EncodingProblem as problem:
        return ExecutionResult(Outcome.ENCODING, str(problem), isolation=DOCKER_ISOLATION)
    nonce = secrets.token_hex(16)
    base = f".cogumi-{secrets.token_hex(6)}"  # in the sample's working directory, removed with it
    await env.write_file(f"{base}/runner.py", RUNNER_SOURCE)
    await env.write_file(f"{base}/code.py", code)
    await env.write_file(f"{base}/tests.py", program.tests)
    command = [
        python,
        "-s",
        f"{base}/runner.py",
        f"{base}/code.py",
        f"{base}/tests.py",
        json.dumps(limits.as_dict()),
    ]
    try:
        result = await env.exec(
            command,
            input=nonce + "\n",
            timeout=math.ceil(limits.timeout_s),
            timeout_retry=False,
            user=user,
        )
    except TimeoutError:
        return ExecutionResult(
            Outcome.TIMEOUT,
            f"wall-clock limit of {limits.timeout_s:g} s reached",
            isolation=DOCKER_ISOLATION,
        )
    events = []
    for line in result.stdout.splitlines()[-20:]:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    # As a wait status: docker reports 128 + signal for a killed process, Python -signal.
    returned = result.returncode
    status = -returned if returned < 0 else (returned - 128) if returned > 128 else returned << 8
    outcome, detail = verdict(events, nonce, False, status, limits.as_dict())
    stderr = result.stderr
    return ExecutionResult(
        Outcome(outcome),
        detail,
        stdout=stderr[: limits.output_bytes],
        output_truncated=len(stderr) > limits.output_bytes,
        isolation=DOCKER_ISOLATION,
    )
