"""Power, minimum detectable effect and sample size for a paired z test.

The standard deviation of a per-sample difference is given directly (``sd``,
e.g. from an earlier pair of runs) or from a base rate p and the correlation ρ
between the two runs' outcomes: σ_d² = 2 p (1 − p)(1 − ρ) — both runs near p,
which is where a regression test lives. Unpaired runs are ρ = 0; checkpoints of
one model typically agree on most questions (ρ of 0.5–0.8), which is what
pairing buys.
"""

from __future__ import annotations

import math
from typing import Literal

from scipy import optimize as _optimize
from scipy import stats as _scipy_stats

from ._results import Power

Sidedness = Literal["one-sided", "two-sided"]


def difference_sd(*, base_rate: float | None, sd: float | None, correlation: float) -> float:
    """σ of a per-sample paired difference, from ``sd`` or ``base_rate`` and ``correlation``."""
    if sd is not None:
        if base_rate is not None:
            raise ValueError("give either sd or base_rate, not both")
        if sd <= 0:
            raise ValueError(f"sd must be positive, got {sd}")
        return float(sd)
    if base_rate is None:
        raise ValueError(
            "give base_rate (the metric's expected value) or sd (of the paired difference)"
        )
    if not 0.0 < base_rate < 1.0:
        raise ValueError(f"base_rate must be in (0, 1), got {base_rate}")
    if not -1.0 <= correlation < 1.0:
        raise ValueError(f"correlation must be in [-1, 1), got {correlation}")
    return math.sqrt(2.0 * base_rate * (1.0 - base_rate) * (1.0 - correlation))


def _power_at(effect: float, se: float, alpha: float, alternative: Sidedness) -> float:
    shift = effect / se
    if alternative == "one-sided":
        return float(_scipy_stats.norm.sf(_scipy_stats.norm.isf(alpha) - shift))
    if alternative == "two-sided":
        crit = _scipy_stats.norm.isf(alpha / 2.0)
        return float(_scipy_stats.norm.sf(crit - shift) + _scipy_stats.norm.cdf(-crit - shift))
    raise ValueError(f"alternative must be 'one-sided' or 'two-sided', got {alternative!r}")


def _mde(se: float, alpha: float, power: float, alternative: Sidedness) -> float:
    if alternative == "one-sided":
        return float((_scipy_stats.norm.isf(alpha) + _scipy_stats.norm.ppf(power)) * se)
    # the far tail adds a sliver of power; solve exactly rather than approximate
    guess = (_scipy_stats.norm.isf(alpha / 2.0) + _scipy_stats.norm.ppf(power)) * se
    return float(
        _optimize.brentq(
            lambda e: _power_at(e, se, alpha, alternative) - power,
            0.0,
            2.0 * guess + se,
            xtol=1e-14,
            rtol=1e-14,
        )
    )


def _required_n(
    effect: float, sd: float, alpha: float, power: float, alternative: Sidedness
) -> int:
    if effect <= 0:
        raise ValueError(f"effect must be positive to size a sample, got {effect}")
    one_unit = _mde(sd, alpha, power, alternative)  # MDE at n = 1 is (z_a + z_b) σ
    n = max(1, math.ceil((one_unit / effect) ** 2) - 1)
    while _power_at(effect, sd / math.sqrt(n), alpha, alternative) < power:
        n += 1
    return n


def paired_power(
    n: int,
    effect: float,
    *,
    base_rate: float | None = None,
    sd: float | None = None,
    correlation: float = 0.0,
    alpha: float = 0.05,
    target_power: float = 0.8,
    alternative: Sidedness = "one-sided",
) -> Power:
    """Power to detect a paired difference of ``effect`` with ``n`` pairs, and the MDE.

    Args:
        n: paired samples.
        effect: true difference to detect (positive; direction is the test's).
        base_rate: expected metric value (accuracy, tie rate) when sd is not given.
        sd: standard deviation of the per-sample paired difference.
        correlation: correlation of the two runs' per-sample outcomes (with base_rate).
        alpha: significance level (one-sided tail, or the two-sided total).
        target_power: the power ``mde`` and ``required_n`` are computed for.
        alternative: "one-sided" (a regression gate) or "two-sided".
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    if not 0.0 < alpha < 1.0 or not 0.0 < target_power < 1.0:
        raise ValueError("alpha and target_power must be in (0, 1)")
    sigma = difference_sd(base_rate=base_rate, sd=sd, correlation=correlation)
    se = sigma / math.sqrt(n)
    return Power(
        power=_power_at(effect, se, alpha, alternative),
        effect=effect,
        mde=_mde(se, alpha, target_power, alternative),
        target_power=target_power,
        n=n,
        se=se,
        alpha=alpha,
        alternative=alternative,
        required_n=_required_n(abs(effect), sigma, alpha, target_power, alternative)
        if effect
        else 0,
    )


def minimum_detectable_effect(
    n: int,
    *,
    base_rate: float | None = None,
    sd: float | None = None,
    correlation: float = 0.0,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Sidedness = "one-sided",
) -> Power:
    """The smallest paired difference detected with probability ``power`` from ``n`` pairs.

    Returns a ``Power`` whose ``effect`` and ``mde`` are that difference.

    Args:
        n: paired samples.
        base_rate: expected metric value when sd is not given.
        sd: standard deviation of the per-sample paired difference.
        correlation: correlation of the two runs' per-sample outcomes (with base_rate).
        alpha: significance level.
        power: required probability of detection.
        alternative: "one-sided" or "two-sided".
    """
    sigma = difference_sd(base_rate=base_rate, sd=sd, correlation=correlation)
    mde = _mde(sigma / math.sqrt(n), alpha, power, alternative)
    return paired_power(n, mde, sd=sigma, alpha=alpha, target_power=power, alternative=alternative)
