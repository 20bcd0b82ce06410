"""Comparing a program's output with the expected output, outside the sandbox.

Modes (the sample's ``compare`` option):

* ``default`` — line- and token-wise. Trailing whitespace on a line, trailing blank lines
  and CRLF are ignored; case matters; the number of lines and of tokens must match, so a
  prefix never passes. A token compares as a number (abs/rel tolerance 1e-6) only when
  the expected token is a decimal (``0.333333``), never an integer or a word.
* ``exact`` — byte for byte.
* a custom ``checker`` — trusted Python from the reference defining
  ``check(input, expected, actual) -> bool``; it runs on the host, never in the
  candidate's process.

Function-call results compare as JSON values: tuples equal lists, a float expected value
allows the same tolerance, everything else is exact (``True`` is not ``1``).
"""

from __future__ import annotations

import math
import re
from typing import Any

TOLERANCE = 1e-6
_DECIMAL = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+(?:\.\d*)?[eE][-+]?\d+)")
MODES = ("default", "exact")


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _close(expected: float, actual: float) -> bool:
    return abs(actual - expected) <= TOLERANCE * max(1.0, abs(expected))


def _token_equal(expected: str, actual: str) -> bool:
    if expected == actual:
        return True
    if not _DECIMAL.fullmatch(expected):
        return False
    try:
        value = float(actual)
    except ValueError:
        return False
    return math.isfinite(value) and _close(float(expected), value)


def outputs_match(expected: str, actual: str, mode: str = "default") -> tuple[bool, str]:
    """Whether ``actual`` passes against ``expected``, and where it first differs."""
    if mode == "exact":
        return (True, "") if expected == actual else (False, "output differs (exact comparison)")
    want, got = _lines(expected), _lines(actual)
    if len(want) != len(got):
        return False, f"expected {len(want)} lines, got {len(got)}"
    for number, (w, g) in enumerate(zip(want, got, strict=True), start=1):
        w_tokens, g_tokens = w.split(), g.split()
        if len(w_tokens) != len(g_tokens):
            return False, f"line {number}: expected {len(w_tokens)} tokens, got {len(g_tokens)}"
        for w_token, g_token in zip(w_tokens, g_tokens, strict=True):
            if not _token_equal(w_token, g_token):
                return False, f"line {number}: expected {w_token[:40]!r}, got {g_token[:40]!r}"
    return True, ""


def values_match(expected: Any, actual: Any) -> bool:
    """JSON-value equality for function-call results."""
    if isinstance(expected, float) and type(actual) in (int, float):
        return math.isfinite(actual) and _close(expected, float(actual))
    if isinstance(expected, list) and type(actual) in (list, tuple):
        return len(expected) == len(actual) and all(
            values_match(e, a) for e, a in zip(expected, actual, strict=True)
        )
    if isinstance(expected, dict) and type(actual) is dict:
        return expected.keys() == actual.keys() and all(
            values_match(v, actual[k]) for k, v in expected.items()
        )
    return type(expected) is type(actual) and expected == actual


def run_checker(source: str, test_input: str, expected: str, actual: str) -> tuple[bool, str]:
    """Run a reference's trusted checker; its exceptions count as a failed test."""
    namespace: dict[str, Any] = {"__name__": "verirl_checker"}
    try:
        exec(compile(source, "checker.py", "exec"), namespace)  # trusted: from the reference
        verdict = namespace["check"](test_input, expected, actual)
    except Exception as error:
        return False, f"checker raised {type(error).__name__}: {error}"
    return (True, "") if verdict is True else (False, "checker rejected the output")
