"""Writes each ``cogumi`` model's lineage into the eval log it produces.

A model API cannot reach the log, so an Inspect hook does it at task start: it
finds the live ``cogumi`` model the spec names and stores its lineage under
``log.eval.metadata["lineage"]`` (shown in ``inspect view`` with the task's
metadata, read back with ``read_lineage``). The recorder writes the header
from this spec when the task ends, so the record is in every finished,
failed or cancelled log; the start-of-run journal does not carry it.

A model behind an OpenAI-compatible server (``openai-api/<service>/<name>``,
``vllm/<name>`` with a base URL) gets what its server says of it instead
(``cogumi_eval.model._served``).
"""

from __future__ import annotations

from inspect_ai.hooks import Hooks, TaskStart, hooks

from ._read import LINEAGE_KEY


@hooks(
    name="cogumi_lineage",
    description="Records the cogumi model's lineage in the eval log's metadata.",
)
class LineageHook(Hooks):
    async def on_task_start(self, data: TaskStart) -> None:
        spec = data.spec
        if not spec.model.startswith("cogumi/"):
            await self._served(data)
            return
        from ._api import live_model_api

        api = live_model_api(spec.model, spec.model_args)
        if api is None:
            return
        config = spec.model_generate_config.merge(data.plan.config)
        # the spec is the recorder's own header object: adding one metadata key is the whole change
        spec.metadata = {**(spec.metadata or {}), LINEAGE_KEY: api.lineage(config).to_dict()}

    async def _served(self, data: TaskStart) -> None:
        from ._served import SERVED_PROVIDERS, served_lineage

        spec = data.spec
        base_url = spec.model_base_url or _base_url_from_env(spec.model)
        if spec.model.split("/", 1)[0] not in SERVED_PROVIDERS or not base_url:
            return
        import anyio

        record = await anyio.to_thread.run_sync(served_lineage, spec.model, base_url)
        spec.metadata = {**(spec.metadata or {}), LINEAGE_KEY: record}


def _base_url_from_env(model: str) -> str | None:
    """``<SERVICE>_BASE_URL`` for ``openai-api/<service>/...`` (the provider's own variable)."""
    import os

    provider, _, rest = model.partition("/")
    if provider == "openai-api":
        return os.environ.get(f"{rest.split('/', 1)[0].upper().replace('-', '_')}_BASE_URL")
    return os.environ.get(f"{provider.upper()}_BASE_URL")
