"""The verdict cache: per-verdict commits, two writers at once, a killed run, pruning."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cogumi_eval.judge import CachedVerdict, VerdictCache


def _verdict(key: str, verdict: str = "A", **extra: object) -> CachedVerdict:
    fields: dict[str, object] = {
        "key": key,
        "verdict": verdict,
        "reply": f"[[{verdict}]]",
        "grader": "openai/gpt-4-turbo",
        "grader_version": "gpt-4-turbo-2024-04-09",
        "template_id": "pairwise-math",
        "template_version": "1",
        "created_at": time.time(),
    }
    fields.update(extra)
    return CachedVerdict(**fields)  # type: ignore[arg-type]


def test_a_stored_verdict_reads_back(tmp_path: Path) -> None:
    with VerdictCache(tmp_path / "v.sqlite3") as cache:
        cache.put(_verdict("k1", "B"))
        found = cache.get("k1")
    assert found is not None and (found.verdict, found.reply) == ("B", "[[B]]")


def test_the_first_writer_of_a_key_wins(tmp_path: Path) -> None:
    with VerdictCache(tmp_path / "v.sqlite3") as cache:
        cache.put(_verdict("k1", "A"))
        stored = cache.put(_verdict("k1", "B"))
    assert stored.verdict == "A"


def test_the_cache_runs_in_wal_mode(tmp_path: Path) -> None:
    with VerdictCache(tmp_path / "v.sqlite3") as cache:
        mode = cache._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


_WRITER = textwrap.dedent(
    """
    import sys, time
    from cogumi_eval.judge import CachedVerdict, VerdictCache
    path, prefix, count, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    cache = VerdictCache(path)
    while time.time() < start:
        time.sleep(0.001)
    for i in range(count):
        key = f"shared-{i}" if i % 10 == 0 else f"{prefix}-{i}"
        cache.put(CachedVerdict(key, "tie", "[[C]]", "g", "g", "t", "1", created_at=time.time()))
    """
)


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite3"
    start = time.time() + 3.0  # both writers begin together, after their imports
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), name, "400", str(start)])
        for name in ("first", "second")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    with VerdictCache(path) as cache:
        # 360 own keys each, and 40 keys both wrote
        assert cache.count() == 360 * 2 + 40


_RUN = textwrap.dedent(
    """
    import json, os, re, signal, sys
    from inspect_ai import eval
    from cogumi_eval.judge import build_baselines
    from cogumi_eval.tasks import gsm8k
    from cogumi_eval.testing import scripted_model

    calls = 0

    def main(kill_after):
        def baseline(prompt):
            return "Working it out.\\nANSWER: " + str(len(prompt) % 7)

        def candidate(prompt):
            return "My attempt.\\nANSWER: " + str(len(prompt) % 5)

        def grader(prompt):
            global calls
            found = re.findall(r"Solution [AB]:\\n<<<\\n(.*?)\\n>>>", prompt, re.S)
            if len(found) != 2:
                return "OK"
            calls += 1
            if kill_after and calls > kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
            a, b = found
            return "[[A]]" if len(a) % 3 == 0 else "[[B]]" if len(b) % 3 == 0 else "[[C]]"

        build_baselines(gsm8k(), scripted_model(baseline, name="mockllm/base"), limit=6)
        (log,) = eval(
            gsm8k(judge="pairwise", baseline="mockllm/base"),
            model=scripted_model(candidate),
            model_roles={"grader": scripted_model(grader, name="mockllm/judge")},
            limit=6,
            display="none",
        )
        return {"answers": [s.scores["pairwise"].answer for s in log.samples], "calls": calls}

    if __name__ == "__main__":
        print(json.dumps(main(int(sys.argv[1]))))
    """
)


def _in_process(script: Path, kill_after: int = 0) -> dict[str, object]:
    """Run the script's ``main`` in this process (a fresh module, so a fresh call counter)."""
    spec = importlib.util.spec_from_file_location("judged_run", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(kill_after)  # type: ignore[no-any-return]


def test_a_killed_run_resumes_to_the_verdicts_of_an_uninterrupted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "judged_run.py"
    script.write_text(_RUN)
    killed = subprocess.run(
        [sys.executable, str(script), "7"], capture_output=True, text=True, timeout=300, check=False
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    with VerdictCache() as cache:
        kept = cache.count()
    resumed = _in_process(script)
    monkeypatch.setenv("COGUMI_CACHE_DIR", str(tmp_path / "fresh-cache"))
    uninterrupted = _in_process(script)
    assert resumed["answers"] == uninterrupted["answers"]
    assert kept >= 1
    # nothing the killed run had received is asked again
    assert resumed["calls"] == uninterrupted["calls"] - kept  # type: ignore[operator]


def test_prune_by_template_version_keeps_the_others(tmp_path: Path) -> None:
    with VerdictCache(tmp_path / "v.sqlite3") as cache:
        cache.put(_verdict("old", template_version="1"))
        cache.put(_verdict("new", template_version="2"))
        assert cache.prune(template="pairwise-math@1") == 1
        assert cache.get("new") is not None and cache.get("old") is None


def test_prune_by_age_and_grader(tmp_path: Path) -> None:
    with VerdictCache(tmp_path / "v.sqlite3") as cache:
        cache.put(_verdict("stale", created_at=time.time() - 40 * 86400))
        cache.put(_verdict("recent"))
        cache.put(_verdict("other", grader="anthropic/claude", grader_version="claude-x"))
        assert cache.prune(older_than_s=30 * 86400, dry_run=True) == 1
        assert cache.prune(grader="claude-x") == 1
        assert cache.prune(older_than_s=30 * 86400) == 1
        assert cache.count() == 1


def test_prune_without_a_filter_is_refused(tmp_path: Path) -> None:
    from cogumi_eval.judge._cache import CacheError

    with (
        VerdictCache(tmp_path / "v.sqlite3") as cache,
        pytest.raises(CacheError, match="at least one"),
    ):
        cache.prune()


def test_stats_group_by_grader_version_and_template(tmp_path: Path) -> None:
    with VerdictCache(tmp_path / "v.sqlite3") as cache:
        cache.put(_verdict("a", usd=0.01))
        cache.put(_verdict("b", usd=0.02))
        cache.put(_verdict("c", template_version="2"))
        groups = cache.stats().groups
    assert [(g.template, g.verdicts) for g in groups] == [
        ("pairwise-math@1", 2),
        ("pairwise-math@2", 1),
    ]
    assert groups[0].usd == pytest.approx(0.03)
