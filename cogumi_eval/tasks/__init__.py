"""Task factories. The files under ``tasks/`` at the repository root are thin wrappers of these."""

from .._offline import install_mockllm_offline_fallback
from .gsm8k import final_number, gsm8k
from .humaneval import humaneval, humaneval_tests
from .mmlu import choice_letter, mmlu

# Every route to a Cogumi task (task files, cogumi/<task>, the Python API) passes here.
install_mockllm_offline_fallback()

__all__ = ["choice_letter", "final_number", "gsm8k", "humaneval", "humaneval_tests", "mmlu"]
