"""How runs are named and found: -M options tell one model's runs apart; a folder names its one
run."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval

from cogumi_eval import analysis
from cogumi_eval.analysis import AnalysisError
from cogumi_eval.tasks import gsm8k
from cogumi_eval.testing import scripted_model


def test_runs_of_one_model_are_labelled_by_the_options_that_differ(tmp_path: Path) -> None:
    for variant in ("first", "second"):
        inspect_eval(
            gsm8k(),
            model=scripted_model(
                lambda p: "ANSWER: 18", name="mockllm/same", variant=variant, seed_note="x"
            ),
            limit=1,
            log_dir=str(tmp_path / variant),
            display="none",
        )
    logs = analysis.load([tmp_path / "first", tmp_path / "second"])
    assert [run.label for run in logs.runs] == ["same (variant=first)", "same (variant=second)"]


def test_a_folder_with_one_run_names_that_run(analysis_logs) -> None:  # type: ignore[no-untyped-def]
    root = analysis_logs.root
    logs = analysis.load([root / "epochs", root / "mmlu"])
    assert logs.run(str(root / "epochs")).label == "sampled"
    with pytest.raises(AnalysisError, match="holds 2 runs"):
        logs.run(str(root / "mmlu"))
