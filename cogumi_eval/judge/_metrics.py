"""Run-level judge figures written into the log's results beside the verdict rates.

Both read score metadata and take one score per sample per epoch
(``scores="unreduced"``), so nothing is lost to epoch reduction.
"""

from __future__ import annotations

from typing import Any

from inspect_ai.scorer import Metric, SampleScore, metric

from ._agreement import self_agreement


def _meta(score: SampleScore) -> dict[str, Any]:
    return score.score.metadata or {}


@metric(scores="unreduced")
def judge_stats() -> Metric:
    """Cache hits and misses, grader calls, tokens, dollars spent and saved, samples without a
    baseline.

    ``usd`` is what this run paid the grader (probe included); ``usd_cached``
    is what the verdicts served from the cache cost when they were bought;
    ``baseline_usd`` is what the baseline answers used cost when they were built.
    """

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        calls = [c for s in scores for c in _meta(s).get("calls", [])]
        return {
            "cache_hits": float(sum(c.get("cache") == "hit" for c in calls)),
            "cache_misses": float(sum(c.get("cache") == "miss" for c in calls)),
            "grader_calls": float(
                sum(c.get("attempts", 0) for c in calls)
                + sum(_meta(s).get("probe_calls", 0) for s in scores)
            ),
            "input_tokens": float(sum(c.get("input_tokens", 0) for c in calls)),
            "output_tokens": float(sum(c.get("output_tokens", 0) for c in calls)),
            "usd": float(
                sum(c.get("usd", 0.0) for c in calls)
                + sum(_meta(s).get("probe_usd", 0.0) for s in scores)
            ),
            "usd_cached": float(sum(c.get("usd_cached", 0.0) for c in calls)),
            "baseline_usd": float(sum(_meta(s).get("baseline_usd") or 0.0 for s in scores)),
            "missing_baseline": float(sum(bool(_meta(s).get("baseline_problem")) for s in scores)),
        }

    return compute


@metric(scores="unreduced")
def judge_agreement() -> Metric:
    """The grader's agreement with itself across repeats (share identical, and kappa)."""

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        ratings: list[list[str]] = []
        for s in scores:
            by_item: dict[str, dict[int, str | None]] = {}
            for c in _meta(s).get("calls", []):
                by_item.setdefault(c["order"], {})[c["repeat"]] = c.get("verdict")
            for repeats in by_item.values():
                verdicts = [repeats[r] for r in sorted(repeats)]
                if len(verdicts) > 1 and all(v is not None for v in verdicts):
                    ratings.append(verdicts)  # type: ignore[arg-type]
        width = max((len(r) for r in ratings), default=0)
        if width < 2:
            return {}  # one repeat: nothing to agree with, so no entries in the results
        result = self_agreement([r for r in ratings if len(r) == width])
        return {
            "self_agreement": result.agreement,
            "self_kappa": result.kappa,
        }

    return compute
