"""Plots over the frames: each returns its matplotlib figure and draws on ``ax`` when given one.

Outside IPython, figures are built without pyplot (no global state, no window, saved
through Agg), so a script or ``cogumi report`` never opens a display.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ._columns import VERDICTS
from ._compare import subject_deltas
from ._errors import AnalysisError
from ._logs import Logs
from ._runs import NO_SCORES, runs
from ._samples import sample_frame
from ._verdicts import verdicts

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH, HEIGHT = 8.0, 4.5
"""Default figure size in inches (800 x 450 pixels at 100 dpi)."""

VERDICT_COLOURS = {"win": "#2b8a3e", "tie": "#4c6ef5", "loss": "#e03131", "error": "#adb5bd"}
TASK_COLOURS = ["#1c7ed6", "#f08c00", "#7048e8", "#0ca678", "#d6336c"]


def _axes(ax: Axes | None, size: tuple[float, float] = (WIDTH, HEIGHT)) -> Axes:
    if ax is not None:
        return ax
    return _new_figure(size).add_subplot()


def _new_figure(size: tuple[float, float]) -> Figure:
    """A figure outside pyplot; inside IPython one made by pyplot (so the notebook registers its
    image display) and closed at once, so it shows once, as the cell's value."""
    if _in_ipython():
        import matplotlib.pyplot as plt

        figure = plt.figure(figsize=size, dpi=100, layout="constrained")
        plt.close(figure)
        return figure
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=100, layout="constrained")


def _in_ipython() -> bool:
    import sys

    shell = sys.modules.get("IPython")
    return shell is not None and getattr(shell, "get_ipython", lambda: None)() is not None


def _figure(ax: Axes) -> Figure:
    return ax.get_figure(root=True)  # type: ignore[return-value]


def _percent_axis(ax: Axes, axis: str = "y") -> None:
    from matplotlib.ticker import PercentFormatter

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(1.0, decimals=0))


def _empty(ax: Axes, title: str, message: str) -> Figure:
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#495057")
    ax.set_xticks([])
    ax.set_yticks([])
    return _figure(ax)


def plot_accuracy(
    data: Logs | pd.DataFrame, ax: Axes | None = None, metric: str = "accuracy"
) -> Figure:
    """One bar per run with its confidence interval, coloured by task; runs without the metric
    are marked "no scores".

    Args:
        data: logs, a ``LogSet``, or a frame from ``analysis.runs``.
        ax: axes to draw on (default: a new 8 x 4.5 in figure).
        metric: which metric of the run frame to show ("accuracy", "tie", "consistency", ...).
    """
    frame = data if isinstance(data, pd.DataFrame) else runs(data)
    if "metric" not in frame.columns:
        raise AnalysisError("plot_accuracy needs logs or a frame from analysis.runs()")
    ax = _axes(ax)
    order = list(dict.fromkeys(frame["run"]))
    title = f"{metric.capitalize()} per run"
    shown = frame[frame["metric"] == metric].drop_duplicates("run").set_index("run").reindex(order)
    if shown["value"].isna().all():
        return _empty(ax, title, f"no run has {metric!r} scores")
    tasks = list(
        dict.fromkeys(frame.drop_duplicates("run").set_index("run").reindex(order)["task"])
    )
    colours = {task: TASK_COLOURS[i % len(TASK_COLOURS)] for i, task in enumerate(tasks)}
    run_tasks = frame.drop_duplicates("run").set_index("run")["task"]
    positions = range(len(order))
    values = shown["value"].fillna(0.0)
    lower = (shown["value"] - shown["ci_low"]).clip(lower=0).fillna(0.0)
    upper = (shown["ci_high"] - shown["value"]).clip(lower=0).fillna(0.0)
    bars = ax.bar(
        positions,
        values,
        color=[colours[run_tasks[run]] for run in order],
        yerr=[lower, upper],
        capsize=4,
        error_kw={"elinewidth": 1.2, "ecolor": "#343a40"},
        width=0.6,
    )
    for bar, _run, value, high in zip(bars, order, shown["value"], shown["ci_high"], strict=False):
        if pd.isna(value):
            ax.text(
                bar.get_x() + bar.get_width() / 2,
                0.02,
                NO_SCORES,
                ha="center",
                va="bottom",
                rotation=90,
                color="#868e96",
                fontsize=9,
            )
        else:
            top = high if pd.notna(high) else value
            ax.text(
                bar.get_x() + bar.get_width() / 2,
                top + 0.015,
                f"{value:.0%}",
                ha="center",
                va="bottom",
                fontsize=9,
            )
    ax.set_xticks(
        list(positions),
        order,
        rotation=20 if len(order) > 4 else 0,
        ha="right" if len(order) > 4 else "center",
    )
    ax.set_ylim(0, 1.1)
    _percent_axis(ax)
    ax.set_ylabel(metric)
    # "wilson 95%", "clt-clustered 95%": name the level once and every method used
    methods = list(dict.fromkeys(shown["interval"].dropna()))
    if methods:
        level = methods[0].rsplit(" ", 1)[-1]
        names = ", ".join(m.rsplit(" ", 1)[0] for m in methods)
        title += f" ({level} intervals: {names})"
    ax.set_title(title)
    if len(tasks) > 1:
        from matplotlib.patches import Patch

        ax.legend(
            handles=[Patch(color=colours[t], label=t) for t in tasks],
            title="task",
            loc="upper right",
            fontsize=8,
        )
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return _figure(ax)


def plot_verdicts(data: Logs | pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Stacked win / tie / loss / error shares per run, in run order: a collapse in ties or
    wins from one checkpoint to the next shows as a step in the bars.

    Args:
        data: logs, a ``LogSet``, a frame from ``analysis.samples`` or a table from
            ``analysis.verdicts``.
        ax: axes to draw on (default: a new 8 x 4.5 in figure).
    """
    table = (
        data if isinstance(data, pd.DataFrame) and "tie_rate" in data.columns else verdicts(data)
    )
    ax = _axes(ax)
    title = "Pairwise verdicts against the baseline"
    if table.empty:
        return _empty(ax, title, "no run has pairwise judge verdicts")
    positions = list(range(len(table)))
    bottom = pd.Series(0.0, index=table.index)
    for verdict in VERDICTS:
        share = table[f"{verdict}_rate"]
        if verdict == "error" and not share.any():
            continue
        bars = ax.bar(
            positions,
            share,
            bottom=bottom,
            color=VERDICT_COLOURS[verdict],
            width=0.6,
            label=verdict,
            edgecolor="white",
            linewidth=0.8,
        )
        for bar, value, base in zip(bars, share, bottom, strict=False):
            if value >= 0.05:
                ax.text(
                    bar.get_x() + bar.get_width() / 2,
                    base + value / 2,
                    f"{value:.0%}",
                    ha="center",
                    va="center",
                    color="white",
                    fontsize=10,
                    fontweight="bold",
                )
        bottom = bottom + share
    labels = [f"{run}\n(n={n})" for run, n in zip(table["run"], table["judged"], strict=False)]
    ax.set_xticks(positions, labels)
    ax.set_ylim(0, 1)
    _percent_axis(ax)
    ax.set_ylabel("share of judged answers")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _figure(ax)


def plot_consistency(data: Logs | pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Histogram of per-question agreement (share of a question's epoch pairs giving the same
    answer), one series per run with several epochs; the legend gives each run's consistency
    (share of questions answered the same every epoch).

    Args:
        data: logs, a ``LogSet``, or a frame from ``analysis.samples``.
        ax: axes to draw on (default: a new 8 x 4.5 in figure).
    """
    frame = sample_frame(data)
    ax = _axes(ax)
    title = "Answer agreement across epochs"
    several = frame[frame["agreement"].notna()]
    per_question = several.drop_duplicates(["run", "id"])
    if per_question.empty:
        return _empty(ax, title, "no run has more than one epoch: run with --epochs 3 or more")
    names = list(dict.fromkeys(per_question["run"]))
    levels = sorted(set(per_question["agreement"].round(6)) | {0.0, 1.0})
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        own = per_question[per_question["run"] == name]
        counts = own["agreement"].round(6).value_counts().reindex(levels, fill_value=0)
        consistent = own["consistent"].astype(float).mean()
        positions = [k + (i - (len(names) - 1) / 2) * width for k in range(len(levels))]
        bars = ax.bar(
            positions,
            counts / len(own),
            width=width * 0.92,
            label=f"{name}: {consistent:.0%} of {len(own)} questions all agree",
            color=TASK_COLOURS[i % len(TASK_COLOURS)],
        )
        for bar, count in zip(bars, counts, strict=False):
            if count:
                ax.text(
                    bar.get_x() + bar.get_width() / 2,
                    bar.get_height() + 0.01,
                    str(count),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                )
    epochs = several.groupby(["run", "id"]).size().unique()
    if len(epochs) == 1:  # one epoch count: name the pairs ("1 of 3 pairs")
        pairs = int(epochs[0]) * (int(epochs[0]) - 1) // 2
        ticks = [f"{round(level * pairs)} of {pairs}" for level in levels]
        ax.set_xlabel(f"epoch pairs giving the same answer ({int(epochs[0])} epochs)")
    else:
        ticks = [f"{level:.0%}" for level in levels]
        ax.set_xlabel("share of a question's epoch pairs giving the same answer")
    ax.set_xticks(list(range(len(levels))), ticks)
    ax.set_ylim(0, 1.08)
    _percent_axis(ax)
    ax.set_ylabel("share of questions")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return _figure(ax)


def plot_subject_deltas(data: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Accuracy change per MMLU subject from run a to run b (percentage points), worst first.

    Args:
        data: a frame from ``analysis.compare`` of two MMLU runs, or from
            ``analysis.subject_deltas``.
        ax: axes to draw on (default: 8 in wide, 0.28 in per subject, at least 3 in tall).
    """
    table = data if "a_accuracy" in data.columns else subject_deltas(data)
    ax = _axes(ax, (WIDTH, max(3.0, 1.2 + 0.28 * len(table))))
    positions = list(range(len(table)))
    deltas = table["delta"] * 100
    colours = ["#e03131" if d < 0 else "#2b8a3e" if d > 0 else "#868e96" for d in deltas]
    ax.barh(positions, deltas, color=colours, height=0.7)
    for position, delta, n in zip(positions, deltas, table["questions"], strict=False):
        ax.text(
            delta + (1 if delta >= 0 else -1),
            position,
            f"{delta:+.0f} pp (n={n})",
            va="center",
            ha="left" if delta >= 0 else "right",
            fontsize=8,
        )
    ax.set_yticks(positions, table["subject"].str.replace("_", " "))
    ax.invert_yaxis()
    ax.axvline(0, color="#343a40", linewidth=0.8)
    span = max(10.0, float(deltas.abs().max()) * 1.35)
    ax.set_xlim(-span, span)
    ax.set_xlabel("accuracy change (percentage points)")
    a, b = table.attrs.get("a", "a"), table.attrs.get("b", "b")
    ax.set_title(f"Per-subject accuracy: {b} vs {a}")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    return _figure(ax)
