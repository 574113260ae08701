"""Named results returned by every function in ``cogumi_eval.stats`` (scipy-style, never tuples)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Alternative = Literal["two-sided", "greater", "less"]
"""``greater``: H1 is estimate > null; ``less``: H1 is estimate < null (scipy's convention)."""


@dataclass(frozen=True)
class ConfidenceInterval:
    """A two-sided interval ``[low, high]`` at confidence ``level``."""

    low: float
    high: float
    level: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class Estimate:
    """A mean or proportion with its standard error and interval.

    Attributes:
        estimate: the point estimate.
        se: its standard error (clustered when ``clusters`` is set).
        interval: the two-sided confidence interval.
        n: observations.
        method: how the interval was built ("wilson", "clt", "clt-clustered").
        clusters: number of clusters when the standard error is clustered.
    """

    estimate: float
    se: float
    interval: ConfidenceInterval
    n: int
    method: str
    clusters: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StandardError:
    """A standard error of a mean and how it was computed.

    Attributes:
        se: the standard error.
        mean: the mean it belongs to.
        n: observations.
        clusters: clusters (``n`` when unclustered).
        method: "clustered" (CR1, the factor C / (C − 1)) or "clustered-cr2" (bias-reduced).
        df: degrees of freedom of the t reference that goes with it (CR2 only).
    """

    se: float
    mean: float
    n: int
    clusters: int
    method: str
    df: float | None = None


@dataclass(frozen=True)
class TestResult:
    """A hypothesis test on one quantity.

    Attributes:
        test: the test that produced the p-value ("paired-z", "mcnemar-exact", ...).
        estimate: the estimated quantity (for paired tests: candidate minus baseline).
        se: standard error of ``estimate``.
        interval: two-sided confidence interval of ``estimate``.
        statistic: the test statistic.
        pvalue: the p-value for ``alternative`` against ``null``.
        alternative: "two-sided", "greater" (H1: estimate > null) or "less".
        null: the value of the quantity under H0.
        n: paired observations used.
        details: test-specific extras (discordant counts, resamples, clusters...).
    """

    test: str
    estimate: float
    se: float
    interval: ConfidenceInterval
    statistic: float
    pvalue: float
    alternative: Alternative
    null: float
    n: int
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VerdictShift:
    """Did the distribution of paired verdicts (win/tie/loss) change between two runs?

    Attributes:
        test: "stuart-maxwell" (marginal homogeneity of the paired k x k table).
        statistic: the chi-square statistic.
        df: its degrees of freedom.
        pvalue: the p-value (undirected: any change in the verdict distribution).
        categories: the verdict labels, in table order.
        table: ``table[i][j]`` = pairs with baseline verdict i and candidate verdict j.
        baseline_rates: share of each verdict in the baseline run.
        candidate_rates: share of each verdict in the candidate run.
        estimate: change in the preference score (win 1, tie 0.5, loss 0), for direction.
        interval: paired interval of ``estimate``.
        n: pairs in the table.
        excluded: pairs left out because a verdict was not a category (e.g. "error").
        bowker_statistic: Bowker's symmetry statistic (the stricter, cell-wise test).
        bowker_pvalue: its p-value.
    """

    test: str
    statistic: float
    df: int
    pvalue: float
    categories: tuple[str, ...]
    table: list[list[int]]
    baseline_rates: dict[str, float]
    candidate_rates: dict[str, float]
    estimate: float
    interval: ConfidenceInterval
    n: int
    excluded: int
    bowker_statistic: float
    bowker_pvalue: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Power:
    """Power of a one- or two-sided z test for a paired difference.

    Attributes:
        power: probability of rejecting H0 when the true difference is ``effect``.
        effect: the difference powered against.
        mde: minimum detectable effect at ``target_power`` for this n.
        target_power: the power ``mde`` is computed for.
        n: paired observations.
        se: standard error of the difference at this n.
        alpha: significance level (one-sided tail, or total for two-sided).
        alternative: "one-sided" or "two-sided".
        required_n: pairs needed to detect ``effect`` with ``target_power``.
    """

    power: float
    effect: float
    mde: float
    target_power: float
    n: int
    se: float
    alpha: float
    alternative: str
    required_n: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AdjustedPValues:
    """P-values adjusted for multiple comparisons (family-wise error)."""

    method: str
    pvalues: tuple[float, ...]
    adjusted: tuple[float, ...]
