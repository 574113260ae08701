"""Promotion: a model is recorded only when the gate passes, and only on logs of its own weights."""

from __future__ import annotations

import tomllib
from pathlib import Path

import _taught  # registered by conftest.py
import pytest

from cogumi_eval.cli import main
from cogumi_eval.model import lineage, registry_entries, resolve_ref
from cogumi_train import Promotion, Registry, promote
from cogumi_train._promote import LineageMismatch, PromotionError
from cogumi_train._registry import RegistryNameTaken

SPEC = """
[[rule]]
name = "GSM8K accuracy"
task = "gsm8k"
metric = "accuracy"
max_drop = 0.10
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "gate.toml"
    path.write_text(SPEC)
    return path


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    return tmp_path / "results" / "registry.toml"


@pytest.fixture
def taught_promoted(
    taught_checkpoint: Path, taught_logs: Path, spec: Path, registry: Path
) -> Promotion:
    """The taught model promoted as ``gsm8k-taught`` on its own logs (a registry with one entry)."""
    return promote(
        taught_checkpoint,
        name="gsm8k-taught",
        baseline=taught_logs,
        spec=spec,
        logs=taught_logs,
        registry=registry,
    )


def _sha(model: Path) -> str:
    digest = lineage(str(model)).weights
    assert digest is not None
    return digest.sha256


def test_taught_model_is_promoted_against_itself(
    taught_checkpoint: Path, taught_logs: Path, spec: Path, registry: Path, tmp_path: Path
) -> None:
    promotion = promote(
        taught_checkpoint,
        name="gsm8k-taught",
        baseline=taught_logs,
        spec=spec,
        registry=registry,
        log_dir=tmp_path / "candidate-logs",
        display="none",
    )

    assert isinstance(promotion, Promotion)
    assert promotion.promoted and promotion.exit_code == 0
    rule = promotion.report.rule("GSM8K accuracy")
    assert rule.verdict == "pass"
    assert rule.n == 16 and rule.candidate == 0.75  # 12 taught of 16 asked, as in the baseline
    entry = tomllib.loads(registry.read_text())["models"]["gsm8k-taught"]
    assert entry["weights_sha256"] == _sha(taught_checkpoint)
    assert entry["lineage"]["weights"]["sha256"] == _sha(taught_checkpoint)
    assert entry["gate"]["exit_code"] == 0
    assert entry["gate"]["rules"][0]["verdict"] == "pass"
    logs = [registry.parent / p for p in entry["logs"]]
    assert len(logs) == 1 and logs[0].is_file()
    assert logs[0].resolve().parent == tmp_path / "candidate-logs"


def test_promoted_name_resolves_as_a_cogumi_model(
    taught_promoted: Promotion, taught_checkpoint: Path, registry: Path
) -> None:
    assert registry_entries(registry)["gsm8k-taught"].resolve() == taught_checkpoint.resolve()
    assert resolve_ref("gsm8k-taught", registry=registry).path == taught_checkpoint.resolve()


def test_destroyed_model_is_refused_and_registry_is_byte_identical(
    taught_promoted: Promotion,
    destroyed_checkpoint: Path,
    spec: Path,
    registry: Path,
    tmp_path: Path,
) -> None:
    before = registry.read_bytes()

    promotion = promote(
        destroyed_checkpoint,
        name="gsm8k-destroyed",
        baseline="gsm8k-taught",  # the registry entry's logs are the baseline
        spec=spec,
        registry=registry,
        log_dir=tmp_path / "destroyed-run",
        display="none",
    )

    assert not promotion.promoted and promotion.exit_code == 1
    rule = promotion.report.rule("GSM8K accuracy")
    assert rule.verdict == "fail"
    assert rule.baseline == 0.75 and rule.candidate == 0.0
    assert promotion.entry is None
    assert registry.read_bytes() == before


def test_destroyed_model_through_the_command_prints_the_report_and_exits_1(
    taught_promoted: Promotion,
    destroyed_checkpoint: Path,
    destroyed_logs: Path,
    spec: Path,
    registry: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = registry.read_bytes()

    code = main(
        [
            "promote",
            str(destroyed_checkpoint),
            "--as",
            "gsm8k-destroyed",
            "--baseline",
            "gsm8k-taught",
            "--spec",
            str(spec),
            "--logs",
            str(destroyed_logs),
            "--registry",
            str(registry),
        ]
    )

    out = capsys.readouterr().out
    assert code == 1
    assert "GSM8K accuracy" in out and "fail" in out
    assert "NOT PROMOTED" in out
    assert registry.read_bytes() == before


def test_command_promotes_with_logs_and_exits_0(
    taught_checkpoint: Path,
    taught_logs: Path,
    spec: Path,
    registry: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        [
            "promote",
            str(taught_checkpoint),
            "--as",
            "gsm8k-taught",
            "--baseline",
            str(taught_logs),
            "--spec",
            str(spec),
            "--logs",
            str(taught_logs),
            "--registry",
            str(registry),
        ]
    )

    assert code == 0
    assert "PROMOTED" in capsys.readouterr().out
    assert Registry(registry).names() == ["gsm8k-taught"]


def test_logs_of_another_model_are_refused_naming_both_hashes(
    taught_checkpoint: Path,
    destroyed_checkpoint: Path,
    taught_logs: Path,
    spec: Path,
    registry: Path,
) -> None:
    with pytest.raises(LineageMismatch) as raised:
        promote(
            destroyed_checkpoint,
            name="gsm8k-destroyed",
            baseline=taught_logs,
            spec=spec,
            logs=taught_logs,
            registry=registry,
        )

    message = str(raised.value)
    assert _sha(taught_checkpoint) in message and _sha(destroyed_checkpoint) in message
    assert not registry.exists()


def test_logs_without_lineage_are_refused(
    taught_checkpoint: Path, taught_logs: Path, spec: Path, registry: Path, tmp_path: Path
) -> None:
    from inspect_ai import eval as inspect_eval

    from cogumi_eval.tasks import gsm8k
    from cogumi_eval.testing import scripted_model

    inspect_eval(
        gsm8k(),
        model=scripted_model(lambda prompt: "ANSWER: 18"),
        sample_id=list(_taught.EVAL_IDS),
        display="none",
        log_dir=str(tmp_path / "mock"),
    )

    with pytest.raises(LineageMismatch, match="carries no lineage"):
        promote(
            taught_checkpoint,
            name="gsm8k-taught",
            baseline=taught_logs,
            spec=spec,
            logs=tmp_path / "mock",
            registry=registry,
        )


def test_existing_name_is_refused_before_evaluating(
    taught_promoted: Promotion,
    taught_checkpoint: Path,
    taught_logs: Path,
    spec: Path,
    registry: Path,
    tmp_path: Path,
) -> None:
    before = registry.read_bytes()

    with pytest.raises(RegistryNameTaken, match="--replace"):
        promote(
            taught_checkpoint,
            name="gsm8k-taught",
            baseline=taught_logs,
            spec=spec,
            registry=registry,
            log_dir=tmp_path / "never",
        )

    assert registry.read_bytes() == before
    assert not (tmp_path / "never").exists()


def test_replace_overwrites_an_existing_name(
    taught_promoted: Promotion,
    taught_checkpoint: Path,
    taught_logs: Path,
    spec: Path,
    registry: Path,
) -> None:
    second = promote(
        taught_checkpoint,
        name="gsm8k-taught",
        baseline="gsm8k-taught",
        spec=spec,
        logs=taught_logs,
        registry=registry,
        replace=True,
    )

    assert taught_promoted.promoted and second.promoted
    entry = Registry(registry).get("gsm8k-taught")
    assert entry is not None and entry["baseline"] == "gsm8k-taught"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--baseline", "no-such-name"], "neither an eval log"),
        (["MODEL=missing-folder"], "neither a folder nor a registry name"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str],
    message: str,
    taught_checkpoint: Path,
    taught_logs: Path,
    spec: Path,
    registry: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    model = (
        str(tmp_path / "missing-folder") if argv[0].startswith("MODEL=") else str(taught_checkpoint)
    )
    baseline = argv[1] if argv[0] == "--baseline" else str(taught_logs)

    code = main(
        [
            "promote",
            model,
            "--as",
            "x",
            "--baseline",
            baseline,
            "--spec",
            str(spec),
            "--logs",
            str(taught_logs),
            "--registry",
            str(registry),
        ]
    )

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not registry.exists()


def test_baseline_without_the_specs_tasks_is_an_error(
    taught_checkpoint: Path, taught_logs: Path, registry: Path, tmp_path: Path
) -> None:
    spec = tmp_path / "humaneval.toml"
    spec.write_text(
        '[[rule]]\nname = "pass@1"\ntask = "humaneval"\nmetric = "pass@1"\nmax_drop = 0.1\n'
    )

    with pytest.raises(PromotionError, match="nothing to compare"):
        promote(
            taught_checkpoint,
            name="x",
            baseline=taught_logs,
            spec=spec,
            logs=taught_logs,
            registry=registry,
        )


def test_own_task_file_and_limit_are_passed_to_the_evaluation(
    taught_checkpoint: Path, taught_logs: Path, spec: Path, registry: Path, tmp_path: Path
) -> None:
    from inspect_ai.log import read_eval_log

    task_file = Path(__file__).resolve().parents[2] / "tasks" / "math.py"

    promotion = promote(
        taught_checkpoint,
        name="gsm8k-file",
        baseline=taught_logs,
        spec=spec,
        registry=registry,
        tasks={"gsm8k": f"{task_file}@gsm8k"},
        limit=4,
        log_dir=tmp_path / "file-run",
        display="none",
    )

    assert promotion.promoted
    assert promotion.report.rule("GSM8K accuracy").n == 4  # the baseline cut to the same 4
    log = read_eval_log(promotion.logs["gsm8k"], header_only=True)
    assert log.eval.task_file is not None and log.eval.task_file.endswith("math.py")
