"""Judging over real HTTP: Inspect's OpenAI-compatible provider against a failing loopback server.

Every test runs a judged GSM8K run whose baseline answers were built through
the server, with the server as grader, and checks what the server saw. Inspect's
retry policy is used as shipped except for its back-off sleep (3 s and up),
which the ``fast_backoff`` fixture shortens to 50 ms so the tests take seconds:
which failures are retried, and how often, is still Inspect's decision.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _load(name: str) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


fs = _load("_fault_server")
hj = _load("_http_judging")

N = 8  # problems per run: 16 judged orders
TRANSIENT = ("429", "429-retry-after", "500", "503", "reset", "hang")


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    from inspect_ai.model._providers.openai_compatible import OpenAICompatibleAPI
    from tenacity import wait_fixed

    monkeypatch.setattr(OpenAICompatibleAPI, "retry_wait", lambda self: wait_fixed(0.05))


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = f"sk-cogumi-test-{uuid.uuid4().hex}"
    monkeypatch.setenv(hj.KEY_VAR, key)
    return key


@pytest.fixture
def items(data_dir: Path) -> Any:
    return hj.problems(data_dir, N)


@pytest.fixture
def server(items: Any, fast_backoff: None, api_key: str) -> Iterator[Any]:
    with fs.FaultServer(answers=items.baseline_answers(), hang_s=5.0, lifetime_s=120) as s:
        hj.build(s.url, N)
        s.reset()  # count only what judging asks
        yield s


def plan_by_number(faults: dict[int, str]) -> Any:
    return lambda number, request: faults.get(number, "ok")


def plan_for_problem(items: Any, index: int, fault: str) -> Any:
    """``fault`` on every grader request about problem ``index``, none elsewhere."""

    def plan(number: int, request: Any) -> str:
        hit = request.part == "grader" and items.index_of(request.prompt) == index
        return fault if hit else "ok"

    return plan


def expected(items: Any, log: Any) -> dict[str, str]:
    return {str(s.id): items.expected(items.index_of(s.input)) for s in log.samples}


def test_every_fault_once_still_gives_every_right_verdict(
    server: Any, items: Any, tmp_path: Path
) -> None:
    # request 1 is the version probe; the next eight each meet one kind of fault
    kinds = (*TRANSIENT, "truncated", "unparseable")
    server.plan = plan_by_number({i + 2: kind for i, kind in enumerate(kinds)})

    log = hj.judged_run(items, hj.served_model("openai-api/local/judge-1", server.url), N, tmp_path)

    assert log.status == "success"
    assert hj.verdicts(log) == expected(items, log)
    # each fault costs exactly one more request: Inspect retries six, the judge asks again twice
    assert (server.count("probe"), server.count("grader")) == (1, 2 * N + len(kinds))


def test_a_fault_on_every_try_scores_error_never_a_tie(
    server: Any, items: Any, tmp_path: Path
) -> None:
    server.plan = plan_for_problem(items, 3, "500")

    log = hj.judged_run(items, hj.served_model("openai-api/local/judge-1", server.url), N, tmp_path)

    got = hj.verdicts(log)
    want = expected(items, log)
    failed = next(s for s in log.samples if items.index_of(s.input) == 3)
    assert got.pop(str(failed.id)) == "error" and want.pop(str(failed.id)) == "tie"
    assert got == want
    calls = failed.scores["pairwise"].metadata["calls"]
    assert [c["attempts"] for c in calls] == [2, 2]
    assert "InternalServerError" in calls[0]["replies"][0]


def test_retries_follow_inspects_max_retries(server: Any, items: Any, tmp_path: Path) -> None:
    server.plan = plan_for_problem(items, 3, "503")

    hj.judged_run(
        items, hj.served_model("openai-api/local/judge-1", server.url, max_retries=2), N, tmp_path
    )

    # 2 orders x 2 judge attempts x (1 try + Inspect's 2 retries)
    failing = [r for r in server.seen if r.fault == "503"]
    assert len(failing) == 2 * 2 * 3


def test_retry_after_is_not_what_decides_the_retry(server: Any, items: Any, tmp_path: Path) -> None:
    # Inspect 0.3.285 records Retry-After but backs off on its own schedule: both 429s retry alike
    server.plan = plan_by_number({2: "429", 3: "429-retry-after"})

    log = hj.judged_run(items, hj.served_model("openai-api/local/judge-1", server.url), N, tmp_path)

    assert hj.verdicts(log) == expected(items, log)
    assert server.count("grader") == 2 * N + 2


def test_an_unparseable_verdict_is_asked_again_then_scored_error(
    server: Any, items: Any, tmp_path: Path
) -> None:
    server.plan = plan_for_problem(items, 5, "unparseable")

    log = hj.judged_run(items, hj.served_model("openai-api/local/judge-1", server.url), N, tmp_path)

    failed = next(s for s in log.samples if items.index_of(s.input) == 5)
    assert failed.scores["pairwise"].answer == "error"
    assert server.count("grader", "unparseable") == 4  # two orders, asked twice each


def test_a_truncated_reply_on_every_try_is_an_error_not_a_crash(
    server: Any, items: Any, tmp_path: Path
) -> None:
    server.plan = plan_for_problem(items, 1, "truncated")

    log = hj.judged_run(items, hj.served_model("openai-api/local/judge-1", server.url), N, tmp_path)

    assert log.status == "success"
    failed = next(s for s in log.samples if items.index_of(s.input) == 1)
    assert failed.scores["pairwise"].answer == "error"
    assert "JSONDecodeError" in failed.scores["pairwise"].metadata["calls"][0]["replies"][0]


def test_failed_orders_are_not_cached_so_a_rerun_asks_only_for_them(
    server: Any, items: Any, tmp_path: Path
) -> None:
    server.plan = plan_for_problem(items, 2, "500")
    grader = hj.served_model("openai-api/local/judge-1", server.url, max_retries=0)
    hj.judged_run(items, grader, N, tmp_path / "first")
    server.plan = fs.no_faults
    server.reset()

    log = hj.judged_run(items, grader, N, tmp_path / "second")

    assert hj.verdicts(log) == expected(items, log)
    assert server.count("grader") == 2 and server.count("probe") == 0


def test_a_grader_that_changes_model_mid_run_is_noticed(
    server: Any, items: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server.set_model("judge-2025-01")

    def plan(number: int, request: Any) -> str:
        if request.part == "grader" and server.count("grader") == 6:
            server.set_model("judge-2025-02")
        return "ok"

    server.plan = plan
    grader = hj.served_model("openai-api/local/judge", server.url, max_connections=1)
    with caplog.at_level(logging.WARNING, logger="cogumi_eval.judge._grader"):
        log = hj.judged_run(items, grader, N, tmp_path / "first")

    assert "changed model during the run: judge-2025-01 -> judge-2025-02" in caplog.text
    calls = [c for s in log.samples for c in s.scores["pairwise"].metadata["calls"]]
    versions = [c["grader_version"] for c in calls]
    assert versions.count("judge-2025-01") == 6 and versions.count("judge-2025-02") == 2 * N - 6
    # the alias now resolves to -02: a rerun reuses its verdicts and asks again for -01's
    server.reset()
    hj.judged_run(items, grader, N, tmp_path / "second")
    assert (server.count("probe"), server.count("grader")) == (1, 6)


def test_a_served_model_other_than_the_recorded_grader_version_is_refused(
    server: Any, items: Any, tmp_path: Path
) -> None:
    from inspect_ai import score

    from cogumi_eval.judge import pairwise

    server.set_model("judge-2025-02")
    grader = hj.served_model("openai-api/local/judge", server.url)
    candidate = hj.judged_run(items, grader, 2, tmp_path)
    server.reset()
    scorer = pairwise(
        task_name="gsm8k",
        baseline=hj.BASELINE,
        template="pairwise-math",
        reference="metadata:reference_solution",
        grader_version="judge-2025-01",
        cache_path=str(tmp_path / "fresh.sqlite3"),
    )

    with pytest.raises(Exception, match="served by 'judge-2025-02'.*judged by 'judge-2025-01'"):
        score(candidate, [scorer], model_roles={"grader": grader}, display="none")
    assert server.count("grader") == 0  # refused at the version probe, before any verdict call


def test_a_server_that_is_down_is_one_clear_error(
    items: Any, tmp_path: Path, fast_backoff: None, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inspect_ai.model._providers.openai_compatible import OpenAICompatibleAPI

    from cogumi_eval.judge._grader import FIRST_CALL_RETRIES

    with fs.FaultServer(answers=items.baseline_answers()) as s:
        hj.build(s.url, N)
        url = s.url
    attempts = []
    real = OpenAICompatibleAPI.generate

    async def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        attempts.append(self.base_url)
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(OpenAICompatibleAPI, "generate", counting)

    log = hj.judged_run(items, hj.served_model("openai-api/local/judge-1", url), N, tmp_path)

    assert log.status == "error"
    assert f"at {url} refused the connection" in log.error.message
    assert len(attempts) == FIRST_CALL_RETRIES + 1


def test_requests_stay_on_loopback_and_carry_the_key_only_in_the_header(
    server: Any, items: Any, tmp_path: Path, api_key: str
) -> None:
    server.plan = fs.random_faults(0.3, seed=7, kinds=TRANSIENT)

    hj.judged_run(items, hj.served_model("openai-api/local/judge-1", server.url), N, tmp_path)

    assert {r.peer for r in server.seen} == {"127.0.0.1"}
    assert all(r.authorized for r in server.seen)
    assert 2 * N < len(server.seen) <= 1 + 2 * N * 2 * 4  # probe + orders x attempts x tries


def test_no_api_key_is_written_to_any_file(
    server: Any, items: Any, tmp_path: Path, api_key: str
) -> None:
    server.plan = fs.random_faults(0.3, seed=3, kinds=(*TRANSIENT, "truncated"))

    hj.judged_run(items, hj.served_model("openai-api/local/judge-1", server.url), N, tmp_path)

    # logs, baseline store, verdict cache (with its WAL) all live under tmp_path
    assert hj.count_files(tmp_path) >= 4
    assert hj.files_containing(tmp_path, api_key) == []
