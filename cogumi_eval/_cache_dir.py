"""Where Cogumi keeps what it computes once: verdicts, weight hashes."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$COGUMI_CACHE_DIR``, else the user's cache folder for cogumi."""
    configured = os.environ.get("COGUMI_CACHE_DIR")
    if configured:
        return Path(configured)
    import platformdirs

    return Path(platformdirs.user_cache_dir("cogumi"))
