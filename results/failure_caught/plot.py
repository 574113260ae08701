"""Draw verdicts.png from the logs beside this file: python results/failure_caught/plot.py"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from cogumi_eval import analysis  # noqa: E402

HERE = Path(__file__).parent
LABELS = {  # the run's model folder -> a short label
    "base": "base",
    "merged/lora-bf16": "(a) LoRA\nmerged",
    "adapters/qlora": "(b) QLoRA\nunmerged",
    "merged/qlora-bf16": "(b) into bf16\n(seed's merge)",
    "merged/qlora-dequantized": "(b) into\ndequantized",
}
table = analysis.verdicts(analysis.load(str(HERE)))
table["run"] = [
    next((label for key, label in LABELS.items() if str(run).endswith(key)), run)
    for run in table["run"]
]
analysis.plot_verdicts(table).savefig(HERE / "verdicts.png", dpi=110, bbox_inches="tight")
