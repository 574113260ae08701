"""Turn a rule and two runs into paired per-unit values (or log-level values, if that is all).

Pairing is by (sample id, epoch). Per-epoch metrics (accuracy, verdict rates)
give one value per pair, clustered by sample id when there are several epochs;
per-sample metrics (consistency, agreement, majority vote, pass@k) give one
value per sample from its epochs. Nothing is dropped silently: errored,
unscored, judge-error and unpaired samples are counted on each side.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .._task_descriptor import BUILTIN_TASKS
from ..metrics import (
    answer_key,
    is_consistent,
    majority_correct,
    pairwise_agreement,
    verdict_of,
)
from ._errors import GateError
from ._logs import RunLog, SampleKey
from ._spec import EPOCH_METRICS, SAMPLE_METRICS, VERDICT_METRICS, GateRule, builtin_metrics

TASK_SCORERS: dict[str, str] = {name: d.scorer for name, d in BUILTIN_TASKS.items()}
"""Correctness scorer of Cogumi's own tasks, for logs that carry no task descriptor."""
JUDGE_SCORER = "pairwise"
JUDGE_ERROR = "error"


class RuleError(GateError):
    """This rule cannot be evaluated on these logs (the report shows it; the gate exits 2)."""


@dataclass
class Exclusions:
    """What was left out of a rule's comparison, per side, and why."""

    samples_baseline: int = 0
    samples_candidate: int = 0
    unpaired_baseline: int = 0
    unpaired_candidate: int = 0
    errored_baseline: int = 0
    errored_candidate: int = 0
    unscored_baseline: int = 0
    unscored_candidate: int = 0
    judge_errors_baseline: int = 0
    judge_errors_candidate: int = 0
    incomplete_samples: int = 0

    def failed(self, side: str) -> int:
        return sum(
            getattr(self, f"{kind}_{side}") for kind in ("errored", "unscored", "judge_errors")
        )

    def failed_share(self, side: str) -> float:
        total = getattr(self, f"samples_{side}")
        return self.failed(side) / total if total else 0.0

    def summary(self) -> str:
        """A short phrase for a report row, empty when nothing was left out."""
        parts = []
        for kind, label in (
            ("errored", "errored"),
            ("unscored", "unscored"),
            ("judge_errors", "judge errors"),
            ("unpaired", "unpaired"),
        ):
            b, c = getattr(self, f"{kind}_baseline"), getattr(self, f"{kind}_candidate")
            if b or c:
                parts.append(f"{label} {b}/{c}")
        if self.incomplete_samples:
            parts.append(f"incomplete samples {self.incomplete_samples}")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class PairedValues:
    """One value per paired unit for each run, in the same order."""

    scorer: str
    unit: str  # "epoch" or "sample"
    candidate: np.ndarray
    baseline: np.ndarray
    clusters: list[str] | None
    epochs: int
    exclusions: Exclusions
    verdicts: tuple[list[str], list[str]] | None = None

    @property
    def n(self) -> int:
        return int(self.candidate.size)

    @property
    def binary(self) -> bool:
        both = np.concatenate([self.candidate, self.baseline])
        return bool(np.all((both == 0.0) | (both == 1.0)))


@dataclass
class LogLevelValues:
    """A metric that exists only as one number per log: bounds can be checked, nothing tested."""

    scorer: str
    metric: str
    baseline: float
    candidate: float
    exclusions: Exclusions = field(default_factory=Exclusions)


def _to_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return None if math.isnan(value) else float(value)
    if isinstance(value, str):
        mapped = {"C": 1.0, "I": 0.0, "P": 0.5, "N": 0.0}.get(value)
        if mapped is not None:
            return mapped
        try:
            return float(value)
        except ValueError:
            pass
    raise RuleError(f"score value {value!r} is not a number or C/I/P/N")


VerdictValue = Callable[[str], float]
_VERDICT_VALUES: dict[str, VerdictValue] = {
    "win_rate": lambda v: float(v == "win"),
    "tie_rate": lambda v: float(v == "tie"),
    "loss_rate": lambda v: float(v == "loss"),
    "win+tie": lambda v: float(v in ("win", "tie")),
    "preference": lambda v: {"win": 1.0, "tie": 0.5}.get(v, 0.0),
}


def _scorers_listing(run: RunLog) -> str:
    return ", ".join(sorted(run.scores)) or "none"


def task_scorer(task: str, *runs: RunLog) -> str | None:
    """A task's correctness scorer: from its logs' descriptor, else Cogumi's task of that name."""
    for run in runs:
        if run.descriptor is not None:
            return run.descriptor.scorer
    return TASK_SCORERS.get(task)


def resolve_scorer(rule: GateRule, baseline: RunLog, candidate: RunLog) -> str:
    """The scorer a rule reads: explicit, else the judge for verdict metrics, else the task's."""
    own = task_scorer(rule.task, candidate, baseline)
    if rule.scorer:
        scorer = rule.scorer
    elif rule.metric in VERDICT_METRICS:
        scorer = JUDGE_SCORER
    elif own is not None and (own in baseline.scores or own in candidate.scores):
        scorer = own
    else:
        found = sorted(set(baseline.scores) | set(candidate.scores))
        if len(found) != 1:
            raise RuleError(
                f'task {rule.task!r} has scorers {found or "none"}; name one with scorer = "..."'
            )
        scorer = found[0]
    for side, run in (("baseline", baseline), ("candidate", candidate)):
        if scorer not in run.scores:
            raise RuleError(
                f"the {side} log of task {rule.task!r} ({run.path}) has no {scorer!r} scores; "
                f"its scorers: {_scorers_listing(run)}"
            )
    return scorer


def _log_level(
    rule: GateRule, scorer: str, baseline: RunLog, candidate: RunLog
) -> LogLevelValues | None:
    values = []
    for run in (baseline, candidate):
        metrics = run.log_metrics.get(scorer, {})
        if rule.metric not in metrics:
            return None
        values.append(metrics[rule.metric])
    return LogLevelValues(
        scorer=scorer, metric=rule.metric, baseline=values[0], candidate=values[1]
    )


def _value_keys(run: RunLog, scorer: str) -> set[str]:
    for score in run.scores.get(scorer, []):
        if score is not None and isinstance(score.value, dict):
            return set(score.value)
    return set()


def _unknown_metric(rule: GateRule, scorer: str, baseline: RunLog) -> RuleError:
    keys = sorted(_value_keys(baseline, scorer))
    log_metrics = sorted(f"{s}/{m}" for s, ms in baseline.log_metrics.items() for m in ms)
    return RuleError(
        f"metric {rule.metric!r} is not available for task {rule.task!r} (scorer {scorer!r}). "
        f"Built-in: {', '.join(builtin_metrics())}; "
        f"value keys of {scorer!r} scores: {', '.join(keys) or 'none'}; "
        f"log metrics (bounds only): {', '.join(log_metrics) or 'none'}"
    )


def measure(
    rule: GateRule, baseline: RunLog, candidate: RunLog, pairing: Pairing | None = None
) -> PairedValues | LogLevelValues:
    """Paired values (or log-level values) for ``rule`` from the two runs of its task.

    Args:
        rule: the rule.
        baseline: the baseline run of the rule's task.
        candidate: the candidate run of the same task.
        pairing: ``pair_runs(baseline, candidate)``, when already computed for another rule.
    """
    scorer = resolve_scorer(rule, baseline, candidate)
    metric = rule.metric
    if metric in EPOCH_METRICS or metric == "verdicts":
        per_epoch = _epoch_value(metric, scorer)
    elif metric in SAMPLE_METRICS or rule.pass_at_k is not None:
        per_epoch = _correctness if metric not in ("consistency", "agreement") else _any_score
    elif metric in _value_keys(baseline, scorer) and metric in _value_keys(candidate, scorer):
        per_epoch = _dict_key(metric)
    else:
        level = _log_level(rule, scorer, baseline, candidate)
        if level is None:
            raise _unknown_metric(rule, scorer, baseline)
        level.exclusions = Exclusions(
            samples_baseline=len(baseline.keys), samples_candidate=len(candidate.keys)
        )
        return level
    return _pair(
        rule, scorer, baseline, candidate, per_epoch, pairing or pair_runs(baseline, candidate)
    )


class _JudgeError(Exception):
    """Raised by a per-epoch extractor: this score is a judge error (left out, counted)."""


# per-epoch extraction: score -> (value, verdict label or None)
EpochValue = Callable[[Any], tuple[float, str | None]]


def _correctness(score: Any) -> tuple[float, str | None]:
    if isinstance(score.value, dict):
        raise RuleError(
            "accuracy needs C/I or numeric scores; this scorer's values are dicts "
            "(use a rate or a value key)"
        )
    value = _to_float(score.value)
    assert value is not None
    return value, None


def _any_score(score: Any) -> tuple[float, str | None]:
    return 0.0, None


def _epoch_value(metric: str, scorer: str) -> EpochValue:
    if metric == "accuracy":
        return _correctness

    def verdict_value(score: Any) -> tuple[float, str | None]:
        verdict = verdict_of(score)
        if metric == "error_rate":
            return float(verdict == JUDGE_ERROR), verdict
        if verdict == JUDGE_ERROR:
            raise _JudgeError()
        if metric == "verdicts":
            return 0.0, verdict
        if verdict not in ("win", "tie", "loss"):
            raise RuleError(f"{scorer!r} verdict {verdict!r} is not win, tie, loss or error")
        return _VERDICT_VALUES[metric](verdict), verdict

    return verdict_value


def _dict_key(key: str) -> EpochValue:
    def value(score: Any) -> tuple[float, str | None]:
        raw = score.value.get(key) if isinstance(score.value, dict) else None
        converted = _to_float(raw) if raw is not None else None
        if converted is None:
            raise _JudgeError()
        return converted, None

    return value


def _sample_ids(keys: list[SampleKey], limit: int = 3) -> str:
    shown = ", ".join(f"{k.id}#{k.epoch}" for k in keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


@dataclass
class Pairing:
    """How two runs of a task pair up: positions of each pair in baseline order."""

    baseline: np.ndarray  # index into the baseline run's samples
    candidate: np.ndarray  # index into the candidate run's samples, same order
    only_baseline: list[SampleKey]
    only_candidate: list[SampleKey]


def pair_runs(baseline: RunLog, candidate: RunLog) -> Pairing:
    """Pair two runs by (sample id, epoch)."""
    candidate_index = candidate.index
    pairs = [
        (i, candidate_index[key]) for i, key in enumerate(baseline.keys) if key in candidate_index
    ]
    baseline_index = baseline.index
    indices = np.array(pairs, dtype=np.intp).reshape(-1, 2)
    return Pairing(
        baseline=indices[:, 0],
        candidate=indices[:, 1],
        only_baseline=[k for k in baseline.keys if k not in candidate_index],
        only_candidate=[k for k in candidate.keys if k not in baseline_index],
    )


def _is_nan(value: Any) -> bool:
    return value.__class__ is float and math.isnan(value)


# why an attempt is left out: 0 kept, 1 the sample errored, 2 no score, 3 a judge error
_KEPT, _ERRORED, _UNSCORED, _JUDGE_ERROR = 0, 1, 2, 3


@dataclass
class _Extracted:
    status: np.ndarray  # one of the codes above, per sample of the run
    values: np.ndarray
    labels: list[str | None]


def _extract(run: RunLog, scorer: str, per_epoch: EpochValue) -> _Extracted:
    """Each sample's value (or why there is none), in one pass over the run."""
    status: list[int] = []
    values: list[float] = []
    labels: list[str | None] = []
    for error, score in zip(run.errors, run.scores[scorer], strict=True):
        value, label, code = 0.0, None, _KEPT
        if error is not None:
            code = _ERRORED
        elif score is None or _is_nan(score.value):
            code = _UNSCORED
        else:
            try:
                value, label = per_epoch(score)
            except _JudgeError:
                code = _JUDGE_ERROR
        status.append(code)
        values.append(value)
        labels.append(label)
    return _Extracted(np.array(status, dtype=np.int8), np.array(values, dtype=np.float64), labels)


def _pair(
    rule: GateRule,
    scorer: str,
    baseline: RunLog,
    candidate: RunLog,
    per_epoch: EpochValue,
    pairing: Pairing,
) -> PairedValues:
    excluded = Exclusions(
        samples_baseline=len(baseline.keys), samples_candidate=len(candidate.keys)
    )
    only_baseline, only_candidate = pairing.only_baseline, pairing.only_candidate
    excluded.unpaired_baseline, excluded.unpaired_candidate = (
        len(only_baseline),
        len(only_candidate),
    )
    if (only_baseline or only_candidate) and not rule.allow_unpaired:
        raise RuleError(
            f"samples do not pair: {len(only_baseline)} only in the baseline "
            f"({_sample_ids(only_baseline) or '-'}), "
            f"{len(only_candidate)} only in the candidate ({_sample_ids(only_candidate) or '-'}). "
            "Run both on the same samples and epochs, or set allow_unpaired = true to compare "
            "the shared ones."
        )
    base, cand = _extract(baseline, scorer, per_epoch), _extract(candidate, scorer, per_epoch)
    base_status, cand_status = base.status[pairing.baseline], cand.status[pairing.candidate]
    base_counts = np.bincount(base_status, minlength=4)
    cand_counts = np.bincount(cand_status, minlength=4)
    excluded.errored_baseline, excluded.unscored_baseline, excluded.judge_errors_baseline = map(
        int, base_counts[1:4]
    )
    excluded.errored_candidate, excluded.unscored_candidate, excluded.judge_errors_candidate = map(
        int, cand_counts[1:4]
    )
    for name in ("baseline", "candidate"):
        if excluded.failed_share(name) > rule.max_error_rate:
            raise RuleError(
                f"{excluded.failed(name)} of {getattr(excluded, 'samples_' + name)} {name} samples "
                f"errored or "
                f"were not scored ({excluded.summary()}), "
                f"more than max_error_rate = {rule.max_error_rate:g}; "
                "fix or re-run them (inspect eval-retry), or raise max_error_rate"
            )
    kept = (base_status == _KEPT) & (cand_status == _KEPT)
    b_index, c_index = pairing.baseline[kept], pairing.candidate[kept]
    keys = baseline.keys
    ids = [keys[i].id for i in b_index.tolist()]
    dropped_ids = {keys[i].id for i in pairing.baseline[~kept].tolist()}
    if rule.metric in SAMPLE_METRICS or rule.pass_at_k is not None:
        return _per_sample(
            rule, scorer, baseline, candidate, b_index, c_index, ids, dropped_ids, excluded
        )
    if len(ids) < 2:
        raise RuleError(
            f"only {len(ids)} paired sample(s) left to compare "
            f"({excluded.summary() or 'nothing excluded'})"
        )
    epochs = max(Counter(ids).values())
    if rule.cluster:
        clusters: list[str] | None = _clusters(rule, baseline, b_index.tolist())
    else:
        clusters = ids if epochs > 1 else None
    verdicts = None
    if rule.metric == "verdicts":
        verdicts = (
            [base.labels[i] or "" for i in b_index.tolist()],
            [cand.labels[j] or "" for j in c_index.tolist()],
        )
    return PairedValues(
        scorer=scorer,
        unit="epoch",
        candidate=cand.values[c_index],
        baseline=base.values[b_index],
        clusters=clusters,
        epochs=epochs,
        exclusions=excluded,
        verdicts=verdicts,
    )


def _clusters(rule: GateRule, run: RunLog, indices: list[int]) -> list[str]:
    labels = []
    for index in indices:
        label = run.metadata[index].get(rule.cluster or "")
        if label is None:
            present = sorted(run.metadata[index])
            raise RuleError(
                f"sample {run.keys[index].id} has no metadata {rule.cluster!r} to cluster by; "
                f"its metadata keys: {present or 'none'}"
            )
        labels.append(str(label))
    return labels


def _pass_at(k: int, scores: list[Any]) -> float:
    n = len(scores)
    correct = sum(1 for s in scores if (_to_float(s.value) or 0.0) >= 1.0)
    if n - correct < k:
        return 1.0
    return 1.0 - math.comb(n - correct, k) / math.comb(n, k)


def _per_sample(
    rule: GateRule,
    scorer: str,
    baseline: RunLog,
    candidate: RunLog,
    b_index: np.ndarray,
    c_index: np.ndarray,
    ids: list[str],
    dropped_ids: set[str],
    excluded: Exclusions,
) -> PairedValues:
    """One value per sample from its epochs; an excluded epoch leaves its sample out (counted)."""
    units: dict[str, list[tuple[int, int]]] = {}
    for i, j, sample_id in zip(b_index.tolist(), c_index.tolist(), ids, strict=True):
        if sample_id not in dropped_ids:
            units.setdefault(sample_id, []).append((i, j))
    excluded.incomplete_samples = len(dropped_ids & set(ids))
    metric, k = rule.metric, rule.pass_at_k
    fewest = min((len(pairs) for pairs in units.values()), default=0)
    needed = (
        k
        if k is not None
        else (2 if metric in ("consistency", "agreement", "majority_accuracy") else 1)
    )
    if fewest < needed:
        raise RuleError(
            f"{metric} needs at least {needed} epochs per sample; some samples have {fewest}. "
            f"Run both models with --epochs {max(needed, 2)} (temperature > 0)."
        )

    def value(scores: list[Any]) -> float:
        if k is not None:
            return _pass_at(k, scores)
        answers = [answer_key(s) for s in scores]
        if metric == "consistency":
            return 1.0 if is_consistent(answers) else 0.0
        if metric == "agreement":
            return pairwise_agreement(answers)
        if metric == "majority_accuracy":
            return majority_correct(scores, lambda v: _to_float(v) or 0.0)[0]
        return sum(_to_float(s.value) or 0.0 for s in scores) / len(scores)

    base_scores, cand_scores = baseline.scores[scorer], candidate.scores[scorer]
    base, cand, first_index = [], [], []
    for pairs in units.values():
        base.append(value([base_scores[i] for i, _ in pairs]))
        cand.append(value([cand_scores[j] for _, j in pairs]))
        first_index.append(pairs[0][0])
    if len(base) < 2:
        raise RuleError(
            f"only {len(base)} complete sample(s) left to compare "
            f"({excluded.summary() or 'nothing excluded'})"
        )
    return PairedValues(
        scorer=scorer,
        unit="sample",
        candidate=np.array(cand),
        baseline=np.array(base),
        clusters=_clusters(rule, baseline, first_index) if rule.cluster else None,
        epochs=max(len(pairs) for pairs in units.values()),
        exclusions=excluded,
    )
