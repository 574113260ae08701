"""Isolation layers are recorded, fall back gracefully, and the environment is allow-listed."""

from __future__ import annotations

import os

import pytest

from cogumi_eval.sandbox import (
    ExecutionPool,
    Limits,
    Outcome,
    Program,
    available_cores,
    scrub_environment,
)

PROGRAM = Program("def add(a, b):\n    return a + b\n", "assert add(2, 3) == 5\n")


def test_default_pool_has_one_worker_per_usable_core(pool: ExecutionPool) -> None:
    assert pool.size == available_cores() == len(os.sched_getaffinity(0))


def test_pool_records_the_layers_in_force(pool: ExecutionPool) -> None:
    isolation = pool.run(PROGRAM).isolation
    assert isolation == pool.isolation
    assert isolation.backend == "local" and isolation.uid != 0
    if isolation.network:
        assert isolation.network_method == "network namespace"


def test_without_namespaces_network_falls_back_to_landlock_and_says_so() -> None:
    with ExecutionPool(workers=1, namespaces=False) as pool:
        result = pool.run(PROGRAM)
    assert result.outcome is Outcome.PASS
    assert (result.isolation.network, result.isolation.pid_namespace) == (False, False)
    expected = "landlock (tcp only)" if result.isolation.landlock_abi >= 4 else "none"
    assert result.isolation.network_method == expected


def test_without_any_optional_layer_code_still_runs_with_rlimits_and_says_so() -> None:
    with ExecutionPool(workers=1, namespaces=False, landlock=False) as pool:
        passed = pool.run(PROGRAM)
        looping = pool.run(Program("while True:\n    pass\n", ""), Limits(timeout_s=1.0))
        bomb = pool.run(Program("x = bytearray(10**10)\n", ""))
    assert passed.outcome is Outcome.PASS
    assert (passed.isolation.filesystem, passed.isolation.network_method) == ("none", "none")
    assert looping.outcome is Outcome.TIMEOUT and bomb.outcome is Outcome.MEMORY


def test_scrub_keeps_only_allow_listed_names() -> None:
    environ = {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": "/root",
        "OPENAI_API_KEY": "sk-1",
        "ANTHROPIC_API_KEY": "sk-2",
        "HF_TOKEN": "hf_3",
        "AWS_SECRET_ACCESS_KEY": "4",
        "DB_PASSWORD": "5",
        "GITHUB_TOKEN": "6",
        "PYTHONPATH": "/evil",
        "LD_PRELOAD": "/evil.so",
        "LC_TOKEN": "7",
    }
    assert scrub_environment(environ) == {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }


def test_closed_pool_refuses_work() -> None:
    pool = ExecutionPool(workers=1)
    pool.close()
    with pytest.raises(Exception, match="closed"):
        pool.run(PROGRAM)
