"""The ``cogumi`` model API: checkpoints, PEFT adapters and registry names, with lineage.

``read_lineage(log)`` is the stable way to learn which weights produced a log.
"""

from ._read import LINEAGE_KEY, read_lineage

__all__ = ["LINEAGE_KEY", "read_lineage"]
