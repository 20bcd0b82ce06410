"""Normalized answer text → a typed value that :mod:`rewards.math.compare` can compare.

Values:

* :class:`~rewards.math.numbers.Number` — plain numbers, parsed without sympy;
* :class:`Text` — words ("Monday", "no solution") and choice letters ("(B)" → "B");
* :class:`Items` — comma lists: ordered tuples ``(1, 2)``, unordered sets ``\\{1, 2\\}``,
  bare lists of solutions ``1, 2`` / ``x=1 or x=2``, and ``\\pm`` pairs;
* :class:`Sym` — anything sympy parses (expressions, equations, inequalities, intervals,
  unions, matrices), via latex2sympy2_extended;
* :class:`Unparsed` — text nothing understood; it only equals the identical text.

Parsing can take unbounded time on hostile input (``10^{10^{10}}``); callers run it in a
time-bounded worker (:mod:`rewards.workers`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import sympy

from rewards.math.latex_subset import Unsupported, parse_subset
from rewards.math.numbers import Number, parse_number


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    choice: bool = False


@dataclass(frozen=True, slots=True)
class Items:
    items: tuple[Value, ...]
    ordered: bool
    brackets: str  # "()", "[]", "[)", "(]", "{}" or "" for a bare list


@dataclass(frozen=True, slots=True)
class Sym:
    expr: sympy.Basic


@dataclass(frozen=True, slots=True)
class Unparsed:
    text: str
    reason: str


Value = Number | Text | Items | Sym | Unparsed

_CHOICE = re.compile(r"\(?\s*([A-J])\s*\)?")
_FUNCTION_WORDS = {"sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "exp", "sqrt", "lim"}
_WORDS = re.compile(r"[A-Za-z][A-Za-z'\- ]*")
_OPENERS = {"(": ")", "[": "]", "\\{": "\\}", "\\langle": "\\rangle"}
_SEPARATORS = re.compile(r"\s+(?:or|and)\s+|\s*;\s*")


def _is_text(text: str) -> bool:
    """Words, not a product of symbols: "xy" is x·y, but "yes" and "no solution" are text."""
    if not _WORDS.fullmatch(text):
        return False
    words = text.replace("-", " ").split()
    return any(len(w) >= 3 and w.lower() not in _FUNCTION_WORDS for w in words) or len(words) > 1


def split_top_level(text: str, separator: str = ",") -> list[str]:
    """Split on ``separator`` outside any brackets or braces."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        char = text[i]
        if char == "\\" and text.startswith(("\\{", "\\}"), i):
            depth += 1 if text[i + 1] == "{" else -1
            i += 2
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _wrapped(text: str) -> tuple[str, str, str] | None:
    """(opening, inner, closing) when one bracket pair encloses the whole text."""
    for opening, closing in (*_OPENERS.items(), ("(", "]"), ("[", ")")):
        if text.startswith(opening) and text.endswith(closing):
            inner = text[len(opening) : -len(closing)]
            if _balanced(inner):
                return opening, inner, closing
    return None


def _balanced(text: str) -> bool:
    depth = 0
    for char in re.sub(r"\\[{}]", "", text):
        depth += char in "([{"
        depth -= char in ")]}"
        if depth < 0:
            return False
    return depth == 0


def _items(text: str) -> Items | None:
    wrapped = _wrapped(text)
    inner = wrapped[1] if wrapped else text
    parts = split_top_level(inner)
    if len(parts) == 1 and wrapped and wrapped[0] == "\\{":
        return Items((parse_value(parts[0]),), ordered=False, brackets="{}")
    if len(parts) == 1 and not wrapped:
        parts = [p for p in _SEPARATORS.split(text) if p]
    if len(parts) < 2 or any(not p for p in parts):
        return None
    if wrapped is None:
        brackets, ordered = "", False
    else:
        opening, closing = wrapped[0], wrapped[2]
        brackets = "{}" if opening == "\\{" else opening[-1] + closing[-1]
        ordered = brackets != "{}"
    return Items(tuple(parse_value(p) for p in parts), ordered, brackets)


def as_expr(value: Value) -> sympy.Expr | None:
    """The sympy expression of a number or an expression value; None for anything else."""
    if isinstance(value, Number):
        return sympy.Rational(value.value.numerator, value.value.denominator)
    return value.expr if isinstance(value, Sym) and isinstance(value.expr, sympy.Expr) else None


def interval_of(value: Items) -> sympy.Set | None:
    """``[2, \\infty)`` parsed as a bracket pair → the interval it writes, if it is one."""
    if len(value.items) != 2 or value.brackets not in ("()", "[]", "[)", "(]"):
        return None
    ends = [as_expr(v) for v in value.items]
    if not all(e is not None and not e.free_symbols for e in ends):
        return None
    try:
        return sympy.Interval(ends[0], ends[1], value.brackets[0] == "(", value.brackets[1] == ")")
    except (ValueError, TypeError):
        return None


def _union(text: str) -> Value | None:
    """``[1,2] \\cup (3, \\infty)`` without the full parser; None if a part is not an interval."""
    parts = []
    for piece in text.split("\\cup"):
        value = parse_value(piece.strip())
        part = interval_of(value) if isinstance(value, Items) else None
        if part is None:
            return None
        parts.append(part)
    return Sym(sympy.Union(*parts))


_CONSTANTS = {sympy.Symbol("i"): sympy.I, sympy.Symbol("e"): sympy.E}


def _exact(expr: sympy.Basic) -> sympy.Basic:
    """Floats become the exact rationals they were written as (0.5x → x/2); the symbols
    i and e become the imaginary unit and Euler's number."""
    floats = {f: sympy.Rational(str(f)) for f in expr.atoms(sympy.Float)}
    expr = expr.xreplace(floats) if floats else expr
    free = getattr(expr, "free_symbols", set())
    constants = {k: v for k, v in _CONSTANTS.items() if k in free}
    return expr.xreplace(constants) if constants else expr


def _sympy(text: str) -> Value:
    from latex2sympy2_extended import latex2sympy  # slow import; only the symbolic path needs it

    try:
        expr = parse_subset(text)
    except (Unsupported, TypeError, ValueError, RecursionError):
        expr = None
    try:
        expr = latex2sympy(text) if expr is None else expr
    except (Exception, RecursionError) as error:  # the parser raises bare Exception
        return Unparsed(text, f"{type(error).__name__}: {str(error).splitlines()[0][:120]}")
    if isinstance(expr, sympy.FiniteSet):
        return Items(tuple(Sym(_exact(e)) for e in expr.args), ordered=False, brackets="{}")
    if isinstance(expr, sympy.Tuple | tuple):
        return Items(tuple(Sym(_exact(sympy.sympify(e))) for e in expr), ordered=True, brackets="()")
    return Sym(_exact(expr))


@lru_cache(maxsize=4096)
def parse_value(text: str) -> Value:
    """Parse one normalized answer. Cached: golds repeat across the k samples of a prompt.

    >>> parse_value("(1, 2)")
    Items(items=(Number(value=Fraction(1, 1), significant=None, places=None), \
Number(value=Fraction(2, 1), significant=None, places=None)), ordered=True, brackets='()')
    """
    text = text.strip()
    if not text:
        return Unparsed(text, "empty answer")
    number = parse_number(text)
    if number is not None:
        return number
    choice = _CHOICE.fullmatch(text)
    if choice:
        return Text(choice.group(1), choice=True)
    if _is_text(text):
        return Text(" ".join(text.lower().split()))
    if "\\cup" in text:
        union = _union(text)
        if union is not None:
            return union
    else:
        items = _items(text)
        if items is not None:
            return items
    if "\\ldots" in text:
        return Unparsed(text, "an enumeration with an ellipsis is not a single answer")
    return _sympy(text)
