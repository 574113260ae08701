"""examples/analysis.ipynb runs top to bottom on logs the suite makes, and is committed clean."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "analysis.ipynb"


def test_example_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert all(not cell.outputs and cell.execution_count is None for cell in code)


@pytest.mark.slow
def test_example_notebook_runs_top_to_bottom(analysis_logs, tmp_path, monkeypatch):
    logs = tmp_path / "logs"
    logs.mkdir()
    for log in [
        *analysis_logs.series,
        analysis_logs.epochs,
        analysis_logs.mmlu_base,
        analysis_logs.mmlu_candidate,
    ]:
        shutil.copy(log, logs / log.name)
    monkeypatch.setenv("COGUMI_EXAMPLE_LOGS", str(logs))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 4  # accuracy, verdicts, consistency, subject deltas: each shown once
