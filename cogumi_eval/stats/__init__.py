"""Statistics for comparing eval runs: intervals, paired tests, bootstrap, power.

Every function returns a named result (estimate, interval, p-value, test name),
in the spirit of ``scipy.stats``. References: Miller (2024), "Adding Error
Bars to Evals" (arXiv 2411.00640) for clustered and paired standard errors.
"""

from ._bootstrap import bootstrap_differences, paired_bootstrap, wild_cluster_t
from ._intervals import (
    bias_reduced_stderr,
    clt_interval,
    clustered_stderr,
    wilson_interval,
    z_critical,
)
from ._multiplicity import adjust_pvalues
from ._paired import mcnemar_exact, paired_difference, t_pvalue, z_pvalue, z_statistic
from ._power import minimum_detectable_effect, paired_power
from ._results import (
    AdjustedPValues,
    Alternative,
    ConfidenceInterval,
    Estimate,
    Power,
    StandardError,
    TestResult,
    VerdictShift,
)
from ._verdicts import PREFERENCE, VERDICTS, verdict_shift

__all__ = [
    "PREFERENCE",
    "VERDICTS",
    "AdjustedPValues",
    "Alternative",
    "ConfidenceInterval",
    "Estimate",
    "Power",
    "StandardError",
    "TestResult",
    "VerdictShift",
    "adjust_pvalues",
    "bias_reduced_stderr",
    "bootstrap_differences",
    "clt_interval",
    "clustered_stderr",
    "mcnemar_exact",
    "minimum_detectable_effect",
    "paired_bootstrap",
    "paired_difference",
    "paired_power",
    "t_pvalue",
    "verdict_shift",
    "wilson_interval",
    "wild_cluster_t",
    "z_critical",
    "z_statistic",
    "z_pvalue",
]
