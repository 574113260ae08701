"""A sandbox pool shared by the sandbox tests (one worker per core, started once)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cogumi_eval.sandbox import ExecutionPool


@pytest.fixture(scope="session")
def pool() -> Iterator[ExecutionPool]:
    with ExecutionPool() as shared:
        yield shared
