"""Cogumi's user errors, shown by ``inspect eval`` as their message alone.

Inspect's command line prints a ``PrerequisiteError`` as its message, without a
traceback. Where Cogumi code runs inside Inspect (the model API, task
factories), a ``CogumiError`` is re-raised as the same class that is also a
``PrerequisiteError``: ``except ModelRefError`` still catches it, and the
``cogumi`` commands, which never convert, start without importing Inspect.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from ._errors import CogumiError

E = TypeVar("E", bound=CogumiError)


_SHOWN: dict[type[CogumiError], type[CogumiError]] = {}


def _prerequisite(cls: type[CogumiError]) -> type[CogumiError]:
    """One subclass per error class, made on first use."""
    from inspect_ai._util.error import PrerequisiteError

    if cls not in _SHOWN:
        _SHOWN[cls] = type(cls.__name__, (cls, PrerequisiteError), {"__module__": cls.__module__})
    return _SHOWN[cls]


def shown_by_inspect(error: E) -> E:
    """``error`` as the same class and also Inspect's ``PrerequisiteError``."""
    if _is_prerequisite(error):
        return error
    shown = _prerequisite(type(error))(*error.args)
    shown.message = str(error)  # type: ignore[attr-defined]
    return shown  # type: ignore[return-value]


def _is_prerequisite(error: BaseException) -> bool:
    return any(c.__name__ == "PrerequisiteError" for c in type(error).__mro__[1:])


F = TypeVar("F", bound=Callable[..., Any])


def user_errors_shown_by_inspect(factory: F) -> F:
    """A task factory whose ``CogumiError`` (no data, no baseline) Inspect prints plainly."""

    @functools.wraps(factory)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return factory(*args, **kwargs)
        except CogumiError as ex:
            raise shown_by_inspect(ex) from None

    return wrapper  # type: ignore[return-value]
