"""Framing and the value codec shared by the host and the in-container supervisor.

Stdlib only: this file is mounted read-only into every sandbox container.

Frames are a 4-byte big-endian length and a body. Between the host and the supervisor
the body is UTF-8 JSON (both sides are verirl's). Between the supervisor and a
candidate's harness process the body is opaque to the supervisor: a call reply is the
call's nonce, one kind byte and a payload (see :func:`reply_frame`), so nothing a
candidate writes is parsed inside the supervisor, and nothing it writes can add a key
to the supervisor's own replies.

Values crossing the serialization boundary (function arguments and results) are encoded
with exact type checks, so only plain data crosses: an ``int`` subclass, an object whose
``__eq__`` is always true, or anything else a candidate invents is refused inside the
sandbox, never compared outside it. Tuples, sets, dicts with any keys, bytes, complex,
very large ints and non-finite floats are tagged so they survive JSON.

Decoding a result on the host is bounded work, whatever the candidate sent: a size cap
before parsing, a container-count cap, a nesting cap checked without recursion, and no
set or dict built from values that collide in Python's hash (each collision would cost
a comparison with every earlier colliding element, with the GIL held).
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections import Counter
from typing import Any

MAX_FRAME = 64 * 1024 * 1024  # a host → supervisor request
MAX_DEPTH = 100  # nesting of lists, tuples, sets and dicts in one value
MAX_CONTAINERS = 250_000  # lists and objects in one encoded result (bounds host memory)
MAX_COLLISIONS = 64  # distinct elements of one set/dict/list sharing one hash
VALUE_BYTES = 4 << 20  # default cap on one encoded call result (the host may set another)
_BIG_INT_BITS = 12_000  # beyond ~3600 digits ints travel as hex (int↔str is quadratic)
_HEADER = struct.Struct(">I")
# Built once: json.dumps/json.loads with options build a new encoder on every call.
COMPACT = json.JSONEncoder(separators=(",", ":"))
_STRICT = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_DECODER = json.JSONDecoder()
NONCE_BYTES = 16  # hex characters of a call's nonce

# Kinds of a harness reply (the byte after the nonce).
LOADED, NOT_LOADED, VALUE, RAISED = b"L", b"N", b"V", b"E"


class ProtocolError(Exception):
    """A frame or value that breaks the protocol (truncated, oversized, malformed)."""


class TooLarge(ProtocolError):
    """A value larger than its cap (bytes or containers)."""


# --------------------------------------------------------------------------- framing


def write_frame(fd: int, message: dict[str, Any]) -> None:
    write_raw(fd, COMPACT.encode(message).encode())


def write_raw(fd: int, body: bytes) -> None:
    data = _HEADER.pack(len(body)) + body
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def frame(body: bytes) -> bytes:
    return _HEADER.pack(len(body)) + body


def _read_exact(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("channel closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_raw(fd: int, limit: int = MAX_FRAME) -> bytes:
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size))
    if size > limit:
        raise ProtocolError(f"frame of {size} bytes exceeds {limit}")
    return _read_exact(fd, size)


def read_frame(fd: int) -> dict[str, Any]:
    try:
        message = parse(read_raw(fd))
    except (ValueError, RecursionError) as error:
        raise ProtocolError(f"malformed frame: {type(error).__name__}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a frame must hold an object")
    return message


def parse(body: bytes) -> Any:
    """UTF-8 JSON → value (ValueError when malformed, RecursionError when too deep)."""
    return _DECODER.decode(body.decode("utf-8"))


def take_frame(buffer: bytearray, limit: int) -> bytes | None:
    """The first complete frame's body, removed from ``buffer``; None while incomplete.
    Raises TooLarge as soon as the header announces more than ``limit`` bytes, before
    anything more is buffered."""
    if len(buffer) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack_from(buffer)
    if size > limit:
        raise TooLarge(f"a frame of {size} bytes (the limit is {limit})")
    end = _HEADER.size + size
    if len(buffer) < end:
        return None
    body = bytes(buffer[_HEADER.size : end])
    del buffer[:end]
    return body


def reply_frame(nonce: str, kind: bytes, payload: bytes) -> bytes:
    """A harness reply: nonce, kind, payload (encoded JSON value, or UTF-8 text)."""
    return frame(nonce.encode("ascii") + kind + payload)


def split_reply(body: bytes) -> tuple[str, bytes, bytes]:
    """(nonce, kind, payload) of a harness reply body; ProtocolError when malformed."""
    if len(body) < NONCE_BYTES + 1:
        raise ProtocolError("a reply shorter than its header")
    nonce = body[:NONCE_BYTES].decode("ascii", "replace")
    return nonce, body[NONCE_BYTES : NONCE_BYTES + 1], body[NONCE_BYTES + 1 :]


# --------------------------------------------------------------------------- values


def encode(value: Any, depth: int = 0) -> Any:
    """Plain data → JSON-able; raises TypeError for anything that is not plain data."""
    if depth > MAX_DEPTH:
        raise TypeError("value nested too deeply")
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value if value.bit_length() <= _BIG_INT_BITS else {"$int": format(value, "x")}
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


def dumps(value: Any) -> bytes:
    """A value as the payload of a reply (TypeError/ValueError when it cannot cross)."""
    return _STRICT.encode(encode(value)).encode()


def loads(payload: bytes, limit: int) -> Any:
    """The value in a reply payload, with bounded work: TooLarge past ``limit`` bytes or
    :data:`MAX_CONTAINERS` containers, ProtocolError when malformed or too deep."""
    if len(payload) > limit:
        raise TooLarge(f"the returned value takes {len(payload)} bytes (the limit is {limit})")
    # Counted before parsing: brackets inside strings count too, an overestimate.
    containers = payload.count(b"[") + payload.count(b"{")
    if containers > MAX_CONTAINERS:
        raise TooLarge(f"the returned value holds over {MAX_CONTAINERS} lists or objects")
    try:
        data = parse(payload)
    except RecursionError:
        raise ProtocolError("value nested too deeply") from None
    except ValueError as error:
        raise ProtocolError(f"malformed value: {str(error)[:80]}") from None
    return decode(data)


_SCALARS = frozenset((str, int, float, bool, type(None)))
_COLLIDABLE = frozenset((int, float, complex, tuple, frozenset))


def decode(data: Any) -> Any:
    """The inverse of :func:`encode`, without recursion; ProtocolError on malformed input
    or nesting deeper than :data:`MAX_DEPTH`."""
    value, frame_ = _open(data, 0)
    if frame_ is None:
        return value
    stack = [frame_]
    while True:
        kind, children, results, depth = stack[-1]
        while len(results) < len(children):
            child = children[len(results)]
            if type(child) in _SCALARS:
                results.append(child)
                continue
            value, frame_ = _open(child, depth + 1)
            if frame_ is not None:
                stack.append(frame_)
                break
            results.append(value)
        else:
            stack.pop()
            value = _close(kind, results)
            if not stack:
                return value
            stack[-1][2].append(value)


def _open(data: Any, depth: int) -> tuple[Any, list | None]:
    """A leaf's value, or a frame [kind, children, results, depth] for a container."""
    if type(data) in _SCALARS:
        return data, None
    if depth >= MAX_DEPTH:
        raise ProtocolError("value nested too deeply")
    if type(data) is list:
        return None, ["list", data, [], depth]
    if type(data) is not dict or len(data) not in (1, 2):
        raise ProtocolError(f"malformed value {_excerpt(data)}")
    try:
        if len(data) == 1:
            ((tag, body),) = data.items()
            if tag == "$tuple" and type(body) is list:
                return None, ["tuple", body, [], depth]
            if tag == "$dict" and type(body) is list:
                flat = []
                for pair in body:
                    if type(pair) is not list or len(pair) != 2:
                        raise ProtocolError("malformed dict entry")
                    flat.extend(pair)
                return None, ["dict", flat, [], depth]
            if tag == "$float" and type(body) is str and len(body) < 16:
                return float(body), None
            if tag == "$int" and type(body) is str and len(body) <= 1 << 20:
                return int(body, 16), None
            if tag == "$bytes" and type(body) is str:
                return bytes.fromhex(body), None
            if tag == "$complex" and type(body) is list and len(body) == 2:
                return complex(_number(body[0]), _number(body[1])), None
        elif type(data.get("$set")) is list and type(data.get("frozen")) is bool:
            return None, ["frozenset" if data["frozen"] else "set", data["$set"], [], depth]
    except (TypeError, ValueError) as error:
        raise ProtocolError(f"malformed value: {error}") from None
    raise ProtocolError(f"unknown tag in {_excerpt(data)}")


def _number(data: Any) -> float:
    if type(data) in (int, float):
        return data
    if type(data) is dict and type(data.get("$float")) is str and len(data) == 1:
        return float(data["$float"])
    raise ProtocolError("malformed complex number")


def _close(kind: str, items: list) -> Any:
    if kind == "list":
        _check_collisions(items)  # the host's tests may well put them in a set
        return items
    if kind == "tuple":
        _check_collisions(items)
        return tuple(items)
    try:
        if kind == "dict":
            keys = items[0::2]
            _check_collisions(keys)
            out = dict(zip(keys, items[1::2], strict=True))
            if len(out) != len(keys):
                raise ProtocolError("a dict with a repeated key")
            return out
        _check_collisions(items)
        built = frozenset(items) if kind == "frozenset" else set(items)
        if len(built) != len(items):
            raise ProtocolError("a set with a repeated element")
        return built
    except TypeError as error:  # an unhashable element or key
        raise ProtocolError(f"malformed value: {error}") from None


def _check_collisions(items: list) -> None:
    """Refuse a container with more than MAX_COLLISIONS *different* elements sharing one
    hash (equal elements are harmless: a set keeps the first and compares once)."""
    if len(items) <= MAX_COLLISIONS:
        return
    hashes = []
    members = []
    for item in items:
        if type(item) in _COLLIDABLE:
            try:
                hashes.append(hash(item))
            except TypeError:  # a tuple holding a list: it can never be hashed
                continue
            members.append(item)
    if len(hashes) <= MAX_COLLISIONS:
        return
    counts = Counter(hashes)
    crowded = {h for h, n in counts.items() if n > MAX_COLLISIONS}
    if not crowded:
        return
    first: dict[int, Any] = {}
    for h, item in zip(hashes, members, strict=True):
        if h in crowded:
            seen = first.setdefault(h, item)
            if seen is not item and not seen == item:
                raise ProtocolError("a value whose elements collide in Python's hash")


def _excerpt(data: Any) -> str:
    try:
        return json.dumps(data)[:80]
    except (TypeError, ValueError, RecursionError):
        return type(data).__name__
