"""Consistency metrics and reducers, computed by Inspect itself over a real --epochs run."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from inspect_ai import Epochs, Task
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.log import EvalLog
from inspect_ai.scorer import Score, accuracy
from inspect_ai.solver import generate

from cogumi_eval.metrics import (
    agreement,
    answer_agreement,
    answer_consistency,
    consistency,
    majority_accuracy,
    majority_correct,
    majority_vote,
    mean_accuracy,
    pairwise_agreement,
    verdict_distribution,
)
from cogumi_eval.tasks import final_number
from cogumi_eval.testing import scripted_model

# per question: the four epochs' answers, and the target
ANSWERS = {
    "q-a": (["5", "5", "5", "5"], "5"),  # consistent, right
    "q-b": (["5", "5", "7", "7"], "7"),  # split 2-2: majority credit 1/2
    "q-c": (["3", "4", "3", "3"], "4"),  # majority 3 is wrong
}


def _epoch_responder():  # type: ignore[no-untyped-def]
    calls: dict[str, int] = defaultdict(int)

    def respond(prompt: str) -> str:
        answers = ANSWERS[prompt][0]
        answer = answers[calls[prompt] % len(answers)]
        calls[prompt] += 1
        return f"Working...\nANSWER: {answer}"

    return respond


def _run(tmp_path: Path, reducer: object) -> EvalLog:
    task = Task(
        dataset=MemoryDataset([Sample(id=q, input=q, target=t) for q, (_, t) in ANSWERS.items()]),
        solver=generate(),
        scorer=final_number(),
        metrics=[accuracy(), consistency(), agreement(), majority_accuracy(), mean_accuracy()],
        epochs=Epochs(4, reducer),  # type: ignore[arg-type]
    )
    [log] = inspect_eval(
        task, model=scripted_model(_epoch_responder()), log_dir=str(tmp_path), display="none"
    )
    assert log.status == "success", log.error
    return log


@pytest.fixture(scope="module")
def epochs_log(tmp_path_factory: pytest.TempPathFactory) -> EvalLog:
    return _run(
        tmp_path_factory.mktemp("consistency"),
        [majority_vote(), answer_consistency(), answer_agreement()],
    )


def _metrics(log: EvalLog) -> dict[str, float]:
    assert log.results is not None
    return {name: m.value for s in log.results.scores for name, m in s.metrics.items()}  # type: ignore[misc]


def test_consistency_is_the_share_of_questions_with_identical_answers(epochs_log: EvalLog) -> None:
    assert _metrics(epochs_log)["consistency"] == pytest.approx(1 / 3)


def test_agreement_is_the_mean_share_of_agreeing_epoch_pairs(epochs_log: EvalLog) -> None:
    # q-a: 6/6, q-b: 2/6, q-c: 3/6
    assert _metrics(epochs_log)["agreement"] == pytest.approx((1 + 2 / 6 + 3 / 6) / 3)


def test_majority_accuracy_gives_half_credit_to_a_two_way_tie(epochs_log: EvalLog) -> None:
    assert _metrics(epochs_log)["majority_accuracy"] == pytest.approx((1 + 0.5 + 0) / 3)


def test_mean_accuracy_averages_each_question_over_epochs(epochs_log: EvalLog) -> None:
    assert _metrics(epochs_log)["mean_accuracy"] == pytest.approx((1 + 0.5 + 0.25) / 3)


def test_reducers_write_per_sample_results_into_the_log(epochs_log: EvalLog) -> None:
    reductions = {
        str(r.reducer).split("/")[-1]: {s.sample_id: s for s in r.samples}
        for r in epochs_log.reductions or []
    }
    consistent = reductions["answer_consistency"]
    assert [consistent[q].value for q in ANSWERS] == [1.0, 0.0, 0.0]
    assert reductions["majority_vote"]["q-c"].answer == "3"
    assert reductions["majority_vote"]["q-c"].value == 0.0
    assert reductions["answer_agreement"]["q-b"].value == pytest.approx(2 / 6)


def test_pairwise_agreement_counts_pairs_exactly() -> None:
    assert pairwise_agreement(["a", "a", "b", "b", "b"]) == pytest.approx((1 + 3) / 10)
    assert pairwise_agreement(["a"]) == 1.0


def test_missing_answers_agree_with_each_other() -> None:
    assert pairwise_agreement(["<no answer>", "<no answer>"]) == 1.0
    credit, answer = majority_correct(
        [
            Score(value="I", answer=None),
            Score(value="I", answer=None),
            Score(value="C", answer="4"),
        ],
        lambda v: 1.0 if v == "C" else 0.0,
    )
    assert (credit, answer) == (0.0, "<no answer>")


def test_verdict_distribution_reports_mean_shares_and_split_samples() -> None:
    from inspect_ai.scorer import SampleScore

    verdicts = {"s1": ["tie", "tie", "tie"], "s2": ["win", "tie", "loss"]}
    scores = [
        SampleScore(score=Score(value={v: 1.0}, answer=v), sample_id=sid)
        for sid, vs in verdicts.items()
        for v in vs
    ]
    result = verdict_distribution()(scores)
    assert result == pytest.approx(
        {"win": 1 / 6, "tie": (1 + 1 / 3) / 2, "loss": 1 / 6, "error": 0.0, "split": 0.5}
    )
