"""A package's public names, imported from their private modules on first use.

Packages whose modules pull in torch, Inspect or numpy re-export through this,
so importing the package (as the pytest plugin and ``--help`` do) stays cheap.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package`` for ``exports`` (name -> ``._module``).

    A name is imported from its module on first access and then set on the package,
    so later lookups never reach ``__getattr__`` again.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
