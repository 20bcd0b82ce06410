"""Runs inside the candidate's own process: loads the program, then answers calls.

Usage (started by the supervisor): ``python3 harness.py SOURCE ENTRY`` with the call
channel on fds 3 (requests in) and 4 (replies out). Each request holds encoded
arguments; each reply holds the encoded result or the exception. Nothing here is
trusted by the host: results are plain data checked outside, so a candidate that takes
over this process can only answer calls, never judge them.
"""

import sys

sys.path.insert(0, "/opt/verirl")
sys.setrecursionlimit(20_000)

import traceback  # noqa: E402

import wire  # noqa: E402

REQUESTS, REPLIES = 3, 4


def _resolve(namespace, entry):
    if callable(namespace.get(entry)):
        return namespace[entry]
    solution = namespace.get("Solution")
    if isinstance(solution, type) and callable(getattr(solution, entry, None)):
        return getattr(solution(), entry)
    raise LookupError(f"the program defines no function or Solution method named {entry!r}")


def main():
    source_path, entry = sys.argv[1], sys.argv[2]
    with open(source_path, encoding="utf-8") as handle:
        source = handle.read()
    namespace = {"__name__": "candidate", "__builtins__": __builtins__}
    try:
        exec(compile(source, "solution.py", "exec"), namespace)
        function = _resolve(namespace, entry)
    except BaseException as error:  # noqa: BLE001 - any failure to load is reported
        wire.write_frame(REPLIES, {"loaded": False, "error": _describe(error)})
        return
    wire.write_frame(REPLIES, {"loaded": True})
    while True:
        try:
            request = wire.read_frame(REQUESTS)
        except EOFError:
            return
        try:
            value = function(*wire.decode(request["args"]))
            reply = {"value": wire.encode(value)}
        except BaseException as error:  # noqa: BLE001 - the candidate's failure is data
            reply = {"error": _describe(error)}
        wire.write_frame(REPLIES, reply)


def _describe(error):
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    return "".join(lines)[-2000:]


if __name__ == "__main__":
    main()
