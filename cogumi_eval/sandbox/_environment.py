"""The environment model-written code sees: an allow-list, never the caller's secrets."""

from __future__ import annotations

import re
from collections.abc import Mapping

ALLOWED_VARIABLES = frozenset({"PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR"})
"""Variables passed through (plus ``LC_*``); everything else is dropped."""

SECRET_NAME = re.compile(
    r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASS|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE)", re.IGNORECASE
)
"""Names never passed through, even when allow-listed (belt and braces)."""


def scrub_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """Keep only allow-listed, non-secret variables from ``environ``.

    An allow-list rather than a deny-list: a provider's new ``*_API_KEY`` or a
    ``HF_TOKEN`` never reaches the code because nothing unlisted does.
    """
    return {
        name: value
        for name, value in environ.items()
        if (name in ALLOWED_VARIABLES or name.startswith("LC_")) and not SECRET_NAME.search(name)
    }
