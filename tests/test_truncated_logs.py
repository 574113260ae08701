"""Every command names a truncated or foreign .eval file and says what is wrong with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval

from cogumi_eval.cli import main
from cogumi_eval.tasks import gsm8k
from cogumi_eval.testing import scripted_model

MESSAGE = "the log is truncated or not a log"
SPEC = str(Path(__file__).resolve().parents[1] / "results" / "gates" / "default.toml")


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("logs")
    (log,) = inspect_eval(
        gsm8k(data_dir=str(data_dir)),
        model=scripted_model(lambda p: "ANSWER: 18"),
        limit=2,
        log_dir=str(folder / "good"),
        display="none",
    )
    data = Path(log.location).read_bytes()
    truncated = folder / "truncated.eval"
    truncated.write_bytes(data[: len(data) // 2])
    foreign = folder / "notes.eval"
    foreign.write_text("not a log\n")
    return {"good": log.location, "truncated": str(truncated), "foreign": str(foreign)}


COMMANDS = {
    "lineage": ["lineage", "{bad}"],
    "judge": ["judge", "{bad}"],
    "judge-objective-candidate": ["judge", "{bad}", "--objective", "--baseline", "{good}"],
    "judge-objective-baseline": ["judge", "{good}", "--objective", "--baseline", "{bad}"],
    "judge-baseline-log": ["judge", "{good}", "--baseline", "{bad}"],
    "gate": ["gate", "--baseline", "{bad}", "--candidate", "{good}", "--spec", SPEC],
    "report": ["report", "{bad}", "--out", "{out}"],
}


@pytest.mark.parametrize("kind", ["truncated", "foreign"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_unreadable_log_is_named_with_the_reason(
    command: str,
    kind: str,
    logs: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fill = {"bad": logs[kind], "good": logs["good"], "out": str(tmp_path / "report.html")}
    status = main([part.format(**fill) for part in COMMANDS[command]])
    err = capsys.readouterr().err
    assert status == 2
    assert logs[kind] in err and MESSAGE in err and "Traceback" not in err
