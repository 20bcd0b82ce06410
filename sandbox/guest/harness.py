"""Runs inside the candidate's own process: loads the program, then answers calls.

Not a script: the supervisor imports it, and a fresh child of its process template calls
:func:`serve` with the call channel on two descriptors (requests in, replies out). Each
request is a wire.HarnessCall (a nonce and encoded arguments); each reply is that nonce,
a kind byte and a payload (wire.reply_frame).
Nothing here is trusted by the host: results are plain data checked outside, so a
candidate that takes over this process can only answer calls, never judge them.
"""

import sys
import traceback

sys.path.insert(0, "/opt/verirl")

import wire


def _resolve(namespace, entry):
    if callable(namespace.get(entry)):
        return namespace[entry]
    solution = namespace.get("Solution")
    if isinstance(solution, type) and callable(getattr(solution, entry, None)):
        return getattr(solution(), entry)
    raise LookupError(f"the program defines no function or Solution method named {entry!r}")


def serve(source_path, entry, requests, replies, nonce):
    """Load the program, report whether it loaded, then answer calls until EOF."""
    sys.setrecursionlimit(20_000)
    with open(source_path, encoding="utf-8") as handle:
        source = handle.read()
    namespace = {"__name__": "candidate", "__builtins__": __builtins__}
    try:
        exec(compile(source, "solution.py", "exec"), namespace)
        function = _resolve(namespace, entry)
    except BaseException as error:
        _send(replies, nonce, wire.NOT_LOADED, _describe(error))
        return
    _send(replies, nonce, wire.LOADED, b"")
    while True:
        try:
            call = wire.HarnessCall.from_dict(wire.read_frame(requests))
        except EOFError:
            return
        nonce = call.nonce
        try:
            value = function(*wire.decode(call.args))
            kind, payload = wire.VALUE, wire.dumps(value)
        except BaseException as error:
            kind, payload = wire.RAISED, _describe(error)
        _send(replies, nonce, kind, payload)


def _send(fd, nonce, kind, payload):
    data = wire.reply_frame(nonce, kind, payload)
    view = memoryview(data)
    while view:
        view = view[_write(fd, view) :]


def _write(fd, view):
    import os

    return os.write(fd, view)


def _describe(error):
    try:
        lines = traceback.format_exception(type(error), error, error.__traceback__)
        text = "".join(lines)[-2000:]
    except BaseException:  # a candidate's exception whose str() itself raises
        text = type(error).__name__
    # Lone surrogates in a message cannot be UTF-8; escaped, they travel as text.
    return text.encode("utf-8", "backslashreplace")
