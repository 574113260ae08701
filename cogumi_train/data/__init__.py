"""Training data: streaming JSONL deduplication and quality / language filtering.

Names are imported on first use, so ``cogumi train --help`` (which imports this
package for its ``_cli``) loads neither numpy nor datasketch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._dedup import DedupResult, dedup
    from ._filter import FilterResult, QualityWeights, filter_data
    from ._minhash import MinHasher, normalise
    from ._records import DataError

# public name -> private module that defines it
_EXPORTS: dict[str, str] = {
    "dedup": "._dedup",
    "DedupResult": "._dedup",
    "filter_data": "._filter",
    "FilterResult": "._filter",
    "QualityWeights": "._filter",
    "MinHasher": "._minhash",
    "normalise": "._minhash",
    "DataError": "._records",
}

__all__ = [
    "DataError",
    "DedupResult",
    "FilterResult",
    "MinHasher",
    "QualityWeights",
    "dedup",
    "filter_data",
    "normalise",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
