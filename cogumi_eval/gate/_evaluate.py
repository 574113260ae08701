"""Evaluate a gate: every rule's test, the family-wise correction, and the verdicts.

Semantics (the report and the README say the same):

- delta = candidate − baseline on paired units; "worse" follows the rule's direction.
- A margin rule (``max_drop``) FAILS when the candidate is significantly worse by
  more than the margin: the one-sided test of H0 "worse by at most the margin"
  rejects at α = (1 − confidence) / 2 after the correction, i.e. the whole
  two-sided interval of delta lies beyond −margin (before correction). It PASSES
  otherwise. Whether non-inferiority was *shown* (H0 "worse by more than the
  margin" rejected: the whole interval above −margin) is reported beside it.
- ``require_power``: a pass that did not show non-inferiority, from a sample whose
  power to detect a drop of the margin (or ``detect``) is below the requirement,
  is UNDERPOWERED; it exits 0 with a warning unless ``on_underpowered = "fail"``.
- A bound (``min``/``max``) FAILS in "interval" mode when the candidate is
  significantly beyond it (the whole interval beyond the bound; the tests join
  the correction), and warns when only the point estimate is; in "point" mode
  the point estimate decides.
- Rules that cannot be evaluated are ERROR (exit 2), never silently passed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy import stats as _scipy_stats

from ..stats import (
    Alternative,
    ConfidenceInterval,
    adjust_pvalues,
    clt_interval,
    mcnemar_exact,
    paired_bootstrap,
    paired_difference,
    paired_power,
    t_pvalue,
    verdict_shift,
    wilson_interval,
    z_pvalue,
    z_statistic,
)
from ._errors import LogError
from ._logs import RunLog, load_runs
from ._measure import LogLevelValues, PairedValues, Pairing, RuleError, measure, pair_runs
from ._report import BoundCheck, GateReport, PowerCheck, RuleResult
from ._spec import GateRule, GateSpec, load_spec


@dataclass
class _Hypothesis:
    rule: int
    kind: str  # "margin", "min" or "max"
    pvalue: float


@dataclass
class _Draft:
    result: RuleResult
    rule: GateRule
    hypotheses: list[_Hypothesis] = field(default_factory=list)
    point_warnings: list[str] = field(default_factory=list)


def evaluate_gate(
    baseline: str | Path | Mapping[str, RunLog],
    candidate: str | Path | Mapping[str, RunLog],
    spec: str | Path | GateSpec,
) -> GateReport:
    """Compare a candidate run with a baseline run under a gate spec.

    Args:
        baseline: the last good run: an eval log, a folder of logs, or runs by task.
        candidate: the new run, in the same form.
        spec: a gate spec file or a parsed ``GateSpec``.
    """
    spec = spec if isinstance(spec, GateSpec) else load_spec(spec)
    base_runs = baseline if isinstance(baseline, Mapping) else load_runs(baseline, "baseline")
    cand_runs = candidate if isinstance(candidate, Mapping) else load_runs(candidate, "candidate")
    if not set(base_runs) & set(cand_runs):
        raise LogError(
            f"the baseline logs hold task(s) {sorted(base_runs)} and the candidate logs "
            f"{sorted(cand_runs)}: "
            "no task in common to pair. Compare runs of the same task."
        )
    pairings: dict[str, Pairing] = {}
    drafts = [
        _evaluate_rule(i, rule, base_runs, cand_runs, pairings) for i, rule in enumerate(spec.rules)
    ]
    hypotheses = [h for d in drafts for h in d.hypotheses]
    adjusted = adjust_pvalues([h.pvalue for h in hypotheses], spec.correction).adjusted  # type: ignore[arg-type]
    for hypothesis, p in zip(hypotheses, adjusted, strict=True):
        _apply_adjusted(drafts[hypothesis.rule], hypothesis.kind, p)
    results = [_decide(d) for d in drafts]
    warnings = [
        f"{side} log of task {task!r} has status {run.status!r} ({run.path}): "
        "the run did not finish"
        for side, runs in (("baseline", base_runs), ("candidate", cand_runs))
        for task, run in runs.items()
        if run.status != "success"
    ]
    return GateReport(
        rules=results,
        correction=spec.correction,
        family_size=len(hypotheses),
        spec=spec.source,
        baseline=[run.describe() for run in base_runs.values()],
        candidate=[run.describe() for run in cand_runs.values()],
        warnings=warnings,
        on_underpowered={rule.name: rule.on_underpowered for rule in spec.rules},
    )


def _base_result(rule: GateRule, verdict: str = "pass", reason: str = "") -> RuleResult:
    return RuleResult(
        name=rule.name,
        task=rule.task,
        metric=rule.metric,
        verdict=verdict,  # type: ignore[arg-type]
        reason=reason,
        scorer=rule.scorer,
        direction=rule.direction,
        confidence=rule.confidence,
        alpha=rule.alpha,
    )


def _runs_for(
    rule: GateRule, base_runs: Mapping[str, RunLog], cand_runs: Mapping[str, RunLog]
) -> tuple[RunLog, RunLog] | str:
    """The two runs of the rule's task, or why there are none ("skip:" when in neither)."""
    in_base, in_cand = rule.task in base_runs, rule.task in cand_runs
    if in_base and in_cand:
        return base_runs[rule.task], cand_runs[rule.task]
    if not in_base and not in_cand:
        return (
            f"skip:task {rule.task!r} is in neither log set (baseline has {sorted(base_runs)}, "
            f"candidate has {sorted(cand_runs)})"
        )
    missing, present = ("baseline", "candidate") if not in_base else ("candidate", "baseline")
    found = sorted(base_runs if missing == "baseline" else cand_runs)
    return (
        f"task {rule.task!r} is in the {present} logs but not the {missing} logs "
        f"({missing} tasks: {found})"
    )


def _evaluate_rule(
    index: int,
    rule: GateRule,
    base_runs: Mapping[str, RunLog],
    cand_runs: Mapping[str, RunLog],
    pairings: dict[str, Pairing],
) -> _Draft:
    runs = _runs_for(rule, base_runs, cand_runs)
    if isinstance(runs, str):
        skip = runs.startswith("skip:")
        message = runs.removeprefix("skip:")
        if skip and not rule.required:
            return _Draft(_base_result(rule, "skipped", f"{message}; required = false"), rule)
        return _Draft(_base_result(rule, "error", message), rule)
    baseline, candidate = runs
    if not rule.required and _absent_everywhere(rule, baseline, candidate):
        return _Draft(
            _base_result(
                rule,
                "skipped",
                _absent_everywhere(rule, baseline, candidate) + "; required = false",
            ),
            rule,
        )
    try:
        if rule.task not in pairings:
            pairings[rule.task] = pair_runs(baseline, candidate)
        values = measure(rule, baseline, candidate, pairings[rule.task])
        if isinstance(values, LogLevelValues):
            return _log_level_rule(index, rule, values)
        return _paired_rule(index, rule, values)
    except RuleError as ex:
        return _Draft(_base_result(rule, "error", str(ex)), rule)
    except ValueError as ex:
        return _Draft(_base_result(rule, "error", f"cannot test: {ex}"), rule)


def _absent_everywhere(rule: GateRule, baseline: RunLog, candidate: RunLog) -> str:
    """Why an optional rule does not apply to these runs ("" when it does)."""
    from ._measure import JUDGE_SCORER, task_scorer
    from ._spec import SAMPLE_METRICS, VERDICT_METRICS

    # a user's task names its scorer in the logs' descriptor; old logs fall back to the task name
    scorer = rule.scorer or (
        JUDGE_SCORER
        if rule.metric in VERDICT_METRICS
        else task_scorer(rule.task, candidate, baseline)
    )
    if scorer and scorer not in baseline.scores and scorer not in candidate.scores:
        return f"neither run of {rule.task!r} has {scorer!r} scores"
    needs_epochs = rule.pass_at_k or (
        2 if rule.metric in SAMPLE_METRICS and rule.metric != "mean_accuracy" else 1
    )
    if baseline.epochs < needs_epochs and candidate.epochs < needs_epochs:
        return f"{rule.metric} needs {needs_epochs} epochs; both runs have fewer"
    return ""


def _log_level_rule(index: int, rule: GateRule, values: LogLevelValues) -> _Draft:
    if rule.has_margin:
        raise RuleError(
            f"metric {rule.metric!r} of {values.scorer!r} exists only as one log-level value "
            "per run (no per-sample scores), so no paired test can be applied to a max_drop; "
            "check it with min/max bounds (judged on the point value), or gate a per-sample "
            "metric instead"
        )
    result = _base_result(rule)
    result.scorer, result.test, result.unit = values.scorer, "none (log-level value)", "log"
    result.baseline, result.candidate = values.baseline, values.candidate
    result.delta = values.candidate - values.baseline
    result.notes.append(
        "log-level metric: no per-sample data, so bounds are judged on the point value"
    )
    for kind, bound in (("min", rule.min), ("max", rule.max)):
        if bound is not None:
            beyond = values.candidate < bound if kind == "min" else values.candidate > bound
            result.bounds.append(BoundCheck(kind=kind, bound=bound, mode="point", violated=beyond))
    return _Draft(result, rule)


def _side_interval(
    values: np.ndarray, clusters: list[str] | None, binary: bool, confidence: float
) -> tuple[ConfidenceInterval, float]:
    """A run's interval and standard error: Wilson for independent 0/1 values, else CLT."""
    if binary and clusters is None:
        estimate = wilson_interval(int(values.sum()), int(values.size), confidence=confidence)
    else:
        estimate = clt_interval(values, clusters=clusters, confidence=confidence)
    return estimate.interval, estimate.se


def _flip(interval: ConfidenceInterval, sign: float) -> ConfidenceInterval:
    if sign > 0:
        return interval
    return ConfidenceInterval(-interval.high, -interval.low, interval.level)


def _paired_rule(index: int, rule: GateRule, values: PairedValues) -> _Draft:
    result = _base_result(rule)
    draft = _Draft(result, rule)
    result.scorer, result.unit, result.n = values.scorer, values.unit, values.n
    result.exclusions = values.exclusions.as_dict()
    result.excluded_summary = values.exclusions.summary()
    if values.unit == "epoch" and values.epochs > 1:
        result.notes.append(
            f"{values.epochs} epochs per sample: standard errors clustered by sample id"
        )
    if rule.cluster:
        result.notes.append(f"standard errors clustered by metadata {rule.cluster!r}")
    binary = values.binary
    result.baseline, result.candidate = (
        float(values.baseline.mean()),
        float(values.candidate.mean()),
    )
    base_interval, _ = _side_interval(values.baseline, values.clusters, binary, rule.confidence)
    cand_interval, cand_se = _side_interval(
        values.candidate, values.clusters, binary, rule.confidence
    )
    result.baseline_interval, result.candidate_interval = base_interval, cand_interval
    if rule.has_margin:
        _margin_test(index, draft, values, binary)
    _bound_tests(index, draft, values, binary, cand_se)
    return draft


def _margin_test(index: int, draft: _Draft, values: PairedValues, binary: bool) -> None:
    rule, result = draft.rule, draft.result
    sign = 1.0 if rule.direction == "higher" else -1.0
    assert result.baseline is not None
    if rule.max_drop_relative is not None:
        margin = rule.max_drop_relative * abs(result.baseline)
        result.notes.append(
            f"margin {rule.max_drop_relative:g} of the baseline value = {margin:.4f}"
        )
    else:
        margin = float(rule.max_drop or 0.0)
    result.margin = margin
    result.test = rule.test
    c, b = sign * values.candidate, sign * values.baseline
    if rule.test == "paired-z":
        test = paired_difference(
            c,
            b,
            clusters=values.clusters,
            null=-margin,
            alternative="less",
            confidence=rule.confidence,
        )
        df = test.details["df"]
        p_worse = test.pvalue
        p_noninferior = (
            z_pvalue(test.statistic, "greater")
            if df is None
            else t_pvalue(test.statistic, df, "greater")
        )
        estimate, interval, se = sign * test.estimate, _flip(test.interval, sign), test.se
        if df is not None:
            clusters = test.details["clusters"]
            result.test = f"paired-z (clustered: {clusters} clusters, CR2 SE, t with {df:.1f} df)"
    elif rule.test == "bootstrap":
        test = paired_bootstrap(
            c,
            b,
            clusters=values.clusters,
            null=-margin,
            alternative="less",
            confidence=rule.confidence,
            resamples=rule.resamples,
            seed=rule.seed,
        )
        p_worse, p_noninferior = test.details["pvalue_less"], test.details["pvalue_greater"]
        estimate, interval, se = sign * test.estimate, _flip(test.interval, sign), test.se
        if values.clusters is None:
            result.test = f"paired bootstrap ({rule.resamples} resamples, seed {rule.seed})"
        else:
            result.test = (
                f"wild cluster bootstrap-t ({test.details['clusters']} clusters, "
                f"{rule.resamples} resamples, "
                f"seed {rule.seed})"
            )
    elif rule.test == "mcnemar":
        if values.clusters is not None or not binary:
            raise RuleError(
                "McNemar's test needs one 0/1 outcome per sample (one epoch, no clusters); "
                'use test = "paired-z" or "bootstrap", which cluster by sample'
            )
        worse: Alternative = "less" if sign > 0 else "greater"
        better: Alternative = "greater" if sign > 0 else "less"
        test = mcnemar_exact(
            values.candidate, values.baseline, alternative=worse, confidence=rule.confidence
        )
        p_worse = test.pvalue
        p_noninferior = mcnemar_exact(values.candidate, values.baseline, alternative=better).pvalue
        estimate, interval, se = test.estimate, test.interval, test.se
        result.test = (
            f"mcnemar exact ({test.details['worse']} worse, {test.details['better']} better)"
        )
    else:  # stuart-maxwell on the verdict table
        if values.clusters is not None or values.verdicts is None:
            raise RuleError(
                "the Stuart-Maxwell test needs one verdict per sample (one epoch, no clusters)"
            )
        shift = verdict_shift(values.verdicts[0], values.verdicts[1], confidence=rule.confidence)
        estimate, interval = shift.estimate, shift.interval
        se = (interval.high - interval.low) / (2 * _z(rule.confidence))
        fell = estimate < 0
        p_worse, p_noninferior = (shift.pvalue if fell else 1.0), None
        result.baseline, result.candidate = (
            _preference(shift.baseline_rates),
            _preference(shift.candidate_rates),
        )
        result.baseline_interval = result.candidate_interval = None
        result.test = f"stuart-maxwell (chi2 {shift.statistic:.2f}, df {shift.df})"
        result.margin = None
        rates = " / ".join(shift.categories)
        result.notes.append(
            f"{rates}: baseline "
            + " / ".join(f"{shift.baseline_rates[k]:.2f}" for k in shift.categories)
            + " -> candidate "
            + " / ".join(f"{shift.candidate_rates[k]:.2f}" for k in shift.categories)
            + "; values are preference scores (win 1, tie 0.5, loss 0)"
        )
        if not fell:
            result.notes.append("the preference score did not fall, so a shift is not a regression")
    result.delta, result.delta_interval = estimate, interval
    result.pvalue, result.pvalue_noninferiority = p_worse, p_noninferior
    draft.hypotheses.append(_Hypothesis(index, "margin", p_worse))
    result.power = _power(rule, values.n, se, margin)


def _z(confidence: float) -> float:
    return float(_scipy_stats.norm.isf((1.0 - confidence) / 2.0))


def _preference(rates: dict[str, float]) -> float:
    return rates.get("win", 0.0) + 0.5 * rates.get("tie", 0.0)


def _power(rule: GateRule, n: int, se: float, margin: float) -> PowerCheck | None:
    effect = float(rule.detect or margin)
    if effect <= 0:
        return None
    target = rule.require_power or 0.8
    if se <= 0:
        return PowerCheck(
            required=rule.require_power, effect=effect, power=1.0, mde=0.0, needed_n=n
        )
    power = paired_power(n, effect, sd=se * math.sqrt(n), alpha=rule.alpha, target_power=target)
    return PowerCheck(
        required=rule.require_power,
        effect=effect,
        power=power.power,
        mde=power.mde,
        needed_n=power.required_n,
    )


def _bound_tests(
    index: int, draft: _Draft, values: PairedValues, binary: bool, cand_se: float
) -> None:
    rule, result = draft.rule, draft.result
    assert result.candidate is not None
    n = values.n
    for kind, bound in (("min", rule.min), ("max", rule.max)):
        if bound is None:
            continue
        beyond = result.candidate < bound if kind == "min" else result.candidate > bound
        if rule.bound == "point":
            result.bounds.append(BoundCheck(kind=kind, bound=bound, mode="point", violated=beyond))
            continue
        # score test for independent 0/1 values (what the Wilson interval inverts),
        # else z on the clustered SE
        if binary and values.clusters is None:
            se = math.sqrt(bound * (1.0 - bound) / n) if 0.0 < bound < 1.0 else 0.0
        else:
            se = cand_se
        statistic = z_statistic(result.candidate - bound, se)
        pvalue = z_pvalue(statistic, "less" if kind == "min" else "greater")
        if (kind == "min" and bound <= 0.0 and binary) or (
            kind == "max" and bound >= 1.0 and binary
        ):
            pvalue = 1.0  # a proportion cannot be beyond [0, 1]
        result.bounds.append(
            BoundCheck(kind=kind, bound=bound, mode="interval", violated=False, pvalue=pvalue)
        )
        draft.hypotheses.append(_Hypothesis(index, kind, pvalue))
        if beyond:
            draft.point_warnings.append(
                f"point estimate {result.candidate:.3f} is beyond {kind} {bound:g}"
            )
    if not rule.has_margin and result.bounds:
        tested = [b for b in result.bounds if b.pvalue is not None]
        if tested:
            result.pvalue = min(b.pvalue for b in tested if b.pvalue is not None)
            result.test = (
                "score test (Wilson)" if binary and values.clusters is None else "z test (CLT)"
            )


def _apply_adjusted(draft: _Draft, kind: str, adjusted: float) -> None:
    if kind == "margin":
        draft.result.pvalue_adjusted = adjusted
        return
    for bound in draft.result.bounds:
        if bound.kind == kind:
            bound.pvalue_adjusted = adjusted
    if not draft.rule.has_margin:
        draft.result.pvalue_adjusted = min(
            b.pvalue_adjusted for b in draft.result.bounds if b.pvalue_adjusted is not None
        )


def _decide(draft: _Draft) -> RuleResult:
    result, rule = draft.result, draft.rule
    if result.verdict in ("error", "skipped"):
        return result
    alpha = rule.alpha
    failures: list[str] = []
    if result.pvalue_adjusted is not None and rule.has_margin and result.pvalue_adjusted <= alpha:
        if rule.metric == "verdicts":
            failures.append(
                "the verdict distribution shifted significantly and the preference score fell "
                f"(adjusted p {result.pvalue_adjusted:.2g} <= {alpha:g})"
            )
        else:
            failures.append(
                f"significantly worse by more than the margin {result.margin:.3f} "
                f"(adjusted p {result.pvalue_adjusted:.2g} <= {alpha:g})"
            )
    for bound in result.bounds:
        if bound.mode == "interval":
            bound.violated = bound.pvalue_adjusted is not None and bound.pvalue_adjusted <= alpha
        if bound.violated:
            how = "significantly " if bound.mode == "interval" else ""
            side = "below min" if bound.kind == "min" else "above max"
            failures.append(f"candidate {result.candidate:.3f} is {how}{side} {bound.bound:g}")
    if failures:
        return replace(result, verdict="fail", reason="; ".join(failures))
    reasons: list[str] = []
    verdict = "pass"
    if rule.has_margin:
        shown = result.pvalue_noninferiority is not None and result.pvalue_noninferiority <= alpha
        if rule.metric == "verdicts":
            reasons.append(f"no significant shift toward worse verdicts (p {result.pvalue:.3g})")
        elif shown:
            reasons.append(f"non-inferior: the interval of delta lies above -{result.margin:.3f}")
        else:
            reasons.append(
                f"no significant drop beyond the margin {result.margin:.3f} (p {result.pvalue:.3g})"
            )
        power = result.power
        if power is not None and not shown:
            if power.required is not None and power.power < power.required:
                verdict = "underpowered"
                reasons = [
                    (
                        f"underpowered: {result.n} pairs tell a {power.effect:.3f} drop from no "
                        f"change with power {power.power:.2f} < {power.required:.2f} (minimum "
                        f"detectable effect {power.mde:.3f}; about {power.needed_n} pairs needed); "
                        "no significant drop beyond the margin, non-inferiority not shown"
                    )
                ]
            elif rule.metric != "verdicts":
                reasons.append(
                    f"non-inferiority not shown (minimum detectable effect {power.mde:.3f})"
                )
    for warning in draft.point_warnings:
        if verdict == "pass":
            verdict = "warn"
        reasons.append(f"{warning} but not significantly")
    if not reasons:
        reasons.append("within bounds")
    if verdict == "underpowered" and rule.on_underpowered == "fail":
        reasons.append('on_underpowered = "fail"')
    return replace(result, verdict=verdict, reason="; ".join(reasons))  # type: ignore[arg-type]
