"""Safe execution of model-written code.

>>> from cogumi_eval.sandbox import ExecutionPool, Program, Limits
>>> with ExecutionPool() as pool:
...     result = pool.run(Program("def f(x):\\n    return x + 1\\n", tests="assert f(1) == 2\\n"))
>>> result.outcome, result.detail
(<Outcome.PASS: 'pass'>, 'all tests ran to completion')

Locally, every execution is a fresh process forked from a small pre-started
worker, with rlimits (CPU, address space, file size, processes), a wall-clock
timeout that kills the whole process tree, a fresh temporary directory, an
allow-listed environment, and, where the host allows, no network (network
namespace), no view of other processes (PID namespace), an unprivileged uid and
Landlock (writes only in its directory, no TCP, no signals out). ``Isolation``
records which layers were in force. ``-T sandbox=docker`` uses Inspect's docker
sandbox instead.
"""

from ._docker import (
    DOCKER_IMAGE,
    SandboxUnavailableError,
    docker_compose,
    docker_problem,
    require_docker,
    run_in_sandbox,
)
from ._environment import ALLOWED_VARIABLES, scrub_environment
from ._limits import Limits
from ._pool import ExecutionPool, SandboxError, available_cores, default_pool
from ._program import Program
from ._result import ExecutionResult, Isolation, Outcome

__all__ = [
    "ALLOWED_VARIABLES",
    "DOCKER_IMAGE",
    "ExecutionPool",
    "ExecutionResult",
    "Isolation",
    "Limits",
    "Outcome",
    "Program",
    "SandboxError",
    "SandboxUnavailableError",
    "available_cores",
    "default_pool",
    "docker_compose",
    "docker_problem",
    "require_docker",
    "run_in_sandbox",
    "scrub_environment",
]
