"""Training data: streaming JSONL deduplication and quality / language filtering.

Names are imported on first use, so ``cogumi train --help`` (which imports this
package for its ``_cli``) loads neither numpy nor datasketch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogumi_eval._lazy import lazy_exports

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


__getattr__ = lazy_exports(__name__, _EXPORTS)
