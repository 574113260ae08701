"""The ``cogumi`` command.

Each subcommand lives beside the concept it serves, in a module that exposes
``register(subparsers)``; the parser it adds sets ``run=<function(args) -> int>``.
Only the module of the command being run is imported, so ``cogumi gate`` does
not pay for loading torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ._errors import CogumiError
from ._version import __version__

# command name -> module that registers it
COMMANDS: dict[str, str] = {
    "data": "cogumi_eval.data._cli",
    "lineage": "cogumi_eval.model._cli",
    "baseline": "cogumi_eval.judge._baseline_cli",
    "judge": "cogumi_eval.judge._judge_cli",
    "cache": "cogumi_eval.judge._cache_cli",
    "gate": "cogumi_eval.gate._cli",
    "report": "cogumi_eval.analysis._cli",
    "train": "cogumi_train._cli",
    "promote": "cogumi_train._promote_cli",
    "compress": "cogumi_compress._cli",
}


class CommandError(CogumiError):
    """A failure of the command line itself (bad combination of options)."""


def build_parser(commands: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cogumi",
        description="Evaluate, judge and gate LLM checkpoints (built on Inspect).",
    )
    parser.add_argument("--version", action="version", version=f"cogumi {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    for name in commands if commands is not None else COMMANDS:
        importlib.import_module(COMMANDS[name]).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Import just the requested command's module when it is named first.
    first = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser([first] if first in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except CogumiError as ex:
        print(f"error: {ex}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
