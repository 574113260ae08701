"""Unreadable, incomplete and unscored logs: reported, and the rest still loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from cogumi_eval import analysis
from cogumi_eval.analysis import AnalysisError, LogProblemWarning


def test_an_unreadable_log_is_skipped_with_a_warning_and_the_rest_loads(analysis_logs):
    with pytest.warns(LogProblemWarning) as warned:
        logs = analysis.load(analysis_logs.bad_folder)
    messages = [str(w.message) for w in warned]
    assert any(
        "truncated.eval: unreadable: the log is truncated or not a log" in m for m in messages
    )
    assert any("errored.eval: status error" in m for m in messages)  # the incomplete one, loaded
    skipped = [p for p in logs.problems if p.skipped]
    assert [Path(p.log).name for p in skipped] == ["2026-01-01T00-00-00+00-00_gsm8k_truncated.eval"]
    assert len(logs.runs) == 3


def test_an_incomplete_log_is_loaded_and_reported(analysis_logs):
    with pytest.warns(LogProblemWarning):
        logs = analysis.load(analysis_logs.bad_folder)
    [partial] = [p for p in logs.problems if not p.skipped]
    assert "status error" in partial.reason and "3 of 6 samples" in partial.reason
    frame = analysis.runs(logs)
    assert frame.loc[frame["status"] == "error", "questions"].tolist() == [3]


def test_a_run_without_scores_has_a_no_scores_row(analysis_logs):
    with pytest.warns(LogProblemWarning):
        frame = analysis.runs(analysis_logs.bad_folder)
    unscored = frame[frame["run"] == "unscored"]
    assert unscored["metric"].tolist() == ["no scores"]
    assert unscored["value"].isna().all()
    samples = analysis.samples(frame["log"][frame["run"] == "unscored"].iloc[0])
    assert samples["correct"].isna().all() and samples["agreement"].isna().all()


def test_a_missing_path_is_an_error_naming_it(tmp_path):
    with pytest.raises(AnalysisError, match="nowhere.eval: no such log file or folder"):
        analysis.load(tmp_path / "nowhere.eval")


def test_a_folder_without_logs_is_an_error(tmp_path):
    with pytest.raises(AnalysisError, match="no eval logs"):
        analysis.load(tmp_path)


def test_only_unreadable_logs_is_an_error_listing_them(tmp_path):
    (tmp_path / "broken.eval").write_bytes(b"not a zip")
    with pytest.raises(AnalysisError, match="none of the logs could be read.*broken.eval"):
        analysis.load(tmp_path, warn=False)


def test_a_log_named_twice_is_read_once(analysis_logs):
    logs = analysis.load([analysis_logs.root / "mmlu", analysis_logs.mmlu_base])
    assert [run.label for run in logs.runs] == ["base", "candidate"]
