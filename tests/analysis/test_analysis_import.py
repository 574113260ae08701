"""``from cogumi_eval import analysis`` works, and ``import cogumi_eval`` does not pay for it."""

from __future__ import annotations

import subprocess
import sys


def test_importing_cogumi_eval_loads_neither_analysis_nor_pandas_nor_matplotlib():
    code = (
        "import sys, cogumi_eval; "
        "print(sorted(m for m in ('cogumi_eval.analysis', 'pandas', 'matplotlib') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_analysis_is_importable_from_the_package():
    from cogumi_eval import analysis

    assert callable(analysis.runs) and callable(analysis.plot_verdicts)
    assert set(analysis.__all__) >= {"runs", "samples", "compare", "verdicts", "consistency"}
