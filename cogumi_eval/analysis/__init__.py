"""Eval logs as pandas frames and plots (built on ``inspect_ai.analysis``).

``analysis.load("logs/")`` reads a log folder once; ``runs``, ``samples``, ``verdicts``
and ``consistency`` turn it into frames, ``compare(a, b)`` pairs two runs question by
question, the ``plot_*`` functions draw them and ``write_report`` writes them as a page.
"""

from ._compare import compare, subject_deltas
from ._consistency import consistency
from ._errors import AnalysisError, LogProblemWarning
from ._logs import LogProblem, Logs, LogSet, Run, load
from ._paired import PairedSummary, paired_summary
from ._plots import plot_accuracy, plot_consistency, plot_subject_deltas, plot_verdicts
from ._report import Report, build_report, write_report
from ._runs import runs
from ._samples import samples
from ._verdicts import verdicts

__all__ = [
    "AnalysisError",
    "LogProblem",
    "LogProblemWarning",
    "LogSet",
    "Logs",
    "PairedSummary",
    "Report",
    "Run",
    "build_report",
    "compare",
    "consistency",
    "load",
    "paired_summary",
    "plot_accuracy",
    "plot_consistency",
    "plot_subject_deltas",
    "plot_verdicts",
    "runs",
    "samples",
    "subject_deltas",
    "verdicts",
    "write_report",
]
