"""Paired comparison of two runs and MMLU subject deltas."""

from __future__ import annotations

import pytest
from statsmodels.stats.contingency_tables import mcnemar

from cogumi_eval import analysis
from cogumi_eval.analysis import AnalysisError


def test_compare_pairs_questions_and_reads_the_change(analysis_logs):
    paired = analysis.compare(analysis_logs.series[0], analysis_logs.series[2]).set_index("id")
    # sft answers the first 40 questions right, merged the first 22
    assert len(paired) == 50
    assert paired.loc["test-0030", ["a_correct", "b_correct", "delta", "change"]].tolist() == [
        1.0,
        0.0,
        -1.0,
        "worse",
    ]
    assert paired["change"].value_counts().to_dict() == {"same": 32, "worse": 18}
    assert paired.loc["test-0030", ["a_answer", "b_answer", "target"]].tolist() == [
        "109",
        "110",
        "109",
    ]


def test_compare_names_the_runs_in_attrs(analysis_logs):
    paired = analysis.compare(analysis_logs.mmlu_base, analysis_logs.mmlu_candidate)
    assert paired.attrs == {"a": "base", "b": "candidate", "task": "mmlu", "only_a": 0, "only_b": 0}


def test_compare_takes_run_labels_within_loaded_logs(analysis_logs):
    logs = analysis.load(analysis_logs.series)
    paired = analysis.compare("sft", "merged", logs=logs)
    assert paired["delta"].mean() == pytest.approx(0.44 - 0.80)


def test_compare_takes_one_run_frames(analysis_logs):
    frame = analysis.samples(analysis_logs.series)
    paired = analysis.compare(frame[frame["run"] == "sft"], frame[frame["run"] == "lora-4bit"])
    assert paired.attrs["b"] == "lora-4bit"
    assert (paired["a_verdict"] != paired["b_verdict"]).any()


def test_compare_of_different_tasks_is_a_clear_error(analysis_logs):
    with pytest.raises(
        AnalysisError, match=r"cannot compare 'sft' \(task gsm8k\) with 'base' \(task mmlu\)"
    ):
        analysis.compare(analysis_logs.series[0], analysis_logs.mmlu_base)


def test_compare_of_a_frame_holding_several_runs_is_an_error(analysis_logs):
    frame = analysis.samples(analysis_logs.series)
    with pytest.raises(AnalysisError, match="exactly one run"):
        analysis.compare(frame, frame[frame["run"] == "sft"])


def test_compare_leaves_out_questions_only_one_run_answered(analysis_logs):
    frame = analysis.samples(analysis_logs.series)
    a = frame[(frame["run"] == "sft")]
    b = frame[(frame["run"] == "merged") & (frame["id"] < "test-0010")]
    paired = analysis.compare(a, b)
    assert len(paired) == 10
    assert (paired.attrs["only_a"], paired.attrs["only_b"]) == (40, 0)


def test_compare_with_no_shared_question_is_an_error(analysis_logs):
    frame = analysis.samples(analysis_logs.series)
    a = frame[(frame["run"] == "sft") & (frame["id"] < "test-0010")]
    b = frame[(frame["run"] == "merged") & (frame["id"] >= "test-0010")]
    with pytest.raises(AnalysisError, match="share no sample id"):
        analysis.compare(a, b)


def test_subject_deltas_rank_subjects_worst_first(analysis_logs):
    deltas = analysis.subject_deltas(
        analysis.compare(analysis_logs.mmlu_base, analysis_logs.mmlu_candidate)
    )
    assert deltas["subject"].tolist() == [
        "virology",
        "astronomy",
        "college_physics",
        "world_religions",
    ]
    assert deltas["delta"].tolist() == pytest.approx([-0.8, -0.6, 0.0, 0.6])
    assert deltas["questions"].tolist() == [5, 5, 5, 5]


def test_subject_deltas_need_subjects(analysis_logs):
    with pytest.raises(AnalysisError, match="no subject"):
        analysis.subject_deltas(analysis.compare(analysis_logs.series[0], analysis_logs.series[1]))


def test_paired_summary_tests_accuracy_with_mcnemar_on_one_epoch(analysis_logs):
    summary = analysis.paired_summary(
        analysis.compare(analysis_logs.series[0], analysis_logs.series[2])
    )
    # sft right on 40, merged on 22, merged's right answers a subset of sft's: 18 discordant pairs
    assert (summary.better, summary.worse, summary.same) == (0, 18, 32)
    assert summary.accuracy is not None and summary.accuracy.estimate == pytest.approx(-0.36)
    assert summary.mcnemar is not None
    assert summary.mcnemar.pvalue == pytest.approx(mcnemar([[22, 18], [0, 10]], exact=True).pvalue)


def test_paired_summary_reads_the_verdict_shift(analysis_logs):
    summary = analysis.paired_summary(
        analysis.compare(analysis_logs.series[0], analysis_logs.series[2])
    )
    assert summary.verdicts is not None
    assert summary.verdicts.baseline_rates["tie"] == pytest.approx(0.70)
    assert summary.verdicts.candidate_rates["tie"] == pytest.approx(0.28)
    assert summary.verdicts.pvalue < 0.001


def test_paired_summary_without_verdicts_has_none(analysis_logs):
    summary = analysis.paired_summary(
        analysis.compare(analysis_logs.mmlu_base, analysis_logs.mmlu_candidate)
    )
    assert summary.verdicts is None
    assert summary.accuracy is not None and summary.accuracy.estimate == pytest.approx(-0.2)
