"""Safe execution of model-written code.

>>> from cogumi_eval.sandbox import ExecutionPool, Program, Limits
>>> with ExecutionPool() as pool:
...     result = pool.run(Program("def f(x):\\n    return x + 1\\n", tests="assert f(1) == 2\\n"))
>>> result.outcome, result.detail
(<Outcome.PASS: 'pass'>, 'all tests ran to completion')

Locally, the tests run in a checker process and the code in a fresh, confined
interpreter of its own; the tests reach the code's functions only through a
proxy whose calls carry plain data both ways, so a pass is decided outside the
code under test. Each execution gets a chroot of read-only system and Python
directories with a fresh tmpfs, a control group (memory, processes, CPU) where
the host allows, uids of its own, a fresh session keyring, no capabilities,
Landlock, rlimits, a wall-clock deadline that kills the whole tree, and (where
the host allows) no network and no view of other processes. ``Isolation``
records which layers were in force. ``-T sandbox=docker`` uses Inspect's docker
sandbox instead (tests in the code's process there, with a nonce proof).
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
