"""Every plot renders to a PNG of the expected size, and draws on a given axes."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from cogumi_eval import analysis


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the PNG signature and IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def plots(logs):
    comparison = analysis.compare(logs.mmlu_base, logs.mmlu_candidate)
    return {
        "accuracy": (
            lambda ax=None: analysis.plot_accuracy(logs.series + [logs.epochs], ax=ax),
            (800, 450),
        ),
        "verdicts": (lambda ax=None: analysis.plot_verdicts(logs.series, ax=ax), (800, 450)),
        "consistency": (lambda ax=None: analysis.plot_consistency(logs.epochs, ax=ax), (800, 450)),
        # 4 subjects: 1.2 + 0.28 * 4 = 2.32 in, raised to the 3 in minimum
        "subjects": (lambda ax=None: analysis.plot_subject_deltas(comparison, ax=ax), (800, 300)),
    }


@pytest.mark.parametrize("name", ["accuracy", "verdicts", "consistency", "subjects"])
def test_plot_renders_a_png_of_the_expected_size(analysis_logs, tmp_path, name):
    draw, size = plots(analysis_logs)[name]
    figure = draw()
    path = tmp_path / f"{name}.png"
    figure.savefig(path, dpi=100)
    assert path.stat().st_size > 5_000  # a real plot, not an empty canvas
    assert png_size(path) == size


@pytest.mark.parametrize("name", ["accuracy", "verdicts", "consistency", "subjects"])
def test_plot_draws_on_the_axes_it_is_given(analysis_logs, name):
    draw, _ = plots(analysis_logs)[name]
    figure = Figure(figsize=(12, 4))
    left, right = figure.subplots(1, 2)
    assert draw(ax=right) is figure
    assert right.has_data() and not left.has_data()


def test_subject_plot_grows_with_the_number_of_subjects(analysis_logs):
    deltas = analysis.subject_deltas(
        analysis.compare(analysis_logs.mmlu_base, analysis_logs.mmlu_candidate)
    )
    many = deltas.sample(n=40, replace=True, random_state=0).assign(
        subject=[f"s{i}" for i in range(40)]
    )
    width, height = analysis.plot_subject_deltas(many).get_size_inches()
    assert (width, height) == pytest.approx((8.0, 1.2 + 0.28 * 40))


def test_verdict_plot_stacks_the_shares_of_each_run(analysis_logs):
    figure = analysis.plot_verdicts(analysis_logs.series)
    _win, tie, _loss = figure.axes[0].containers  # no judge errors: no error segment
    assert tie.get_label() == "tie"
    assert [bar.get_height() for bar in tie] == pytest.approx([0.70, 0.66, 0.28, 0.30])
    # ties sit on top of the wins
    assert [bar.get_y() for bar in tie] == pytest.approx([0.20, 0.18, 0.12, 0.10])


def test_plots_without_data_say_so(analysis_logs):
    figure = analysis.plot_verdicts(analysis_logs.epochs)
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert texts == ["no run has pairwise judge verdicts"]
    figure = analysis.plot_consistency(analysis_logs.series)
    assert "more than one epoch" in figure.axes[0].texts[0].get_text()
