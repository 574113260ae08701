"""The per-sample and per-run frames, and the verdict and consistency tables."""

from __future__ import annotations

import pytest
from inspect_ai.log import read_eval_log
from inspect_ai.scorer import SampleScore
from statsmodels.stats.proportion import proportion_confint

from cogumi_eval import analysis, metrics, stats


def test_samples_frame_has_one_row_per_sample_and_epoch(analysis_logs):
    frame = analysis.samples(analysis_logs.epochs)
    assert len(frame) == 12 * 3
    assert sorted(frame["epoch"].unique()) == [1, 2, 3]
    assert set(frame["task"]) == {"gsm8k"}


def test_samples_frame_reads_extracted_answer_and_correctness(analysis_logs):
    frame = analysis.samples(analysis_logs.epochs).set_index(["id", "epoch"])
    # question 0 is answered right every epoch, question 1 (1 mod 4) one more than the target
    assert frame.loc[("test-0000", 1), ["answer", "target", "correct"]].tolist() == [
        "18",
        "18",
        True,
    ]
    assert frame.loc[("test-0001", 2), ["answer", "target", "correct"]].tolist() == [
        "4",
        "3",
        False,
    ]
    assert set(frame["scorer"]) == {"final_number"}


def test_samples_frame_says_whether_a_questions_epochs_agree(analysis_logs):
    frame = analysis.samples(analysis_logs.epochs)
    per_question = frame.drop_duplicates("id").set_index("id")
    # 3 mod 4 questions are right on one epoch of three: one of the three epoch pairs agrees
    assert not per_question.loc["test-0003", "consistent"]
    assert per_question.loc["test-0003", "agreement"] == pytest.approx(1 / 3)
    assert per_question.loc["test-0000", ["consistent", "agreement"]].tolist() == [True, 1.0]


def test_agreement_is_na_with_a_single_epoch(analysis_logs):
    frame = analysis.samples(analysis_logs.series[0])
    assert frame["agreement"].isna().all()
    assert frame["consistent"].isna().all()


def test_samples_frame_reads_pairwise_verdicts(analysis_logs):
    frame = analysis.samples(analysis_logs.series[0])
    assert frame["verdict"].value_counts().to_dict() == {"tie": 35, "win": 10, "loss": 5}


def test_samples_frame_reads_mmlu_subject(analysis_logs):
    frame = analysis.samples(analysis_logs.mmlu_base)
    assert frame.set_index("id").loc["virology-test-0002", "subject"] == "virology"
    assert frame["subject"].value_counts().to_dict() == {
        "astronomy": 5,
        "college_physics": 5,
        "world_religions": 5,
        "virology": 5,
    }


def test_run_labels_drop_the_provider_every_run_shares(analysis_logs):
    frame = analysis.runs(analysis_logs.series)
    assert list(dict.fromkeys(frame["run"])) == ["sft", "lora-4bit", "merged", "merged-phase2"]
    assert frame["model"].iloc[0] == "mockllm/sft"


def test_run_accuracy_has_a_wilson_interval_for_one_epoch(analysis_logs):
    frame = analysis.runs(analysis_logs.series[0])
    accuracy = frame.set_index("metric").loc["accuracy"]
    low, high = proportion_confint(40, 50, alpha=0.05, method="wilson")
    assert accuracy["value"] == pytest.approx(0.8)
    assert (accuracy["ci_low"], accuracy["ci_high"]) == pytest.approx((low, high))
    assert accuracy["questions"] == 50


def test_run_accuracy_interval_is_clustered_by_question_with_epochs(analysis_logs):
    accuracy = analysis.runs(analysis_logs.epochs).set_index("metric").loc["accuracy"]
    frame = analysis.samples(analysis_logs.epochs)
    expected = stats.clt_interval(
        [float(c) for c in frame["correct"]], clusters=list(frame["id"])
    ).interval
    assert accuracy["value"] == pytest.approx(21 / 36)
    assert accuracy["interval"] == "clt-clustered 95%"
    assert (accuracy["ci_low"], accuracy["ci_high"]) == pytest.approx((expected.low, expected.high))


def test_run_frame_carries_lineage_from_the_log(analysis_logs):
    frame = analysis.runs(analysis_logs.series).drop_duplicates("run").set_index("run")
    assert frame.loc["merged", "lineage"] == {
        "name": "merged",
        "base": "llama-3-8b",
        "quantized_base": True,
    }
    assert frame["lineage_quantized_base"].tolist() == [False, True, True, True]


def test_run_frame_has_verdict_rates(analysis_logs):
    frame = analysis.runs(analysis_logs.series)
    ties = frame[frame["metric"] == "tie"].set_index("run")["value"]
    assert ties["sft"] == pytest.approx(0.70)
    assert ties["merged"] == pytest.approx(0.28)


def test_verdict_table_shows_the_tie_collapse(analysis_logs):
    table = analysis.verdicts(analysis_logs.series).set_index("run")
    assert table.loc["sft", ["win", "tie", "loss", "error"]].tolist() == [10, 35, 5, 0]
    assert table["tie_rate"].tolist() == pytest.approx([0.70, 0.66, 0.28, 0.30])
    assert table["judged"].tolist() == [50, 50, 50, 50]


def test_verdict_table_leaves_out_runs_without_a_judge(analysis_logs):
    table = analysis.verdicts([analysis_logs.series[0], analysis_logs.epochs])
    assert table["run"].tolist() == ["sft"]


def test_consistency_table_scores_the_majority_answer(analysis_logs):
    table = analysis.consistency(analysis_logs.epochs).iloc[0]
    # 12 questions: 6 always right, 3 always wrong, 3 right on one epoch of three
    assert table["epochs"] == 3
    assert table["questions"] == 12
    assert table["consistency"] == pytest.approx(9 / 12)
    assert table["agreement"] == pytest.approx((9 + 3 / 3) / 12)
    assert table["accuracy"] == pytest.approx((6 + 3 / 3) / 12)
    assert table["majority_accuracy"] == pytest.approx(6 / 12)


def test_consistency_table_matches_the_inspect_metrics_on_the_same_log(analysis_logs):
    log = read_eval_log(str(analysis_logs.epochs))
    scores = [
        SampleScore(score=s.scores["final_number"], sample_id=s.id) for s in log.samples or []
    ]
    table = analysis.consistency(analysis_logs.epochs).iloc[0]
    assert table["consistency"] == pytest.approx(metrics.consistency()(scores))
    assert table["agreement"] == pytest.approx(metrics.agreement()(scores))
    assert table["accuracy"] == pytest.approx(metrics.mean_accuracy()(scores))
    assert table["majority_accuracy"] == pytest.approx(metrics.majority_accuracy()(scores))


def test_run_frame_has_consistency_with_a_wilson_interval_over_questions(analysis_logs):
    row = analysis.runs(analysis_logs.epochs).set_index("metric").loc["consistency"]
    low, high = proportion_confint(9, 12, alpha=0.05, method="wilson")
    assert row["value"] == pytest.approx(0.75)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))


def test_tables_accept_a_samples_frame_instead_of_logs(analysis_logs):
    frame = analysis.samples(analysis_logs.series)
    assert analysis.verdicts(frame).equals(analysis.verdicts(analysis_logs.series))


def test_a_logset_is_read_once_and_reused(analysis_logs):
    logs = analysis.load(analysis_logs.series)
    assert analysis.samples(logs).shape == (4 * 50, len(analysis.samples(logs).columns))
    assert logs.samples is logs.samples
