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

Every message is defined once, at the end of this file: the host's requests and the
supervisor's replies (typed, checked field by field when read back from their JSON
form), and the two the supervisor sends its own children (a job, a call).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import struct
from collections import Counter
from typing import Any, ClassVar, Generic, TypeVar

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


# --------------------------------------------------------------------------- messages
#
# Every message between the host and the supervisor (and the two the supervisor sends its
# own children) is defined once here. ``to_dict()`` gives the JSON-able dict that goes on
# the wire; ``from_dict()`` builds the message back and checks it completely first: an
# unknown op, an unknown or missing key, or a value of the wrong type (exact types: a
# bool is not an int) is a ProtocolError, never a KeyError or TypeError later on.
#
# A message class lists its fields as annotations (kept as text: the codec is chosen by
# that text), with defaults for the optional ones. A field's wire key is its name, except
# where a :class:`Key` default names another; bytes travel as base64 text (so a frame
# stays within 4/3 of what a program wrote, whatever bytes those are: JSON would escape
# each control byte into six). A field whose default is None is left out while it is
# None; a sparse message (``_SPARSE``) leaves out every field that holds its default.
#
# Not dataclasses: importing ``dataclasses`` pulls in ``inspect``, ``ast`` and ``dis``,
# which would sit in the process template and so in every candidate's process (a bigger
# heap to fork, and more memory for a program to wade through).


class _Mismatch(Exception):
    """A value of the wrong type for its field (reported as a ProtocolError)."""


def _exactly(kind: type) -> Any:
    def load(value: Any) -> Any:
        if type(value) is not kind:
            raise _Mismatch
        return value

    return load


def _real(value: Any) -> float:
    if type(value) is float:
        return value
    if type(value) is int:  # a limit of 5 (not 5.0) travels as a JSON integer; a bool never passes
        return float(value)
    raise _Mismatch


def _strings(value: Any) -> list[str]:
    if type(value) is not list or any(type(item) is not str for item in value):
        raise _Mismatch
    return value


def _string_map(value: Any) -> dict[str, str]:
    if type(value) is not dict or any(type(k) is not str or type(v) is not str for k, v in value.items()):
        raise _Mismatch
    return value


def _bytes_load(value: Any) -> bytes:
    if type(value) is not str:
        raise _Mismatch
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _Mismatch from None


def _bytes_dump(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


# A field's annotation (its text: annotations stay strings here) → (load, dump); dump None
# means the value is already JSON-able.
_CODECS: dict[str, tuple[Any, Any]] = {
    "str": (_exactly(str), None),
    "int": (_exactly(int), None),
    "bool": (_exactly(bool), None),
    "float": (_real, None),
    "bytes": (_bytes_load, _bytes_dump),
    "list[str]": (_strings, None),
    "dict[str, str]": (_string_map, None),
    "list[Any]": (_exactly(list), None),  # already encoded with encode(): decode() checks it
}
_REQUIRED = object()


def _codec(annotation: str) -> tuple[Any, Any]:
    if annotation.endswith(" | None"):
        load, dump = _codec(annotation[: -len(" | None")])
        return (
            lambda value: None if value is None else load(value),
            None if dump is None else lambda value: None if value is None else dump(value),
        )
    if annotation in _CODECS:
        return _CODECS[annotation]
    nested = globals().get(annotation)
    if isinstance(nested, type) and issubclass(nested, Message):
        return nested.from_dict, nested.to_dict
    raise TypeError(f"no wire codec for a field of type {annotation}")


class Key:
    """A field's default that also names its wire key: ``stdout: bytes = Key("stdout_b64")``."""

    def __init__(self, key: str, default: Any = _REQUIRED) -> None:
        self.key, self.default = key, default


def _message(cls: Any) -> Any:
    """Read ``cls``'s field declarations and compute its wire form once."""
    table = []
    # Its own annotations only (no inherited fields); not inspect: see above.
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
        if annotation.startswith("ClassVar"):
            continue
        default = cls.__dict__.get(name, _REQUIRED)
        key = name
        if isinstance(default, Key):
            key, default = default.key, default.default
        if default is not _REQUIRED:
            delattr(cls, name)  # an instance always has every field set
        load, dump = _codec(annotation)
        table.append((name, key, load, dump, default, annotation))
    cls._FIELDS = tuple(table)
    cls._KEYS = frozenset(row[1] for row in table)
    return cls


class Message:
    """Base of every message (see the section comment above): built with positional or
    keyword arguments, compared by value, immutable."""

    _SPARSE: ClassVar[bool] = False
    _FIELDS: ClassVar[tuple] = ()
    _KEYS: ClassVar[frozenset] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(self._FIELDS):
            raise TypeError(f"{type(self).__name__} takes {len(self._FIELDS)} fields, got {len(args)}")
        for (name, *_), value in zip(self._FIELDS[: len(args)], args, strict=True):
            if name in kwargs:
                raise TypeError(f"{type(self).__name__}: {name} given twice")
            kwargs[name] = value
        for name, _, _, _, default, _ in self._FIELDS:
            value = kwargs.pop(name, default)
            if value is _REQUIRED:
                raise TypeError(f"{type(self).__name__}: missing field {name}")
            object.__setattr__(self, name, value)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unknown field {next(iter(kwargs))}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, row[0]) == getattr(other, row[0]) for row in self._FIELDS)

    __hash__ = None  # type: ignore[assignment]  # fields hold lists and dicts

    def __repr__(self) -> str:
        parts = ", ".join(f"{row[0]}={getattr(self, row[0])!r}" for row in self._FIELDS)
        return f"{type(self).__name__}({parts})"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, key, _, dump, default, _ in self._FIELDS:
            value = getattr(self, name)
            if default is not _REQUIRED and (
                (value is None and default is None) or (self._SPARSE and value == default)
            ):
                continue
            out[key] = value if dump is None else dump(value)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Any:
        name = cls.__name__
        if type(data) is not dict:
            raise ProtocolError(f"{name}: expected an object, got {type(data).__name__}")
        unknown = [key for key in data if key not in cls._KEYS]
        if unknown:
            raise ProtocolError(f"{name}: unknown field {_excerpt(unknown[0])}")
        values = {}
        for attr, key, load, _, default, annotation in cls._FIELDS:
            if key not in data:
                if default is _REQUIRED:
                    raise ProtocolError(f"{name}: missing field {key!r}")
                continue
            try:
                values[attr] = load(data[key])
            except _Mismatch:
                raise ProtocolError(
                    f"{name}.{key}: expected {annotation}, got {type(data[key]).__name__}"
                ) from None
            except ProtocolError as error:  # a nested message
                raise ProtocolError(f"{name}.{key}: {error}") from None
        message = cls(**values)
        message._check()
        return message

    def _check(self) -> None:
        """Rules between fields, beyond each field's type; ProtocolError when broken."""


R = TypeVar("R", bound=Message)


class Request(Message, Generic[R]):
    """A host → supervisor message: its fields plus ``"op"``; answered by a ``REPLY``."""

    OP: ClassVar[str] = ""
    REPLY: ClassVar[type]

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.OP, **Message.to_dict(self)}

    @classmethod
    def from_dict(cls, data: Any) -> Any:
        if type(data) is not dict or data.get("op") != cls.OP:
            raise ProtocolError(f"not a {cls.OP!r} request")
        return Message.from_dict.__func__(cls, {k: v for k, v in data.items() if k != "op"})

    def reply_from(self, data: Any) -> R | FaultReply:
        """This request's reply (or the supervisor's fault report) from its wire form."""
        if type(data) is dict and "fault" in data:
            return FaultReply.from_dict(data)
        return self.REPLY.from_dict(data)


# ---------------------------------------------------------------- parts


@_message
class RunLimits(Message):
    """A program's limits, set as rlimits in its process (and a wall clock and output cap
    the supervisor enforces)."""

    cpu_s: float
    wall_s: float
    memory_bytes: int | None  # RLIMIT_AS; None where a runtime reserves more than it uses
    output_bytes: int  # stdout and stderr together
    processes: int  # RLIMIT_NPROC
    file_bytes: int = 64 << 20
    stack_bytes: int = 256 << 20


@_message
class RunResult(Message):
    """How a program run ended, and what it wrote."""

    exit_code: int | None  # None when killed by a signal or never started
    signal: int | None
    timed_out: bool
    output_exceeded: bool
    stdout: bytes = Key("stdout_b64")
    stderr: str  # an excerpt (the supervisor keeps its first few kB)
    wall_s: float
    cpu_s: float
    max_rss_kb: int
    spawn_error: str | None = None  # the program could not be started


# ---------------------------------------------------------------- replies


@_message
class FaultReply(Message):
    """The supervisor failed on a request (an exception of its own, or a malformed request)."""

    fault: str


@_message
class HelloReply(Message):
    pid: int
    uid: int
    python: str
    template: int  # the process template's pid
    memory_baseline: int | None  # bytes the box held at start (None: no cgroup stats)


@_message
class FdsReply(Message):
    """The supervisor's open descriptors: number → what it points at. On the wire the map
    itself is the reply."""

    fds: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.fds)

    @classmethod
    def from_dict(cls, data: Any) -> Any:
        try:
            return cls(_string_map(data))
        except _Mismatch:
            raise ProtocolError("FdsReply: expected an object of strings") from None


@_message
class ResetReply(Message):
    clean: bool  # back at the state the box started in
    problems: list[str]


@_message
class PrepareReply(Message):
    ok: bool
    error: str | None = None  # why the files could not be written
    compile: RunResult | None = None  # the compiler's run, for a compiled language


@_message
class CallReply(Message):
    """The answer to ``call_open`` or ``call``. At most one outcome is set: ``loaded``
    (call_open), ``value`` (the encoded result), ``error`` (the call raised, or the
    program did not load), ``timed_out``, ``output_exceeded``, ``too_large`` or ``crashed``
    (with what is known of the exit). ``value`` and ``error`` come from the candidate's
    process: untrusted, and decoded with bounds (:func:`loads`)."""

    _SPARSE = True
    loaded: bool | None = None
    value: bytes | None = Key("value_b64", None)
    error: str | None = None
    timed_out: bool = False
    output_exceeded: bool = False
    too_large: str | None = None
    crashed: bool = False
    stderr: str = ""
    exit_code: int | None = None
    signal: int | None = None
    wall_s: float = 0.0
    cpu_s: float = 0.0
    max_rss_kb: int = 0
    spawn_error: str | None = None


@_message
class CloseReply(Message):
    _SPARSE = True
    cpu_s: float | None = None  # CPU seconds the program used over all its calls


# ---------------------------------------------------------------- requests


@_message
class Hello(Request[HelloReply]):
    OP = "hello"
    REPLY = HelloReply


@_message
class Fds(Request[FdsReply]):
    OP = "fds"
    REPLY = FdsReply


@_message
class Reset(Request[ResetReply]):
    """Kill everything, wipe every writable place and IPC object, report whether clean."""

    OP = "reset"
    REPLY = ResetReply


@_message
class Prepare(Request[PrepareReply]):
    """Wipe, write the submission's files into a fresh directory, compile."""

    OP = "prepare"
    REPLY = PrepareReply
    files: dict[str, str]  # plain names (no "/", no leading "."): the supervisor refuses others
    compile: list[str] | None
    compile_limits: RunLimits


@_message
class Run(Request[RunResult]):
    """Run the prepared program once: a Python file (``python``, in a child of the process
    template) or a command (``argv``), with ``stdin``."""

    OP = "run"
    REPLY = RunResult
    limits: RunLimits
    stdin: str = ""
    python: str | None = None
    argv: list[str] | None = None

    def _check(self) -> None:
        if (self.python is None) == (self.argv is None):
            raise ProtocolError("Run: exactly one of 'python' and 'argv'")


@_message
class CallOpen(Request[CallReply]):
    """Load a Python program in a harness process; its entry point answers ``Call``s."""

    OP = "call_open"
    REPLY = CallReply
    source: str
    entry: str
    limits: RunLimits  # cpu_s is cumulative over all calls; wall_s bounds loading
    value_bytes: int = VALUE_BYTES  # the cap on one encoded result


@_message
class Call(Request[CallReply]):
    OP = "call"
    REPLY = CallReply
    args: list[Any]  # the arguments, encoded with encode()
    wall_s: float | None = None  # None: the limits' wall_s


@_message
class CallClose(Request[CloseReply]):
    OP = "call_close"
    REPLY = CloseReply


REQUESTS: dict[str, type[Request]] = {
    cls.OP: cls for cls in (Hello, Fds, Reset, Prepare, Run, CallOpen, Call, CallClose)
}


def parse_request(data: Any) -> Request:
    """The request in a frame from the host; ProtocolError for an unknown op or a
    malformed request."""
    op = data.get("op") if type(data) is dict else None
    cls = REQUESTS.get(op) if type(op) is str else None
    if cls is None:
        raise ProtocolError(f"unknown op {_excerpt(op)}")
    return cls.from_dict(data)


# ---------------------------------------------------------------- inside the box


@_message
class Job(Message):
    """What a child of the process template runs (supervisor → child, on its job pipe)."""

    mode: str  # "run": a script; "call": a harness serving calls
    cwd: str
    path: str
    limits: RunLimits
    entry: str | None = None  # call mode: the function to serve
    nonce: str | None = None  # call mode: the nonce of the load report

    def _check(self) -> None:
        if self.mode not in ("run", "call"):
            raise ProtocolError(f"Job: unknown mode {_excerpt(self.mode)}")
        if self.mode == "call" and (self.entry is None or self.nonce is None):
            raise ProtocolError("Job: call mode needs 'entry' and 'nonce'")


@_message
class HarnessCall(Message):
    """One call (supervisor → harness). The reply is not JSON: see :func:`reply_frame`."""

    args: list[Any]  # encoded with encode()
    nonce: str
