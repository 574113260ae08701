"""Rule semantics on in-memory runs: each test, Holm, epochs, bounds, directions, log-level
metrics."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from cogumi_eval.gate import evaluate_gate
from cogumi_eval.stats import (
    bias_reduced_stderr,
    clustered_stderr,
    mcnemar_exact,
    paired_difference,
)

Runs = Callable[..., Any]


def _gate(
    runs: Runs,
    write_spec: Callable[[str], Path],
    spec: str,
    base: dict[str, Any],
    cand: dict[str, Any],
) -> Any:
    return evaluate_gate(
        {"gsm8k": runs("gsm8k", **base)}, {"gsm8k": runs("gsm8k", **cand)}, write_spec(spec)
    )


def _flips(n: int, lost: int, gained: int, base_rate: float = 0.7) -> tuple[list[int], list[int]]:
    right = int(n * base_rate)
    baseline = [1] * right + [0] * (n - right)
    candidate = list(baseline)
    for i in range(lost):
        candidate[i] = 0
    for i in range(gained):
        candidate[right + i] = 1
    return baseline, candidate


def test_paired_z_rule_reports_the_stats_paired_difference(
    runs: Runs, write_spec: Callable[[str], Path]
) -> None:
    baseline, candidate = _flips(300, 12, 4)
    report = _gate(
        runs,
        write_spec,
        '[[rule]]\nname="a"\ntask="gsm8k"\nmetric="accuracy"\nmax_drop=0.01\n',
        {"outcomes": baseline},
        {"outcomes": candidate},
    )
    rule = report.rule("a")
    reference = paired_difference(candidate, baseline, null=-0.01, alternative="less")
    assert rule.delta == pytest.approx(reference.estimate)
    assert rule.pvalue == pytest.approx(reference.pvalue, abs=1e-12)
    assert rule.delta_interval.low == pytest.approx(reference.interval.low)


def test_holm_adjusts_across_every_tested_hypothesis_like_statsmodels(
    runs: Runs, write_spec: Callable[[str], Path]
) -> None:
    baseline, candidate = _flips(200, 9, 2)
    spec = (
        "".join(
            f'[[rule]]\nname="r{i}"\ntask="gsm8k"\nmetric="accuracy"\nmax_drop={m}\n'
            for i, m in enumerate((0.0, 0.01, 0.02))
        )
        + '[[rule]]\nname="floor"\ntask="gsm8k"\nmetric="accuracy"\nmin=0.7\n'
    )
    report = _gate(runs, write_spec, spec, {"outcomes": baseline}, {"outcomes": candidate})
    raw = [report.rule(f"r{i}").pvalue for i in range(3)] + [report.rule("floor").bounds[0].pvalue]
    adjusted = [report.rule(f"r{i}").pvalue_adjusted for i in range(3)] + [
        report.rule("floor").bounds[0].pvalue_adjusted
    ]
    assert adjusted == pytest.approx(list(multipletests(raw, method="holm")[1]), abs=1e-12)
    assert report.family_size == 4 and "Holm-adjusted across 4 tests" in report.summary()


def test_without_correction_adjusted_equals_raw(
    runs: Runs, write_spec: Callable[[str], Path]
) -> None:
    baseline, candidate = _flips(200, 9, 2)
    spec = (
        '[gate]\ncorrection="none"\n'
        '[[rule]]\nname="a"\ntask="gsm8k"\nmetric="accuracy"\nmax_drop=0\n'
        '[[rule]]\nname="b"\ntask="gsm8k"\nmetric="accuracy"\nmax_drop=0.01\n'
    )
    report = _gate(runs, write_spec, spec, {"outcomes": baseline}, {"outcomes": candidate})
    assert all(r.pvalue_adjusted == r.pvalue for r in report.rules)


def test_mcnemar_rule_uses_the_exact_one_sided_tail(
    runs: Runs, write_spec: Callable[[str], Path]
) -> None:
    baseline, candidate = _flips(120, 8, 1)
    report = _gate(
        runs,
        write_spec,
        '[[rule]]\nname="m"\ntask="gsm8k"\nmetric="accuracy"\nmax_drop=0\ntest="mcnemar"\n',
        {"outcomes": baseline},
        {"outcomes": candidate},
    )
    rule = report.rule("m")
    assert rule.pvalue == pytest.approx(
        mcnemar_exact(candidate, baseline, alternative="less").pvalue, abs=1e-12
    )
    assert rule.verdict == "fail" and "8 worse, 1 better" in (rule.test or "")


def test_bootstrap_rule_agrees_with_paired_z_on_a_clear_regression(
    runs: Runs, write_spec: Callable[[str], Path]
) -> None:
    baseline, candidate = _flips(400, 40, 5)
    spec = (
        '[[rule]]\nname="z"\ntask="gsm8k"\nmetric="accuracy"\nmax_drop=0.02\n'
        '[[rule]]\nname="b"\ntask="gsm8k"\nmetric="accuracy"\nmax_drop=0.02\n'
        'test="bootstrap"\nresamples=5000\n'
    )
    report = _gate(runs, write_spec, spec, {"outcomes": baseline}, {"outcomes": candidate})
    assert report.rule("z").verdict == report.rule("b").verdict == "fail"
    z, b = report.rule("z").delta_interval, report.rule("b").delta_interval
    assert b.low == pytest.approx(z.low, abs=0.01) and b.high == pytest.approx(z.high, abs=0.01)


def test_epochs_cluster_the_standard_error_by_sample(
    runs: Runs, write_spec: Callable[[str], Path]
) -> None:
    rng = np.random.default_rng(0)
    base_answers = [["1" if rng.random() < p else "0" for _ in range(4)] for p in rng.random(60)]
    cand_answers = [["1" if rng.random() < p else "0" for _ in range(4)] for p in rng.random(60)]
    report = _gate(
        runs,
        write_spec,
        '[[rule]]\nname="a"\ntask="gsm8k"\nmetric="accuracy"\nmax_drop=0.05\n',
        {"answers": base_answers, "epochs": 4},
        {"answers": cand_answers, "epochs": 4},
    )
    rule = report.rule("a")
    d = np.array(
        [
            float(c == "1") - float(b == "1")
            for bs, cs in zip(base_answers, cand_answers, strict=False)
            for b, c in zip(bs, cs, strict=False)
        ]
    )
    clusters = np.repeat(np.arange(60), 4)
    expected_se = clustered_stderr(d, clusters).se  # equal clusters: CR2 is CR1, with 60 - 1 df
    assert (
        rule.n == 240 and rule.test == "paired-z (clustered: 60 clusters, CR2 SE, t with 59.0 df)"
    )
    assert (rule.delta_interval.high - rule.delta_interval.low) / 2 == pytest.approx(
        stats.t.isf(0.025, 59) * expected_se
    )


def test_consistency_rule_compares_per_sample_agreement_across_epochs(
    runs: Runs, write_spec: Callable[[str], Path]
) -> None:
    stable = [["4", "4", "4"]] * 40
    wobbly = [["4", "4", "4"]] * 10 + [["4", "5", "4"]] * 30
    report = _gate(
        runs,
        write_spec,
        '[[rule]]\nname="c"\ntask="gsm8k"\nmetric="consistency"\nmax_drop=0.1\n',
        {"answers": stable, "epochs": 3},
        {"answers": wobbly, "epochs": 3},
    )
    rule = report.rule("c")
    assert (rule.baseline, rule.candidate, rule.unit, rule.n) == (1.0, 0.25, "sample", 40)
    assert rule.verdict == "fail"


def test_consistency_on_single_epoch_runs_says_to_run_epochs(
    runs: Runs, write_spec: Callable[[str], Path]
) -> None:
    report = _gate(
        runs,
        write_spec,
        '[[rule]]\nname="c"\ntask="gsm8k"\nmetric="consistency"\nmax_drop=0.1\n',
        {"outcomes": [1] * 10},
        {"outcomes": [1] * 10},
    )
    assert report.rule("c").verdict == "error" and "--epochs 2" in report.rule("c").reason


def test_optional_rule_is_skipped_when_its_data_is_in_neither_run(
    runs: Runs, write_spec: Callable[[str], Path]
) -> None:
    spec = (
        '[[rule]]\nname="c"\ntask="gsm8k"\nmetric="consistency"\nmax_drop=0.1\nrequired=false\n'
        '[[rule]]\nname="t"\ntask="gsm8k"\nmetric="tie_rate"\nmax_drop=0.1\nrequired=false\n'
        '[[rule]]\nname="a"\ntask="gsm8k"\nmetric="accuracy"\nmax_drop=0.1\n'
    )
    report = _gate(runs, write_spec, spec, {"outcomes": [1] * 10}, {"outcomes": [1] * 10})
    assert [r.verdict for r in report.rules] == ["skipped", "skipped", "pass"]
    assert report.exit_code == 0


def test_pass_at_k_uses_the_unbiased_estimator_per_sample(
    runs: Runs, write_spec: Callable[[str], Path]
) -> None:
    answers = [["1", "0", "0", "0", "0"]] * 20  # c=1 of n=5: pass@2 = 1 - C(4,2)/C(5,2) = 0.4
    report = _gate(
        runs,
        write_spec,
        '[[rule]]\nname="p"\ntask="gsm8k"\nmetric="pass@2"\nmin=0.1\n',
        {"answers": answers, "epochs": 5},
        {"answers": answers, "epochs": 5},
    )
    assert report.rule("p").candidate == pytest.approx(0.4)


def test_loss_rate_is_gated_in_the_lower_is_better_direction(
    runs: Runs, write_spec: Callable[[str], Path]
) -> None:
    base = ["win"] * 30 + ["tie"] * 60 + ["loss"] * 10
    cand = ["win"] * 30 + ["tie"] * 30 + ["loss"] * 40
    rule = _gate(
        runs,
        write_spec,
        '[[rule]]\nname="l"\ntask="gsm8k"\nmetric="loss_rate"\nmax_drop=0.05\n',
        {"verdict_labels": base},
        {"verdict_labels": cand},
    ).rule("l")
    assert rule.direction == "lower" and rule.delta == pytest.approx(0.30)
    assert rule.verdict == "fail"


def test_judge_errors_are_left_out_of_verdict_rates_and_counted(
    runs: Runs, write_spec: Callable[[str], Path]
) -> None:
    base = ["tie"] * 50
    cand = ["tie"] * 48 + ["error"] * 2
    rule = _gate(
        runs,
        write_spec,
        '[[rule]]\nname="t"\ntask="gsm8k"\nmetric="tie_rate"\nmax_drop=0.05\n',
        {"verdict_labels": base},
        {"verdict_labels": cand},
    ).rule("t")
    assert rule.n == 48 and rule.candidate == 1.0
    assert (
        rule.exclusions["judge_errors_candidate"] == 2
        and "judge errors 0/2" in rule.excluded_summary
    )


def test_relative_margin_is_a_fraction_of_the_baseline_value(
    runs: Runs, write_spec: Callable[[str], Path]
) -> None:
    baseline, candidate = _flips(100, 2, 1, base_rate=0.6)
    rule = _gate(
        runs,
        write_spec,
        '[[rule]]\nname="r"\ntask="gsm8k"\nmetric="accuracy"\nmax_drop_relative=0.1\n',
        {"outcomes": baseline},
        {"outcomes": candidate},
    ).rule("r")
    assert rule.margin == pytest.approx(0.06)


def test_cluster_key_clusters_by_metadata(runs: Runs, write_spec: Callable[[str], Path]) -> None:
    baseline, candidate = _flips(100, 10, 2)
    meta = [{"subject": f"s{i % 5}"} for i in range(100)]
    rule = _gate(
        runs,
        write_spec,
        '[[rule]]\nname="m"\ntask="gsm8k"\nmetric="accuracy"\nmax_drop=0.0\ncluster="subject"\n',
        {"outcomes": baseline, "metadata": meta},
        {"outcomes": candidate, "metadata": meta},
    ).rule("m")
    expected = bias_reduced_stderr(
        np.array(candidate) - np.array(baseline), [m["subject"] for m in meta]
    )
    assert expected.df == pytest.approx(4)
    assert (rule.delta_interval.high - rule.delta_interval.low) / 2 == pytest.approx(
        stats.t.isf(0.025, 4) * expected.se
    )


def test_missing_cluster_metadata_names_the_sample(
    runs: Runs, write_spec: Callable[[str], Path]
) -> None:
    rule = _gate(
        runs,
        write_spec,
        '[[rule]]\nname="m"\ntask="gsm8k"\nmetric="accuracy"\nmax_drop=0.0\ncluster="subject"\n',
        {"outcomes": [1, 0, 1]},
        {"outcomes": [1, 0, 1]},
    ).rule("m")
    assert rule.verdict == "error" and "sample q-0000 has no metadata 'subject'" in rule.reason


def test_min_bound_fails_only_when_significantly_violated_in_interval_mode(
    runs: Runs, write_spec: Callable[[str], Path]
) -> None:
    near = [1] * 58 + [0] * 42  # 0.58: below 0.6, not significantly
    far = [1] * 40 + [0] * 60  # 0.40: significantly below 0.6
    spec = '[[rule]]\nname="floor"\ntask="gsm8k"\nmetric="accuracy"\nmin=0.6\n'
    assert (
        _gate(runs, write_spec, spec, {"outcomes": near}, {"outcomes": near}).rule("floor").verdict
        == "warn"
    )
    assert (
        _gate(runs, write_spec, spec, {"outcomes": far}, {"outcomes": far}).rule("floor").verdict
        == "fail"
    )
    point = _gate(
        runs, write_spec, spec + 'bound="point"\n', {"outcomes": near}, {"outcomes": near}
    ).rule("floor")
    assert point.verdict == "fail"


def test_min_bound_interval_decision_matches_the_wilson_interval(
    runs: Runs, write_spec: Callable[[str], Path]
) -> None:
    outcomes = [1] * 50 + [0] * 50
    rule = _gate(
        runs,
        write_spec,
        '[gate]\ncorrection="none"\n[[rule]]\nname="f"\ntask="gsm8k"\nmetric="accuracy"\nmin=0.6\n',
        {"outcomes": outcomes},
        {"outcomes": outcomes},
    ).rule("f")
    # Wilson's upper end (0.5980) is below 0.6 exactly when the score test rejects at 0.025
    assert rule.candidate_interval.high < 0.6 and rule.verdict == "fail"


def test_log_level_metric_gets_bounds_on_the_point_value_only(
    runs: Runs, write_spec: Callable[[str], Path]
) -> None:
    metrics = {"final_number": {"f1": 0.42}}
    base, cand = (
        {"outcomes": [1] * 5, "log_metrics": metrics},
        {"outcomes": [1] * 5, "log_metrics": metrics},
    )
    rule = _gate(
        runs, write_spec, '[[rule]]\nname="f1"\ntask="gsm8k"\nmetric="f1"\nmin=0.5\n', base, cand
    ).rule("f1")
    assert rule.verdict == "fail" and rule.test == "none (log-level value)"
    refused = _gate(
        runs,
        write_spec,
        '[[rule]]\nname="f1"\ntask="gsm8k"\nmetric="f1"\nmax_drop=0.1\n',
        base,
        cand,
    ).rule("f1")
    assert refused.verdict == "error" and "no paired test can be applied" in refused.reason


def test_a_dict_value_key_is_a_per_sample_metric(
    runs: Runs, write_spec: Callable[[str], Path]
) -> None:
    base = ["tie"] * 40
    cand = ["tie"] * 20 + ["loss"] * 20
    rule = _gate(
        runs,
        write_spec,
        '[[rule]]\nname="k"\ntask="gsm8k"\nmetric="tie"\nscorer="pairwise"\nmax_drop=0.05\n',
        {"verdict_labels": base},
        {"verdict_labels": cand},
    ).rule("k")
    assert (rule.baseline, rule.candidate, rule.unit) == (
        1.0,
        0.5,
        "epoch",
    ) and rule.verdict == "fail"
