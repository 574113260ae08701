"""Task factories. The files under ``tasks/`` at the repository root are thin wrappers of these."""

from .gsm8k import final_number, gsm8k
from .humaneval import humaneval, humaneval_tests
from .mmlu import choice_letter, mmlu

__all__ = ["choice_letter", "mmlu", "final_number", "gsm8k", "humaneval", "humaneval_tests"]
