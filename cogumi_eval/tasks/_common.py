"""What every Cogumi task records about its data in the log's task metadata."""

from __future__ import annotations

from typing import Any

from .._task_descriptor import METADATA_KEY, TaskDescriptor
from .._version import __version__
from ..data import RecordSet


def dataset_metadata(
    benchmark: str, records: RecordSet[Any], descriptor: TaskDescriptor, **options: Any
) -> dict[str, Any]:
    """Task metadata: descriptor, benchmark, data source, record count, skipped records, options.

    Skipped records (non-strict loading) are listed here so a log can never hide
    that it scored fewer samples than the benchmark holds.
    """
    return {
        METADATA_KEY: descriptor.to_metadata(),
        "cogumi_version": __version__,
        "benchmark": benchmark,
        "data_source": records.source,
        "records": len(records),
        "skipped_records": [
            {"file": s.file, "line": s.line, "reason": s.reason} for s in records.skipped
        ],
        **options,
    }
