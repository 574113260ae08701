"""Cogumi: is the new checkpoint better or worse than the last one?

Tasks (``gsm8k``, ``humaneval``, ``mmlu``) run on Inspect; everything downstream
(judging, gates, analysis) reads only the eval logs they write.
"""

from ._offline import install_mockllm_offline_fallback
from ._version import __version__
from .tasks import gsm8k, humaneval, mmlu

install_mockllm_offline_fallback()

__all__ = ["__version__", "gsm8k", "humaneval", "mmlu"]
