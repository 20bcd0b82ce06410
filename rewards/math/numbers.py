"""The fast path: plain numbers parsed exactly, without sympy.

Most RL answers are integers, decimals or fractions. They become :class:`Number` values
holding an exact :class:`~fractions.Fraction`, plus how many significant digits a decimal
literal carried (the precision rule in :mod:`rewards.math.compare` needs it).
Anything else returns ``None`` and goes to the symbolic path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

_MAX_EXPONENT = 400  # larger powers of ten go to the time-bounded symbolic path
_MAX_DIGITS = 400

_SIGN = r"(?P<sign>[-+]?)\s*"
_DECIMAL = r"(?P<int>\d*)(?:\.(?P<frac>\d*))?"
_SCIENTIFIC = re.compile(
    _SIGN
    + _DECIMAL
    + r"\s*(?:[eE](?P<e1>[-+]?\d+)|(?:\\times|\\cdot|\*)\s*10\s*\^\s*\{?\s*(?P<e2>[-+]?\d+)\s*\}?)?"
)
_FRACTION = re.compile(
    _SIGN + r"(?:(?:(?P<whole>\d+)\s*)?"  # "2\frac12": a mixed number needs no space
    r"\\frac\s*(?:\{\s*(?P<n1>-?\d+)\s*\}|(?P<n2>\d))\s*(?:\{\s*(?P<d1>\d+)\s*\}|(?P<d2>\d))"
    r"|(?:(?P<whole2>\d+)\s+)?"  # "2 1/2" does; "21/2" is 21/2
    r"(?P<n3>\d+)\s*/\s*(?P<d3>\d+))"
)
_BASE = re.compile(r"(?P<digits>[0-9A-Za-z]+)_\{?(?P<base>\d{1,2})\}?")
_REPEATING = re.compile(_SIGN + r"(?P<int>\d*)\.(?P<fixed>\d*)\\overline\s*\{(?P<period>\d+)\}")
_POWER_OF_TEN = re.compile(_SIGN + r"10\s*\^\s*\{?\s*(?P<e>[-+]?\d+)\s*\}?")


@dataclass(frozen=True, slots=True)
class Number:
    value: Fraction
    # Significant digits and decimal places when written as a decimal literal ("4.1231" →
    # 5 and 4); None when the form is exact (an integer, a fraction, a power of ten).
    significant: int | None = None
    places: int | None = None


def _decimal(match: re.Match[str]) -> Number | None:
    whole, frac = match.group("int"), match.group("frac")
    if not whole and not frac:
        return None
    frac = frac or ""
    exponent = int(match.group("e1") or match.group("e2") or 0)
    if abs(exponent) > _MAX_EXPONENT or len(whole) + len(frac) > _MAX_DIGITS:
        return None
    value = Fraction(int(whole + frac or "0"), 10 ** len(frac)) * Fraction(10) ** exponent
    if match.group("sign") == "-":
        value = -value
    if not (frac or "." in match.group(0)):
        return Number(value)
    significant = max(len((whole + frac).lstrip("0")), 1)
    return Number(value, significant, max(len(frac) - exponent, 0))


def _fraction(match: re.Match[str]) -> Number | None:
    numerator = int(match.group("n1") or match.group("n2") or match.group("n3"))
    denominator = int(match.group("d1") or match.group("d2") or match.group("d3"))
    whole = match.group("whole") or match.group("whole2")
    if denominator == 0:
        return None
    if whole is not None:
        # A mixed number: "2\frac12" = 5/2 (MATH's convention) and "2 1/2". "2/3" alone
        # has no whole part; a signed numerator inside a mixed number is not one.
        if numerator < 0:
            return None
        value = int(whole) + Fraction(numerator, denominator)
    else:
        value = Fraction(numerator, denominator)
    return Number(-value if match.group("sign") == "-" else value)


def _based(match: re.Match[str]) -> Number | None:
    base = int(match.group("base"))
    digits = match.group("digits")
    # "a_{12}" and "A_{11}" are subscripted variables, not numbers: a base numeral has a
    # decimal digit in it or is two or more capital letters ("FF_{16}").
    if not (re.search(r"\d", digits) or (len(digits) >= 2 and digits.isupper())):
        return None
    try:
        return Number(Fraction(int(digits, base))) if 2 <= base <= 36 else None
    except ValueError:  # a digit outside the base: "129_2"
        return None


def _repeating(match: re.Match[str]) -> Number | None:
    """``0.1\\overline{6}`` = 1/6: the fixed digits, then the period repeated forever."""
    whole, fixed, period = match.group("int") or "0", match.group("fixed"), match.group("period")
    if len(whole) + len(fixed) + len(period) > _MAX_DIGITS:
        return None
    value = int(whole) + Fraction(int(fixed or "0"), 10 ** len(fixed))
    value += Fraction(int(period), (10 ** len(period) - 1) * 10 ** len(fixed))
    return Number(-value if match.group("sign") == "-" else value)


def _power_of_ten(match: re.Match[str]) -> Number | None:
    exponent = int(match.group("e"))
    if abs(exponent) > _MAX_EXPONENT:
        return None
    value = Fraction(10) ** exponent
    return Number(-value if match.group("sign") == "-" else value)


_PARSERS = (
    (_SCIENTIFIC, _decimal),
    (_FRACTION, _fraction),
    (_BASE, _based),
    (_REPEATING, _repeating),
    (_POWER_OF_TEN, _power_of_ten),
)


def parse_number(text: str) -> Number | None:
    """An exact number when ``text`` (normalized LaTeX) is a plain number, else ``None``.

    >>> parse_number(r"-\\frac{3}{4}").value
    Fraction(-3, 4)
    >>> parse_number("2.50").significant, parse_number("1010_2").value
    (3, Fraction(10, 1))
    """
    text = text.strip()
    if len(text) > _MAX_DIGITS + 40:
        return None
    for pattern, build in _PARSERS:
        match = pattern.fullmatch(text)
        if match:
            return build(match)
    return None
