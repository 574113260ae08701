"""What can be known of a model behind an OpenAI-compatible server (``vllm serve`` and the like).

A served model's weights are out of reach, so its lineage is what the server
says about itself: the name it serves under, its ``/v1/models`` record (vLLM's
carries ``root``, the folder or hub id it loaded, and ``max_model_len``) and
its version (vLLM's ``GET /version``). Each is asked once, with a short
timeout, when the eval starts; what cannot be read is recorded as such and
never fails the run. The API key is sent, as the provider sends it, and never
written down.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from .._version import __version__

SERVED_PROVIDERS = ("openai-api", "vllm", "sglang", "openai")
TIMEOUT_S = 5.0


def served_name(model: str) -> str:
    """The served name: ``openai-api/<service>/<name>`` or ``<provider>/<name>`` → ``<name>``."""
    provider, _, rest = model.partition("/")
    return rest.split("/", 1)[1] if provider == "openai-api" and "/" in rest else rest


def api_key_for(model: str) -> str | None:
    """The key the provider would send (``<SERVICE>_API_KEY`` for ``openai-api/<service>/...``)."""
    provider, _, rest = model.partition("/")
    if provider == "openai-api":
        service = rest.split("/", 1)[0].upper().replace("-", "_")
        return os.environ.get(f"{service}_API_KEY")
    return os.environ.get(f"{provider.upper()}_API_KEY")


def _get(url: str, api_key: str | None) -> tuple[dict[str, Any] | None, dict[str, str], str | None]:
    request = urllib.request.Request(url)
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            body = json.loads(response.read() or b"null")
            return (body if isinstance(body, dict) else None), dict(response.headers), None
    except (urllib.error.URLError, OSError, ValueError) as ex:
        return None, {}, f"{type(ex).__name__}: {ex}"


def served_lineage(model: str, base_url: str) -> dict[str, Any]:
    """The lineage record of ``model`` served at ``base_url`` (``http://host:port/v1``)."""
    key = api_key_for(model)
    name = served_name(model)
    base = base_url.rstrip("/")
    served: dict[str, Any] = {"name": name, "base_url": base}
    models, headers, problem = _get(f"{base}/models", key)
    if models is None:
        served["models_error"] = problem
    else:
        records = [m for m in models.get("data") or [] if isinstance(m, dict)]
        served["model_record"] = next((m for m in records if m.get("id") == name), None)
        served["models_served"] = [m.get("id") for m in records]
    if headers.get("server"):
        served["http_server"] = headers["server"]
    root = base.removesuffix("/v1")
    version, _, problem = _get(f"{root}/version", key)
    served["server_version"] = (version or {}).get("version")
    if version is None:
        served["version_error"] = problem
    return {"ref": model, "kind": "served", "served": served, "cogumi_version": __version__}
