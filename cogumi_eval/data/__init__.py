"""Benchmark loaders: a local data folder first (sha256-verified), the Hugging Face hub second.

>>> from cogumi_eval.data import load_gsm8k
>>> problems = load_gsm8k("test", data_dir="../shared/data")
>>> problems[0].id, problems[0].answer
('test-0000', '18')
"""

from ._gsm8k import GSM8KRecord, load_gsm8k
from ._humaneval import HumanEvalProblem, load_humaneval
from ._mmlu import LETTERS, MMLURecord, check_subjects, load_mmlu, mmlu_subjects
from ._records import RecordSet, SkippedRecord
from ._source import (
    DATA_DIR_ENV,
    ChecksumError,
    DataError,
    DataSourceError,
    PinnedFile,
    RecordError,
    pinned_files,
    resolve_data_dir,
)
from ._verify import FileReport, verify_data_dir

__all__ = [
    "DATA_DIR_ENV",
    "LETTERS",
    "ChecksumError",
    "DataError",
    "DataSourceError",
    "FileReport",
    "GSM8KRecord",
    "HumanEvalProblem",
    "MMLURecord",
    "PinnedFile",
    "RecordError",
    "RecordSet",
    "SkippedRecord",
    "check_subjects",
    "load_gsm8k",
    "load_humaneval",
    "load_mmlu",
    "mmlu_subjects",
    "pinned_files",
    "resolve_data_dir",
    "verify_data_dir",
]
