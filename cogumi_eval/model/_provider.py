"""Registers the ``cogumi`` model API and the lineage hook with Inspect (imported by the entry
point).

Importing this module loads neither torch nor transformers: the API class is
imported when a ``cogumi/`` model is first created.
"""

from __future__ import annotations

from inspect_ai.model import ModelAPI, modelapi

from ._hook import LineageHook


@modelapi(name="cogumi")
def cogumi() -> type[ModelAPI]:
    from ._api import CogumiModelAPI

    return CogumiModelAPI


__all__ = ["LineageHook", "cogumi"]
