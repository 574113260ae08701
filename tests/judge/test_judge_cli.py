"""The ``cogumi baseline``, ``cogumi judge`` and ``cogumi cache`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai.log import read_eval_log

from cogumi_eval.cli import main
from cogumi_eval.tasks import gsm8k

REPO = Path(__file__).resolve().parents[2]
MATH = str(REPO / "tasks" / "math.py")


def test_baseline_build_twice_generates_only_the_missing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["baseline", "build", MATH, "--model", "mockllm/model", "--limit", "2"]) == 0
    assert "2 generated, 0 already stored" in capsys.readouterr().out
    assert main(["baseline", "build", MATH, "--model", "mockllm/model", "--limit", "3"]) == 0
    assert "1 generated, 2 already stored" in capsys.readouterr().out


def test_baseline_show_summarises_the_store(capsys: pytest.CaptureFixture[str]) -> None:
    main(["baseline", "build", MATH, "--model", "mockllm/model", "--limit", "2"])
    capsys.readouterr()
    assert main(["baseline", "show", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["task"], row["model"], row["answers"]) == ("gsm8k", "mockllm/model", 2)


def test_importing_a_file_with_a_duplicate_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = json.dumps(
        {"task": "gsm8k", "sample_id": "test-0000", "input": "q", "model": "m/x", "answer": "a"}
    )
    source = tmp_path / "answers.jsonl"
    source.write_text(f"{line}\n{line}\n")
    assert main(["baseline", "import", str(source)]) == 2
    assert "answers.jsonl line 2: duplicate of line 1" in capsys.readouterr().err


def test_judge_writes_a_new_log_and_reports_the_rates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["baseline", "build", MATH, "--model", "mockllm/model", "--limit", "2"])
    (log,) = eval(gsm8k(), model="mockllm/model", limit=2, display="none")
    output = tmp_path / "judged.eval"
    code = main(
        [
            "judge",
            log.location,
            "--grader",
            "mockllm/model",
            "--baseline-model",
            "mockllm/model",
            "--output",
            str(output),
        ]
    )
    assert code == 0
    # mockllm's default reply has no verdict: each order is asked twice, then scored 'error'
    assert [s.scores["pairwise"].answer for s in read_eval_log(str(output)).samples] == [
        "error",
        "error",
    ]  # type: ignore[index, union-attr]
    assert "error          1.000" in capsys.readouterr().out


def test_judge_without_baselines_exits_2_with_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    (log,) = eval(gsm8k(), model="mockllm/model", limit=1, display="none")
    assert main(["judge", log.location, "--grader", "mockllm/model"]) == 2
    assert "cogumi baseline build" in capsys.readouterr().err


def test_judge_objective_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    (a,) = eval(gsm8k(), model="mockllm/model", limit=2, display="none")
    (b,) = eval(gsm8k(), model="mockllm/model", limit=2, display="none")
    capsys.readouterr()
    assert main(["judge", a.location, "--objective", "--baseline", b.location, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["paired"], result["rates"]["tie"]) == (2, 1.0)


def test_cache_stats_and_prune(capsys: pytest.CaptureFixture[str]) -> None:
    from cogumi_eval.judge import CachedVerdict, VerdictCache

    with VerdictCache() as cache:
        cache.put(CachedVerdict("k", "A", "[[A]]", "g", "g-1", "pairwise", "1", created_at=1.0))
    assert main(["cache", "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdicts"] == 1
    assert main(["cache", "prune", "--older-than", "30d"]) == 0
    assert "1 verdicts deleted" in capsys.readouterr().out


def test_cache_prune_needs_a_filter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cache", "prune"]) == 2
    assert "at least one" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "module", "function"),
    [
        (["judge", "run.eval"], "cogumi_eval.judge._posthoc", "judge_log"),
        (
            ["baseline", "build", "tasks/math.py", "--model", "m"],
            "cogumi_eval.judge._baseline_build",
            "build_baselines",
        ),
    ],
)
@pytest.mark.parametrize(("flags", "display"), [([], None), (["--display", "none"], "none")])
def test_long_commands_show_inspects_display_unless_silenced(
    command: list[str],
    module: str,
    function: str,
    flags: list[str],
    display: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib

    seen: dict[str, object] = {}

    class Stop(Exception):
        pass

    def capture(*args: object, **kwargs: object) -> None:
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(importlib.import_module(module), function, capture)
    with pytest.raises(Stop):
        main([*command, *flags])
    assert seen["display"] == display  # None: Inspect's own display, as inspect eval shows it
