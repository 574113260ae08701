"""The data-only channel between the checker and the candidate: framing and a tagged encoding.

Standard library only, and nothing imported at start that a fresh interpreter
has not already loaded (the candidate starts one per execution). A message is a
4-byte big-endian length, then UTF-8 text: from the checker, the code, then
requests as Python literals of plain data (``request_text``, read back by
``read_request``); from the candidate, JSON (``to_json``) whose values use a
tagged encoding that can express only plain data:

- ``null``, ``true``/``false``, JSON integers, JSON strings: None, bool, int, str
- ``{"f": float.hex(x)}``: a float, exactly (NaN and infinities included)
- ``{"c": [re, im]}``: a complex; ``{"b": hex}``: bytes
- a JSON array: a list; ``{"t": [...]}``: a tuple; ``{"s": [...]}``: a set;
  ``{"fs": [...]}``: a frozenset; ``{"d": [[k, v], ...]}``: a dict (any data key)
- ``{"it": [...]}``: an iterator (a generator or ``map`` that was returned),
  drained and rebuilt as a plain ``tuple`` iterator, so it compares the way the
  original did (by identity) and still iterates to the same items

``decode`` builds nothing but those built-in types, however hostile the bytes:
an object with a custom ``__eq__``, a class, a function or any other object
cannot come out of it. ``encode`` (run by the candidate) refuses what it cannot
express rather than guess.
"""

from __future__ import annotations

import posix  # not os, whose import costs a fresh interpreter ~0.8 ms

TYPE_CHECKING = False  # no typing import: a fresh interpreter loads this for every execution
if TYPE_CHECKING:
    from typing import Any

MAX_DEPTH = 100
"""Nesting deeper than this is refused on both sides (json itself recurses)."""
MAX_ITEMS = 1_000_000
"""A returned iterator is drained up to this many items."""


class NotData(Exception):
    """A value (or a message) that is not plain data in this encoding; ``str`` says why."""


def encode(value: Any, depth: int = 0) -> Any:
    """The tagged form of ``value``; ``NotData`` for anything outside the plain types."""
    if depth > MAX_DEPTH:
        raise NotData(f"nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value
    if kind is float:
        return {"f": value.hex()}
    if kind is complex:
        return {"c": [value.real.hex(), value.imag.hex()]}
    if kind is bytes or kind is bytearray:
        return {"b": bytes(value).hex()}
    inner = depth + 1
    if kind is list:
        return [encode(v, inner) for v in value]
    if kind is tuple:
        return {"t": [encode(v, inner) for v in value]}
    if kind is set:
        return {"s": [encode(v, inner) for v in value]}
    if kind is frozenset:
        return {"fs": [encode(v, inner) for v in value]}
    if kind is dict:
        return {"d": [[encode(k, inner), encode(v, inner)] for k, v in value.items()]}
    if hasattr(kind, "__next__") and hasattr(kind, "__iter__"):
        items: list[Any] = []
        for item in value:
            if len(items) >= MAX_ITEMS:
                raise NotData(f"an iterator of more than {MAX_ITEMS} items")
            items.append(encode(item, inner))
        return {"it": items}
    raise NotData(f"a {kind.__module__}.{kind.__qualname__} is not plain data")


_SCALAR_TAGS = {"f", "c", "b"}


def decode(data: Any, depth: int = 0) -> Any:
    """Plain data from its tagged form; ``NotData`` for anything else (never other objects)."""
    if depth > MAX_DEPTH:
        raise NotData(f"nested deeper than {MAX_DEPTH} levels")
    kind = type(data)
    if data is None or kind is bool or kind is int or kind is str:
        return data
    inner = depth + 1
    if kind is list:
        return [decode(v, inner) for v in data]
    if kind is not dict or len(data) != 1:
        raise NotData(f"a {kind.__name__} where a tagged value was expected")
    ((tag, body),) = data.items()
    try:
        if tag == "f" and type(body) is str:
            return float.fromhex(body)
        if tag == "c" and type(body) is list and len(body) == 2:
            return complex(float.fromhex(str(body[0])), float.fromhex(str(body[1])))
        if tag == "b" and type(body) is str:
            return bytes.fromhex(body)
    except (ValueError, OverflowError, TypeError) as exc:
        raise NotData(f"a malformed {tag!r} value: {exc}") from None
    if tag in _SCALAR_TAGS or type(body) is not list:
        raise NotData(f"a malformed or unknown tag {tag!r}")
    try:
        if tag == "t":
            return tuple(decode(v, inner) for v in body)
        if tag == "s":
            return {decode(v, inner) for v in body}
        if tag == "fs":
            return frozenset(decode(v, inner) for v in body)
        if tag == "it":
            return iter(tuple(decode(v, inner) for v in body))
        if tag == "d":
            result = {}
            for pair in body:
                if type(pair) is not list or len(pair) != 2:
                    raise NotData("a dict entry that is not a [key, value] pair")
                result[decode(pair[0], inner)] = decode(pair[1], inner)
            return result
    except TypeError as exc:  # an unhashable key or set member (a list, say)
        raise NotData(f"an unhashable member: {exc}") from None
    raise NotData(f"an unknown tag {tag!r}")


# ---- JSON text of the tagged form, without the json module (the candidate's side) ----------

_ESCAPES = {i: f"\\u{i:04x}" for i in range(32)} | {ord('"'): '\\"', ord("\\"): "\\\\"}


def _json_text(value: Any) -> str:
    """JSON for the output of ``encode`` (None, bool, int, str, lists, one-key dicts)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is str:
        return '"' + value.translate(_ESCAPES) + '"'
    if kind is list:
        return "[" + ",".join([_json_text(v) for v in value]) + "]"
    ((tag, body),) = value.items()
    return '{"' + tag + '":' + _json_text(body) + "}"


def to_json(message: dict[str, Any]) -> str:
    """A candidate's answer as JSON text; values must already be in the tagged form."""
    return "{" + ",".join(f'"{key}":{_json_text(value)}' for key, value in message.items()) + "}"


# ---- framing --------------------------------------------------------------------


def write_frame(fd: int, text: str) -> None:
    body = text.encode("utf-8", "surrogatepass")
    data = len(body).to_bytes(4, "big") + body
    while data:
        data = data[posix.write(fd, data) :]


def write_message(fd: int, message: dict[str, Any]) -> None:
    write_frame(fd, to_json(message))


def read_exact(fd: int, size: int) -> bytes | None:
    """``size`` bytes from ``fd``, or None at end of stream."""
    chunks, remaining = [], size
    while remaining:
        chunk = posix.read(fd, min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def parse_body(body: bytes) -> Any:
    """The JSON of one message body; ``NotData`` when it is not valid (or too deep)."""
    import json  # the checker's side only (preloaded in the worker)

    try:
        return json.loads(body.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError) as exc:
        raise NotData(f"a message that is not valid JSON ({type(exc).__name__})") from None


def request_text(request: tuple[Any, ...]) -> str:
    """A checker's request as a Python literal; ``NotData`` unless it is all plain data."""
    encode(list(request))  # refuses anything repr() would not write as a literal
    return repr(request)


_LITERAL_NAMES = {"nan": float("nan"), "inf": float("inf"), "set": set, "frozenset": frozenset}


def read_request(text: str) -> Any:
    """A request written by ``request_text`` (the checker is trusted; the names cover
    what ``repr`` of plain data uses beyond literals)."""
    return eval(text, {"__builtins__": {}}, dict(_LITERAL_NAMES))  # noqa: S307
