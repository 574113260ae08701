"""Task factories, their scorers, and the task descriptor that gate, judge and analysis read.

The files under ``tasks/`` at the repository root are thin wrappers of these.
``TaskDescriptor`` and ``cogumi_task`` let a user's own task be gated, judged and
analysed with no change to Cogumi.
"""

from .._task_descriptor import (
    BUILTIN_TASKS,
    GSM8K,
    HUMANEVAL,
    METADATA_KEY,
    MMLU,
    AnswerKind,
    TaskDescriptor,
    descriptor_for_scorer,
    task_descriptor,
)
from ._described import cogumi_task
from .gsm8k import final_number, gsm8k, gsm8k_prompt
from .humaneval import humaneval, humaneval_prompt, humaneval_tests
from .mmlu import choice_letter, mmlu, mmlu_prompt

__all__ = [
    "BUILTIN_TASKS",
    "GSM8K",
    "HUMANEVAL",
    "METADATA_KEY",
    "MMLU",
    "AnswerKind",
    "TaskDescriptor",
    "choice_letter",
    "cogumi_task",
    "descriptor_for_scorer",
    "final_number",
    "gsm8k",
    "gsm8k_prompt",
    "humaneval",
    "humaneval_prompt",
    "humaneval_tests",
    "mmlu",
    "mmlu_prompt",
    "task_descriptor",
]
