"""Runs inside the candidate's own process: loads the program, then answers calls.

Usage (started by the supervisor): ``python3 harness.py SOURCE ENTRY REQUESTS REPLIES``
where the last two are the file descriptors of the call channel (requests in, replies
out). Each request holds encoded
arguments; each reply holds the encoded result or the exception. Nothing here is
trusted by the host: results are plain data checked outside, so a candidate that takes
over this process can only answer calls, never judge them.
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


def serve(source_path, entry, requests, replies):
    """Load the program, report whether it loaded, then answer calls until EOF."""
    sys.setrecursionlimit(20_000)
    with open(source_path, encoding="utf-8") as handle:
        source = handle.read()
    namespace = {"__name__": "candidate", "__builtins__": __builtins__}
    try:
        exec(compile(source, "solution.py", "exec"), namespace)
        function = _resolve(namespace, entry)
    except BaseException as error:
        wire.write_frame(replies, {"loaded": False, "error": _describe(error)})
        return
    wire.write_frame(replies, {"loaded": True})
    while True:
        try:
            request = wire.read_frame(requests)
        except EOFError:
            return
        try:
            value = function(*wire.decode(request["args"]))
            reply = {"value": wire.encode(value)}
        except BaseException as error:
            reply = {"error": _describe(error)}
        reply["nonce"] = request.get("nonce")
        wire.write_frame(replies, reply)


def _describe(error):
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    return "".join(lines)[-2000:]


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
