"""What every Cogumi task records about its data in the log's task metadata."""

from __future__ import annotations

from typing import Any

from .._version import __version__
from ..data import RecordSet


def dataset_metadata(benchmark: str, records: RecordSet[Any], **options: Any) -> dict[str, Any]:
    """Task metadata: benchmark, data source, record count, skipped records and options.

    Skipped records (non-strict loading) are listed here so a log can never hide
    that it scored fewer samples than the benchmark holds.
    """
    return {
        "cogumi_version": __version__,
        "benchmark": benchmark,
        "data_source": records.source,
        "records": len(records),
        "skipped_records": [
            {"file": s.file, "line": s.line, "reason": s.reason} for s in records.skipped
        ],
        **options,
    }
