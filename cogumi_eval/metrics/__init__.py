"""Metrics and epoch reducers: accuracy, pass@k, win/tie/loss and tie rate, consistency.

Each family lives in its own module and is re-exported here.
"""

from ._consistency import (
    agreement,
    answer_agreement,
    answer_consistency,
    consistency,
    majority_accuracy,
    majority_vote,
    mean_accuracy,
    verdict_distribution,
    verdict_distribution_reducer,
)
from ._pass_at_k import parse_k, pass_at_k, pass_at_k_reducers
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
    "agreement",
    "answer_agreement",
    "answer_consistency",
    "consistency",
    "error_rate",
    "inconsistency_rate",
    "loss_rate",
    "majority_accuracy",
    "majority_vote",
    "mean_accuracy",
    "parse_k",
    "pass_at_k",
    "pass_at_k_reducers",
    "preference_rate",
    "tie_rate",
    "verdict_distribution",
    "verdict_distribution_reducer",
    "VERDICT_KEYS",
    "verdict_rate_metrics",
    "verdict_rates",
    "VerdictRates",
    "win_rate",
]
