"""Task factories. The files under ``tasks/`` at the repository root are thin wrappers of these."""

from .gsm8k import final_number, gsm8k

__all__ = ["final_number", "gsm8k"]
