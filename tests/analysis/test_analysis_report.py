"""``cogumi report`` and ``analysis.write_report``: HTML with embedded plots, Markdown with PNGs."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cogumi_eval import analysis
from cogumi_eval.cli import main

TIE_BLUE = (0x4C, 0x6E, 0xF5)  # the tie colour of the verdict plot


def embedded_pngs(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def test_html_report_is_self_contained_with_every_plot_embedded(analysis_logs, tmp_path):
    out = analysis.write_report(analysis_logs.series + [analysis_logs.epochs], tmp_path / "r.html")
    page = out.read_text()
    pngs = embedded_pngs(page)
    assert len(pngs) == 3  # accuracy, verdicts, consistency
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in pngs)
    # nothing fetched from elsewhere
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert list(tmp_path.iterdir()) == [out]


def test_markdown_report_writes_its_pngs_beside_it(analysis_logs, tmp_path):
    out = analysis.write_report(
        [analysis_logs.mmlu_base, analysis_logs.mmlu_candidate], tmp_path / "mmlu.md"
    )
    text = out.read_text()
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert linked == ["mmlu-accuracy.png", "mmlu-subjects.png"]
    assert all((tmp_path / name).read_bytes().startswith(b"\x89PNG") for name in linked)
    assert "| virology | 5 | 80.0% | 0.0% | -80.0 pp |" in text


def test_report_compares_two_runs_of_one_task_on_its_own(analysis_logs, tmp_path):
    out = analysis.write_report(
        [analysis_logs.mmlu_base, analysis_logs.mmlu_candidate], tmp_path / "r.md"
    )
    assert "## candidate against base" in out.read_text()


def test_report_compares_the_named_baseline_and_candidate(analysis_logs, tmp_path):
    out = analysis.write_report(
        analysis_logs.series,
        tmp_path / "r.md",
        baseline=str(analysis_logs.series[0]),
        candidate="merged",
    )
    text = out.read_text()
    assert "## merged against sft" in text
    assert (
        "| 80.0% | 44.0% | -36.0 pp (-49.4 pp to -22.6 pp) | 7.6e-06 (mcnemar-exact) "
        "| 0 | 18 | 32 |" in text
    )
    assert "| tie | 70.0% | 28.0% |" in text


def test_report_lists_problem_logs(analysis_logs, tmp_path):
    out = analysis.write_report(analysis_logs.bad_folder, tmp_path / "r.md")
    text = out.read_text()
    assert "## Logs with problems" in text
    assert "truncated.eval | unreadable" in text


def test_cli_writes_the_report_and_warns_about_skipped_logs(analysis_logs, tmp_path, capsys):
    code = main(
        [
            "report",
            str(analysis_logs.bad_folder),
            str(analysis_logs.epochs),
            "--out",
            str(tmp_path / "r.html"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "wrote" in captured.out and "(4 runs)" in captured.out
    assert "truncated.eval: unreadable" in captured.err
    assert (tmp_path / "r.html").stat().st_size > 10_000


def test_cli_rejects_an_unknown_report_format(analysis_logs, tmp_path, capsys):
    code = main(["report", str(analysis_logs.epochs), "--out", str(tmp_path / "r.pdf")])
    assert code == 2
    assert "written as .html or .md" in capsys.readouterr().err


def test_cli_rejects_a_baseline_without_a_candidate(analysis_logs, tmp_path, capsys):
    code = main(
        ["report", str(analysis_logs.epochs), "--baseline", "x", "--out", str(tmp_path / "r.md")]
    )
    assert code == 2
    assert "both --baseline and --candidate" in capsys.readouterr().err


def _chromium() -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium): "
            "cannot screenshot the report"
        )
    return chromium


def _headless(
    page: Path, tmp_path: Path, width: int, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={width},2400",
            *args,
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )


# Written into a copy of the page: which tables scroll sideways, and whether the page does.
_MEASURE = """<script>
const overflowing = [...document.querySelectorAll("div.scroll")]
  .filter(d => d.scrollWidth > d.clientWidth + 1)
  .map(d => d.previousElementSibling ? d.previousElementSibling.textContent.slice(0, 40) : "?");
const page = document.documentElement.scrollWidth > window.innerWidth;
document.body.insertAdjacentHTML("beforeend",
  `<pre id="measured">${JSON.stringify({overflowing, page, width: window.innerWidth})}</pre>`);
</script>"""


def test_gate_and_paired_tables_fit_1280_px_without_scrolling(analysis_logs, tmp_path):
    spec = tmp_path / "gate.toml"
    spec.write_text(TIE_AND_ACCURACY_RULES)
    page = analysis.write_report(
        analysis_logs.series,
        tmp_path / "report.html",
        baseline=str(analysis_logs.series[0]),
        candidate=str(analysis_logs.series[2]),
        spec=spec,
    )
    measured = tmp_path / "measured.html"
    measured.write_text(page.read_text().replace("</body>", _MEASURE + "</body>"))
    dom = _headless(measured, tmp_path, 1280, "--dump-dom").stdout
    found = json.loads(html.unescape(dom.rsplit('<pre id="measured">', 1)[1].split("</pre>")[0]))
    assert found == {"overflowing": [], "page": False, "width": 1280}
    shot = tmp_path / "gate-1280.png"
    _headless(page, tmp_path, 1280, f"--screenshot={shot}")
    assert shot.stat().st_size > 0


def test_html_report_renders_in_headless_chromium(analysis_logs, tmp_path):
    from matplotlib.image import imread

    page = analysis.write_report(analysis_logs.series, tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    _headless(page, tmp_path, 1200, f"--screenshot={shot}")
    pixels = (imread(shot)[:, :, :3] * 255).round().astype(int)
    assert pixels.shape[:2] == (2400, 1200)
    # the verdict plot is on the page: its tie colour fills many pixels
    tie = (abs(pixels - TIE_BLUE).max(axis=2) <= 2).sum()
    assert tie > 10_000


TIE_AND_ACCURACY_RULES = """
[[rule]]
name = "gsm8k tie rate"
task = "gsm8k"
metric = "tie_rate"
max_drop = 0.05

[[rule]]
name = "gsm8k accuracy"
task = "gsm8k"
metric = "accuracy"
max_drop = 0.03
"""


def test_report_with_a_spec_shows_the_gate_and_exits_as_the_gate(analysis_logs, tmp_path, capsys):
    spec = tmp_path / "gate.toml"
    spec.write_text(TIE_AND_ACCURACY_RULES)
    sft, merged = analysis_logs.series[0], analysis_logs.series[2]
    out = tmp_path / "gate.md"
    code = main(
        [
            "report",
            "--baseline",
            str(sft),
            "--candidate",
            str(merged),
            "--spec",
            str(spec),
            "--out",
            str(out),
        ]
    )
    text = out.read_text()
    assert code == 1  # the tie collapse is a regression, as for cogumi gate
    assert "gate FAILED (regression)" in capsys.readouterr().out
    assert "## Gate: gate.toml" in text
    assert (
        "| gsm8k tie rate | fail | gsm8k / tie_rate | 0.700 [0.562, 0.809] | 0.280 [0.175, 0.417] "
        "| -0.420 [-0.598, -0.242] | 0.050 | 2.3e-05 (2.3e-05) |"
    ) in text
    # the gate comes right after the runs, before the plots
    assert text.index("## Gate") < text.index("## Accuracy")


def test_report_with_a_passing_gate_exits_0(analysis_logs, tmp_path):
    spec = tmp_path / "gate.toml"
    spec.write_text(TIE_AND_ACCURACY_RULES.replace("0.05", "0.9").replace("0.03", "0.9"))
    sft, lora = analysis_logs.series[0], analysis_logs.series[1]
    code = main(
        [
            "report",
            "--baseline",
            str(sft),
            "--candidate",
            str(lora),
            "--spec",
            str(spec),
            "--out",
            str(tmp_path / "r.html"),
        ]
    )
    assert code == 0
    assert '<p class="pass">gate PASSED' in (tmp_path / "r.html").read_text()


def test_report_spec_needs_baseline_and_candidate(analysis_logs, tmp_path, capsys):
    code = main(
        ["report", str(analysis_logs.epochs), "--spec", "x.toml", "--out", str(tmp_path / "r.md")]
    )
    assert code == 2
    assert "needs --baseline and --candidate" in capsys.readouterr().err
