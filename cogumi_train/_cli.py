"""``cogumi train <step>``: dedup, filter, lora, merge, distill.

Each step's parser lives beside the step in a module exposing
``register(subparsers)``; those modules import nothing heavy at module level,
so ``cogumi train dedup`` never loads torch.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

# step -> module that registers it
STEPS: dict[str, str] = {
    "dedup": "cogumi_train.data._cli",
    "filter": "cogumi_train.data._cli",
    "lora": "cogumi_train._lora_cli",
    "merge": "cogumi_train._merge_cli",
    "distill": "cogumi_train._distill_cli",
}


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "train",
        help="prepare data, fine-tune with LoRA / QLoRA, merge, distil",
        description="Training steps whose outputs carry lineage; promote the result with "
        "`cogumi promote`.",
    )
    steps = parser.add_subparsers(dest="train_step", metavar="<step>")
    for module in dict.fromkeys(STEPS.values()):
        importlib.import_module(module).register(steps)

    def show_steps(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(run=show_steps)
