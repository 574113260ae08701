"""Metrics and epoch reducers: accuracy, pass@k, win/tie/loss and tie rate, consistency.

Each family lives in its own module and is re-exported here, with the plain
functions behind them (answer keys, agreement of a list of answers, verdict
rates of a list of scores) that gate, judge and analysis use on logs.
"""

from ._consistency import (
    NO_ANSWER,
    VERDICT_LABELS,
    agreement,
    answer_agreement,
    answer_consistency,
    answer_key,
    consistency,
    is_consistent,
    majority_accuracy,
    majority_correct,
    majority_vote,
    mean_accuracy,
    pairwise_agreement,
    verdict_distribution,
    verdict_distribution_reducer,
    verdict_of,
)
from ._pass_at_k import (
    check_k,
    parse_k,
    pass_at_k,
    pass_at_k_label,
    pass_at_k_metric,
    pass_at_k_reducers,
    with_pass_at_k,
)
from ._verdicts import (
    VERDICT_KEYS,
    VerdictRates,
    error_rate,
    inconsistency_rate,
    loss_rate,
    preference_rate,
    tie_rate,
    verdict_rate_metrics,
    verdict_rates,
    win_rate,
)

__all__ = [
    "NO_ANSWER",
    "VERDICT_LABELS",
    "agreement",
    "answer_agreement",
    "answer_consistency",
    "answer_key",
    "check_k",
    "consistency",
    "is_consistent",
    "error_rate",
    "inconsistency_rate",
    "loss_rate",
    "majority_accuracy",
    "majority_correct",
    "majority_vote",
    "mean_accuracy",
    "parse_k",
    "pass_at_k",
    "pairwise_agreement",
    "pass_at_k_label",
    "pass_at_k_metric",
    "pass_at_k_reducers",
    "preference_rate",
    "tie_rate",
    "verdict_distribution",
    "verdict_distribution_reducer",
    "verdict_of",
    "VERDICT_KEYS",
    "verdict_rate_metrics",
    "verdict_rates",
    "VerdictRates",
    "win_rate",
    "with_pass_at_k",
]
