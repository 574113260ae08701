"""The frames on logs of the real MMLU task: subject from metadata, per-subject deltas."""

from __future__ import annotations

from pathlib import Path

import inspect_ai
import pytest

from cogumi_eval import analysis
from cogumi_eval.tasks import mmlu
from cogumi_eval.testing import scripted_model

SUBJECTS = ["astronomy", "virology"]
IDS = [f"{subject}-test-{i:04d}" for subject in SUBJECTS for i in range(8)]


@pytest.fixture(scope="module")
def mmlu_logs(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, Path]:
    """Two runs on 8 questions of each subject: one always answers A, the other always B."""
    folder = tmp_path_factory.mktemp("mmlu-task")
    paths = []
    for letter in "AB":
        [log] = inspect_ai.eval(
            mmlu(subjects=SUBJECTS, data_dir=str(data_dir)),
            model=scripted_model(
                lambda _prompt, x=letter: f"ANSWER: {x}", name=f"mockllm/always-{letter}"
            ),
            sample_id=IDS,
            log_dir=str(folder),
            display="none",
        )
        assert log.status == "success", log.error
        paths.append(Path(log.location.removeprefix("file://")))
    return paths[0], paths[1]


def test_mmlu_samples_carry_subject_and_letter(mmlu_logs):
    frame = analysis.samples(mmlu_logs[0])
    assert sorted(frame["id"]) == sorted(IDS)
    assert (frame["subject"] == frame["id"].str.split("-").str[0]).all()
    assert set(frame["answer"]) == {"A"} and set(frame["scorer"]) == {"choice_letter"}
    assert (frame["correct"] == (frame["target"] == "A")).all()


def test_mmlu_subject_deltas_follow_the_targets(mmlu_logs):
    targets = analysis.samples(mmlu_logs[0]).groupby("subject")["target"]
    expected = targets.agg(lambda t: (t == "B").mean()) - targets.agg(lambda t: (t == "A").mean())
    deltas = analysis.subject_deltas(analysis.compare(*mmlu_logs)).set_index("subject")["delta"]
    assert deltas.to_dict() == pytest.approx(expected.to_dict())


def test_mmlu_accuracy_interval_is_clustered_by_subject(mmlu_logs):
    accuracy = analysis.runs(mmlu_logs[0]).set_index("metric").loc["accuracy"]
    assert accuracy["interval"] == "clt-clustered by subject 95%"
