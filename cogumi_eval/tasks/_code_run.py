"""Where a HumanEval program runs: Cogumi's local process sandbox, or Inspect's docker sandbox."""

from __future__ import annotations

from typing import Any

from inspect_ai.util import sandbox as inspect_sandbox

from ..sandbox import (
    ExecutionResult,
    Limits,
    Program,
    default_pool,
    docker_compose,
    require_docker,
    run_in_sandbox,
)

SANDBOXES = ("local", "docker")


def check_sandbox(name: str) -> str:
    """Validate ``-T sandbox=``; for docker, fail now (not mid-run) when no engine answers."""
    if name not in SANDBOXES:
        raise ValueError(f"sandbox={name!r} is not one of {', '.join(SANDBOXES)}")
    if name == "docker":
        require_docker()
    return name


def task_sandbox(name: str, limits: Limits) -> Any:
    """The ``Task(sandbox=...)`` value: docker with Cogumi's compose config, or none."""
    return ("docker", docker_compose(limits)) if name == "docker" else None


async def run_program(program: Program, limits: Limits, sandbox: str) -> ExecutionResult:
    """Run ``program`` where ``sandbox`` says; never raises for anything the program does."""
    if sandbox == "docker":
        return await run_in_sandbox(inspect_sandbox(), program, limits)
    return await default_pool().run_async(program, limits)
