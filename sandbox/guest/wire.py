"""Framing and the value codec shared by the host and the in-container supervisor.

Stdlib only: this file is mounted read-only into every sandbox container.

Frames are a 4-byte big-endian length and a UTF-8 JSON body. Values crossing the
serialization boundary (function arguments and results) are encoded with exact type
checks, so only plain data crosses: an ``int`` subclass, an object whose ``__eq__`` is
always true, or anything else a candidate invents is refused inside the sandbox, never
compared outside it. Tuples, sets, dicts with any keys, bytes, complex and non-finite
floats are tagged so they survive JSON.
"""

from __future__ import annotations

import json
import math
import os
import struct
from typing import Any

MAX_FRAME = 64 * 1024 * 1024
_MAX_DEPTH = 200
_HEADER = struct.Struct(">I")


class ProtocolError(Exception):
    """A frame or value that breaks the protocol (truncated, oversized, malformed)."""


# --------------------------------------------------------------------------- framing


def write_frame(fd: int, message: dict[str, Any]) -> None:
    body = json.dumps(message, separators=(",", ":")).encode()
    data = _HEADER.pack(len(body)) + body
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exact(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("channel closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> dict[str, Any]:
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size))
    if size > MAX_FRAME:
        raise ProtocolError(f"frame of {size} bytes exceeds {MAX_FRAME}")
    try:
        message = json.loads(_read_exact(fd, size))
    except ValueError as error:
        raise ProtocolError(f"malformed frame: {error}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a frame must hold an object")
    return message


# --------------------------------------------------------------------------- values


def encode(value: Any, depth: int = 0) -> Any:
    """Plain data → JSON-able; raises TypeError for anything that is not plain data."""
    if depth > _MAX_DEPTH:
        raise TypeError("value nested too deeply")
    kind = type(value)
    if value is None or kind is bool or kind is str or kind is int:
        return value
    if kind is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if kind is list:
        return [encode(v, depth + 1) for v in value]
    if kind is tuple:
        return {"$tuple": [encode(v, depth + 1) for v in value]}
    if kind is set or kind is frozenset:
        return {"$set": [encode(v, depth + 1) for v in value], "frozen": kind is frozenset}
    if kind is dict:
        return {"$dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if kind is bytes:
        return {"$bytes": value.hex()}
    if kind is complex:
        return {"$complex": [encode(value.real), encode(value.imag)]}
    raise TypeError(f"a value of type {kind.__module__}.{kind.__qualname__} cannot cross the boundary")


def decode(data: Any) -> Any:
    """The inverse of :func:`encode`; raises ProtocolError on malformed input."""
    if data is None or isinstance(data, bool | str | int | float):
        return data
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise ProtocolError(f"malformed value {str(data)[:80]}")
    try:
        if "$float" in data:
            return float(data["$float"])
        if "$tuple" in data:
            return tuple(decode(v) for v in data["$tuple"])
        if "$set" in data:
            items = [decode(v) for v in data["$set"]]
            return frozenset(items) if data.get("frozen") else set(items)
        if "$dict" in data:
            return {decode(k): decode(v) for k, v in data["$dict"]}
        if "$bytes" in data:
            return bytes.fromhex(data["$bytes"])
        if "$complex" in data:
            real, imag = data["$complex"]
            return complex(decode(real), decode(imag))
    except (TypeError, ValueError) as error:
        raise ProtocolError(f"malformed value: {error}") from None
    raise ProtocolError(f"unknown tag in {str(data)[:80]}")
