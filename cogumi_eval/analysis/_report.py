"""A report over eval logs: the frames and plots as one HTML page or one Markdown file.

The report is built as sections (text, tables, figures) and then rendered, so the
HTML page and the Markdown file always say the same thing.
"""

from __future__ import annotations

import datetime as dt
import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._version import __version__
from ._compare import compare, subject_deltas
from ._consistency import consistency
from ._errors import AnalysisError
from ._logs import Logs, LogSet, load
from ._paired import paired_summary
from ._plots import plot_accuracy, plot_consistency, plot_subject_deltas, plot_verdicts
from ._runs import NO_SCORES, runs
from ._verdicts import verdicts

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WORST_QUESTIONS = 10
CONSISTENCY_NOTE = (
    "Consistency: share of questions answered the same every epoch. Agreement: share of a "
    "question's epoch pairs giving the same answer. Majority accuracy scores each question's "
    "most common answer."
)


@dataclass(frozen=True)
class Plot:
    """A rendered figure: a file-safe name, a caption and its PNG bytes."""

    name: str
    caption: str
    png: bytes


@dataclass
class Section:
    """A heading with paragraphs, tables (caption, frame of display strings) and plots."""

    heading: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)
    warning: bool = False
    banner: tuple[str, str] | None = None  # ("pass" | "fail", text) shown first, coloured


@dataclass
class Report:
    """What ``write_report`` renders.

    Attributes:
        title: the page title.
        sections: in reading order.
        logset: the logs it was built from.
        gate_exit_code: the gate's exit code (0 pass, 1 regression, 2 error) when a spec
            was given, else None.
    """

    title: str
    sections: list[Section]
    logset: LogSet
    gate_exit_code: int | None = None


def build_report(
    logs: Logs,
    *,
    baseline: str | None = None,
    candidate: str | None = None,
    spec: str | Path | None = None,
    title: str | None = None,
) -> Report:
    """Read the logs and assemble the report's sections.

    Args:
        logs: log files, folders, ``EvalLog`` objects, or a ``LogSet``.
        baseline: the run to compare against (label, eval id or log path); with
            ``candidate``. Without both, each task run exactly twice has its two runs compared.
        candidate: the run compared with the baseline.
        spec: a gate spec (TOML); its rules are evaluated on baseline and candidate.
        title: the page title (default "Cogumi report").
    """
    if (baseline is None) != (candidate is None):
        raise AnalysisError("pass both --baseline and --candidate, or neither")
    if spec is not None and baseline is None:
        raise AnalysisError("a gate spec needs --baseline and --candidate logs to compare")
    logset = load(logs, warn=False)
    report = Report(title or "Cogumi report", [], logset)
    frame = runs(logset)
    report.sections.append(_overview(logset, frame))
    if logset.problems:
        report.sections.append(_problems(logset))
    report.sections.extend(_figure_sections(logset, frame))
    pairs = _pairs(logset, baseline, candidate)
    report.sections.extend(_comparison(logset, *pair) for pair in pairs)
    if spec is not None:
        section, code = _gate(logset, *pairs[0], Path(spec))
        report.sections.insert(1, section)  # the verdict belongs at the top
        report.gate_exit_code = code
    return report


def write_report(
    logs: Logs | Report,
    out: str | Path,
    *,
    baseline: str | None = None,
    candidate: str | None = None,
    spec: str | Path | None = None,
    title: str | None = None,
) -> Path:
    """Write a report: ``.html`` is one self-contained page (plots embedded as PNG data),
    ``.md`` is Markdown with its PNGs written next to it (``<name>-<plot>.png``).

    Args:
        logs: log files, folders, ``EvalLog`` objects, a ``LogSet``, or a built ``Report``.
        out: the file to write; its suffix picks the format.
        baseline: see ``build_report``.
        candidate: see ``build_report``.
        spec: see ``build_report``.
        title: see ``build_report``.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".html", ".htm", ".md", ".markdown"):
        raise AnalysisError(f"{out}: the report is written as .html or .md; name the file so")
    report = (
        logs
        if isinstance(logs, Report)
        else build_report(logs, baseline=baseline, candidate=candidate, spec=spec, title=title)
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".html", ".htm"):
        out.write_text(render_html(report), encoding="utf-8")
    else:
        for plot in _plots(report):
            (out.parent / _png_name(out, plot)).write_bytes(plot.png)
        out.write_text(render_markdown(report, out), encoding="utf-8")
    return out


# --- sections ---------------------------------------------------------------


def _overview(logset: LogSet, frame: pd.DataFrame) -> Section:
    tasks = sorted(set(frame["task"]))
    section = Section("Runs")
    section.paragraphs.append(
        f"{len(logset.runs)} run(s) of {', '.join(tasks)}; "
        f"{sum(p.skipped for p in logset.problems)} log(s) skipped."
    )
    section.tables.append(("One row per run; accuracy with its 95% interval.", run_summary(frame)))
    lineage = [c for c in frame.columns if c.startswith("lineage_")]
    if lineage:
        table = frame.drop_duplicates("run")[["run", *lineage]]
        table = table[table["run"].isin(frame.loc[frame["lineage"].notna(), "run"])]
        # a field no run has (an adapter, for plain checkpoints) is only noise
        table = table.dropna(axis="columns", how="all")
        table = table.rename(columns={c: c.removeprefix("lineage_") for c in lineage})
        section.tables.append(("Lineage: what made each model (from the log).", table))
    return section


def run_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """The run frame as one display row per run: accuracy, verdict shares, consistency."""
    rows = []
    for run, own in frame.groupby("run", sort=False):
        metrics = own.set_index("metric")
        first = own.iloc[0]
        row: dict[str, Any] = {"run": run, "task": first["task"], "model": first["model"]}
        row["questions"] = int(own["questions"].max())
        row["epochs"] = int(first["epochs"])
        if "accuracy" in metrics.index:
            m = metrics.loc["accuracy"]
            row["accuracy"] = f"{_pct(m['value'])} ({_pct(m['ci_low'])[:-1]}–{_pct(m['ci_high'])})"
        elif NO_SCORES in metrics.index:
            row["accuracy"] = NO_SCORES
        else:
            row["accuracy"] = ""
        if "tie" in metrics.index:
            row["win / tie / loss"] = " / ".join(
                _pct(metrics.loc[v, "value"], 0) for v in ("win", "tie", "loss")
            )
        else:
            row["win / tie / loss"] = ""
        row["consistency"] = (
            _pct(metrics.loc["consistency", "value"]) if "consistency" in metrics.index else ""
        )
        row["status"] = first["status"]
        rows.append(row)
    summary = pd.DataFrame(rows)
    # drop columns that say nothing here: empty ones, one task for all, models the labels name
    keep = [c for c in summary.columns if (summary[c].astype(str) != "").any()]
    if summary["task"].nunique() == 1:
        keep.remove("task")
    if all(
        m.endswith(r.split(" ")[0]) for m, r in zip(summary["model"], summary["run"], strict=True)
    ):
        keep.remove("model")
    return summary[keep]


def _problems(logset: LogSet) -> Section:
    table = pd.DataFrame(
        {
            "log": [p.log for p in logset.problems],
            "problem": [p.reason for p in logset.problems],
            "action": ["skipped" if p.skipped else "loaded as it is" for p in logset.problems],
        }
    )
    return Section(
        "Logs with problems",
        [
            "These logs were unreadable or incomplete; everything else in this report is from "
            "the rest."
        ],
        [("", table)],
        warning=True,
    )


def _figure_sections(logset: LogSet, frame: pd.DataFrame) -> list[Section]:
    sections = []
    if (frame["metric"] == "accuracy").any():
        sections.append(
            Section(
                "Accuracy", plots=[_render("accuracy", "Accuracy per run", plot_accuracy(frame))]
            )
        )
    table = verdicts(logset)
    if not table.empty:
        shown = table[["run", "task", "judged", "win", "tie", "loss", "error"]].copy()
        for verdict in ("win", "tie", "loss"):
            shown[f"{verdict} %"] = table[f"{verdict}_rate"].map(lambda v: _pct(v, 0))
        sections.append(
            Section(
                "Pairwise verdicts",
                ["The judge's verdict on each answer against the cached baseline answer, per run."],
                [("", shown)],
                [_render("verdicts", "Win / tie / loss per run", plot_verdicts(table))],
            )
        )
    agreement = consistency(logset)
    if not agreement.empty:
        shown = agreement.copy()
        for column in ("consistency", "agreement", "accuracy", "majority_accuracy"):
            shown[column] = shown[column].map(_pct)
        sections.append(
            Section(
                "Consistency across epochs",
                [CONSISTENCY_NOTE],
                [("", shown)],
                [_render("consistency", "Consistency histogram", plot_consistency(logset))],
            )
        )
    return sections


def _pairs(logset: LogSet, baseline: str | None, candidate: str | None) -> list[tuple[str, str]]:
    """The named pair; else, for each task run exactly twice, its two runs in order."""
    if baseline is not None and candidate is not None:
        return [(logset.run(baseline).label, logset.run(candidate).label)]
    by_task: dict[str, list[str]] = {}
    for run in logset.runs:
        by_task.setdefault(run.task, []).append(run.label)
    return [(labels[0], labels[1]) for labels in by_task.values() if len(labels) == 2]


def _comparison(logset: LogSet, a: str, b: str) -> Section:
    paired = compare(a, b, logs=logset)
    section = Section(f"{b} against {a}")
    section.paragraphs.append(
        f"Paired on {len(paired)} question(s) of {paired.attrs['task']}"
        + (
            f" ({paired.attrs['only_a']} only in {a}, {paired.attrs['only_b']} only in {b}, "
            "left out)"
            if paired.attrs["only_a"] or paired.attrs["only_b"]
            else ""
        )
        + "."
    )
    summary = paired_summary(paired)
    section.paragraphs.append(_legend(a, b))
    row: dict[str, Any] = {
        "A accuracy": _pct(paired["a_correct"].mean()),
        "B accuracy": _pct(paired["b_correct"].mean()),
    }
    if summary.accuracy is not None:
        ci = summary.accuracy.interval
        row["change (95% interval)"] = (
            f"{_points(summary.accuracy.estimate)} ({_points(ci.low)} to {_points(ci.high)})"
        )
        test = summary.mcnemar or summary.accuracy
        row["p (two-sided)"] = f"{_p(test.pvalue)} ({test.test})"
    row.update(better=summary.better, worse=summary.worse, same=summary.same)
    section.tables.append(("Accuracy, question by question (B − A).", pd.DataFrame([row])))
    if summary.verdicts is not None:
        shift = summary.verdicts
        table = pd.DataFrame(
            {
                "verdict": list(shift.categories),
                "A": [_pct(shift.baseline_rates[c]) for c in shift.categories],
                "B": [_pct(shift.candidate_rates[c]) for c in shift.categories],
            }
        )
        ci = shift.interval
        section.tables.append(
            (
                (
                    f"Judge verdicts on {shift.n} paired question(s): {shift.test} "
                    f"p {_p(shift.pvalue, '= ')}; preference (win 1, tie ½, loss 0) "
                    f"{_points(shift.estimate)} ({_points(ci.low)} to {_points(ci.high)})."
                ),
                table,
            )
        )
    worse = paired[paired["change"] == "worse"].head(WORST_QUESTIONS)
    if not worse.empty:
        columns = ["id", "subject", "target", "a_answer", "b_answer"]
        shown = worse[[c for c in columns if not worse[c].isna().all()]].rename(
            columns={"a_answer": "A answer", "b_answer": "B answer"}
        )
        section.tables.append(
            (f"Questions B got wrong that A got right (first {WORST_QUESTIONS}).", shown)
        )
    if paired["subject"].notna().any():
        deltas = subject_deltas(paired)
        shown = deltas.assign(
            a_accuracy=deltas["a_accuracy"].map(_pct),
            b_accuracy=deltas["b_accuracy"].map(_pct),
            delta=deltas["delta"].map(_points),
        ).rename(columns={"a_accuracy": "A", "b_accuracy": "B"})
        section.plots.append(
            _render("subjects", "Per-subject accuracy change", plot_subject_deltas(deltas))
        )
        section.tables.append(("Per subject, worst first.", shown))
    return section


def _gate(logset: LogSet, a: str, b: str, spec: Path) -> tuple[Section, int]:
    from ..gate import evaluate_gate

    baseline, candidate = logset.run(a), logset.run(b)
    for side, run in (("baseline", baseline), ("candidate", candidate)):
        if not run.location or not Path(run.location).is_file():
            raise AnalysisError(f"the gate reads log files; the {side} run {run.label!r} has none")
    report = evaluate_gate(baseline.location, candidate.location, spec)
    section = Section(f"Gate: {spec.name}")
    section.banner = ("pass" if report.exit_code == 0 else "fail", report.summary())
    section.paragraphs.append(_legend(a, b, "baseline", "candidate"))
    # the figures as `cogumi gate` prints them: values with intervals, p in the CLI's notation
    rows = [
        {
            "rule": r.name,
            "verdict": r.verdict,
            "task / metric": f"{r.task} / {r.metric}",
            "baseline": _with_interval(r.baseline, r.baseline_interval),
            "candidate": _with_interval(r.candidate, r.candidate_interval),
            "delta [interval]": _delta(r.delta, r.delta_interval),
            "margin": _number(r.margin) or "–",
            "p (adj.)": f"{_p(r.pvalue)} ({_p(r.pvalue_adjusted)})"
            if r.pvalue is not None
            else "–",
        }
        for r in report.rules
    ]
    section.tables.append(
        (f"Rules of {report.spec}; {report.correction_note()}.", pd.DataFrame(rows))
    )
    reasons = pd.DataFrame(
        {
            "rule": [r.name for r in report.rules],
            "test": [f"{r.test}; n {r.n}" if r.test else "" for r in report.rules],
            "why": [r.reason for r in report.rules],
        }
    )
    section.tables.append(("", reasons))
    section.paragraphs.extend(f"Warning: {w}" for w in report.warnings)
    return section, report.exit_code


# --- rendering --------------------------------------------------------------


def _render(name: str, caption: str, figure: Figure) -> Plot:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return Plot(name, caption, buffer.getvalue())


def _plots(report: Report) -> list[Plot]:
    return [plot for section in report.sections for plot in section.plots]


def _png_name(out: Path, plot: Plot) -> str:
    return f"{out.stem}-{plot.name}.png"


def _legend(a: str, b: str, a_name: str = "A", b_name: str = "B") -> str:
    """Run labels are long: tables name the runs by a short name, this line says which is which."""
    return f"{a_name}: {a}. {b_name}: {b}."


def _number(value: float | None) -> str:
    return "" if value is None or pd.isna(value) else f"{value:.3f}"


def _with_interval(value: float | None, interval: Any) -> str:
    """``0.563 [0.536, 0.589]``, as ``cogumi gate`` prints a value."""
    if value is None or pd.isna(value):
        return "–"
    return f"{value:.3f}" + (f" [{interval.low:.3f}, {interval.high:.3f}]" if interval else "")


def _delta(value: float | None, interval: Any) -> str:
    """``-0.215 [-0.244, -0.187]``, as ``cogumi gate`` prints a difference."""
    if value is None or pd.isna(value):
        return "–"
    return f"{value:+.3f}" + (f" [{interval.low:+.3f}, {interval.high:+.3f}]" if interval else "")


def _p(value: float | None, equals: str = "") -> str:
    """``8.2e-37`` below 0.001, else three decimals, as ``cogumi gate`` prints a p-value."""
    if value is None or pd.isna(value):
        return "–"
    return f"{equals}{value:.2g}" if value < 0.001 else f"{equals}{value:.3f}"


def _pct(value: Any, decimals: int = 1) -> str:
    return "" if pd.isna(value) else f"{float(value) * 100:.{decimals}f}%"


def _points(value: Any) -> str:
    return "" if pd.isna(value) else f"{float(value) * 100:+.1f} pp"


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


_CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #212529;
       max-width: 1240px; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #dee2e6;
     padding-bottom: 0.2rem; }
.meta { color: #6c757d; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.2rem 0 1rem; font-size: 0.88rem; }
th, td { border: 1px solid #dee2e6; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top;
         white-space: nowrap; }
/* names and reasons wrap, so the figures and the verdict fit at 1280 px without scrolling */
td:first-child, .warning td { white-space: normal; min-width: 8rem; }
.scroll { overflow-x: auto; }
th { background: #f1f3f5; }
p.caption { color: #495057; font-size: 0.9rem; margin: 0.8rem 0 0.2rem; }
figure { margin: 0.6rem 0 1.2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #e9ecef; }
figcaption { color: #6c757d; font-size: 0.85rem; }
.warning { background: #fff4e6; border-left: 4px solid #f08c00; padding: 0.2rem 1rem 0.6rem; }
.pass { color: #2b8a3e; font-weight: bold; } .fail { color: #c92a2a; font-weight: bold; }
"""


def render_html(report: Report) -> str:
    """The report as one HTML page with every plot inlined as a base64 PNG."""
    import base64

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(report.title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(report.title)}</h1>",
        (
            f'<p class="meta">Generated {_stamp()} by cogumi {html.escape(__version__)} '
            f"from {len(report.logset.runs)} run(s).</p>"
        ),
    ]
    for section in report.sections:
        parts.append('<section class="warning">' if section.warning else "<section>")
        parts.append(f"<h2>{html.escape(section.heading)}</h2>")
        if section.banner:
            css, text = section.banner
            parts.append(f'<p class="{css}">{html.escape(text)}</p>')
        parts.extend(f"<p>{html.escape(p)}</p>" for p in section.paragraphs)
        for caption, table in section.tables:
            if caption:
                parts.append(f'<p class="caption">{html.escape(caption)}</p>')
            rendered = table.to_html(index=False, escape=True, border=0, na_rep="")
            parts.append(f'<div class="scroll">{rendered}</div>')
        for plot in section.plots:
            data = base64.b64encode(plot.png).decode("ascii")
            parts.append(
                f'<figure><img alt="{html.escape(plot.caption)}" '
                f'src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(plot.caption)}</figcaption></figure>"
            )
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_markdown(report: Report, out: Path) -> str:
    """The report as Markdown; plots are referenced as ``<out stem>-<plot>.png`` beside ``out``."""
    lines = [
        f"# {report.title}",
        "",
        f"Generated {_stamp()} by cogumi {__version__} from {len(report.logset.runs)} run(s).",
        "",
    ]
    for section in report.sections:
        lines += [f"## {section.heading}", ""]
        if section.warning:
            lines += ["> **Warning**", ""]
        if section.banner:
            lines += [f"**{section.banner[1]}**", ""]
        for paragraph in section.paragraphs:
            lines += [paragraph, ""]
        for caption, table in section.tables:
            if caption:
                lines += [caption, ""]
            lines += [_markdown_table(table), ""]
        for plot in section.plots:
            lines += [f"![{plot.caption}]({_png_name(out, plot)})", ""]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown_table(table: pd.DataFrame) -> str:

    header = "| " + " | ".join(_cell(c) for c in table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = [
        "| " + " | ".join(_cell(v) for v in row) + " |" for row in table.itertuples(index=False)
    ]
    return "\n".join([header, rule, *body])
