"""Writes each ``cogumi`` model's lineage into the eval log it produces.

A model API cannot reach the log, so an Inspect hook does it at task start: it
finds the live ``cogumi`` model the spec names and stores its lineage under
``log.eval.metadata["lineage"]`` (shown in ``inspect view`` with the task's
metadata, read back with ``read_lineage``). The recorder writes the header
from this spec when the task ends, so the record is in every finished,
failed or cancelled log; the start-of-run journal does not carry it.
"""

from __future__ import annotations

from inspect_ai.hooks import Hooks, TaskStart, hooks

from ._read import LINEAGE_KEY


@hooks(name="cogumi_lineage", description="Records the cogumi model's lineage in the eval log's metadata.")
class LineageHook(Hooks):
    async def on_task_start(self, data: TaskStart) -> None:
        spec = data.spec
        if not spec.model.startswith("cogumi/"):
            return
        from ._api import live_model_api

        api = live_model_api(spec.model, spec.model_args)
        if api is None:
            return
        config = spec.model_generate_config.merge(data.plan.config)
        # the spec is the recorder's own header object: adding one metadata key is the whole change
        spec.metadata = {**(spec.metadata or {}), LINEAGE_KEY: api.lineage(config).to_dict()}
