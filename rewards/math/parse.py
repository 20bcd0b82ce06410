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
class Named:
    """An item of a list labelled with a name: ``x = 3`` in ``x = 3, y = 4``."""

    name: str
    value: Value


@dataclass(frozen=True, slots=True)
class Sym:
    expr: sympy.Basic


@dataclass(frozen=True, slots=True)
class Unparsed:
    text: str
    reason: str


Value = Number | Text | Items | Named | Sym | Unparsed

_CHOICE = re.compile(r"\(?\s*([A-J])\s*\)?")
_FUNCTION_WORDS = {"sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "exp", "sqrt", "lim"}
_WORDS = re.compile(r"[A-Za-z][A-Za-z'\- ]*")
_OPENERS = {"(": ")", "[": "]", "\\{": "\\}", "\\langle": "\\rangle"}
_SEPARATORS = re.compile(r"\s+(?:or|and)\s+|\s*;\s*|(?<=[)\]])\s*(?:or|and)\s*(?=[(\[])")
# A name being given a value: "x = 3", "a_1 = 2", "AB = 4" (not "x \leq 3", "y = 2x = 4").
_NAME = r"(?:[A-Za-z](?:_\{?[A-Za-z0-9]+\}?)?'*|[A-Z]{2,3})"
_LABELLED = re.compile(rf"({_NAME})\s*=\s*([^=<>]+)")
_LABELLED_TUPLE = re.compile(rf"\(\s*({_NAME}(?:\s*,\s*{_NAME})+)\s*\)\s*=\s*(\(.*\))")


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


def _split_separators(text: str) -> list[str]:
    """Split on "or", "and" and ";" outside brackets: "(0;-2;6)" stays one item."""
    masked, depth = [], 0
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        masked.append(char if depth == 0 or char in "([{" else "#")
    parts, start = [], 0
    for match in _SEPARATORS.finditer("".join(masked)):
        parts.append(text[start : match.start()].strip())
        start = match.end()
    parts.append(text[start:].strip())
    return parts


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
    if len(parts) == 1 and wrapped and ";" in inner:
        parts = split_top_level(inner, ";")  # "(0;-2;6)": semicolons separate the entries
    if len(parts) == 1 and wrapped and wrapped[0] == "\\{":
        return Items((parse_value(parts[0]),), ordered=False, brackets="{}")
    if not wrapped:
        # "21, 16 or 11": commas and "or"/"and"/";" all separate a bare list.
        parts = [q for p in parts for q in _split_separators(p) if q]
    if len(parts) < 2 or any(not p for p in parts):
        return None
    labelled = [_LABELLED.fullmatch(p) for p in parts]
    values = tuple(
        Named(m.group(1), parse_value(m.group(2).strip())) if m else parse_value(p)
        for m, p in zip(labelled, parts, strict=True)
    )
    if wrapped is None:
        brackets, ordered = "", False
    else:
        opening, closing = wrapped[0], wrapped[2]
        brackets = "{}" if opening == "\\{" else opening[-1] + closing[-1]
        ordered = brackets != "{}"
    return Items(values, ordered, brackets)


def _labelled_tuple(text: str) -> Items | None:
    """``(p, q) = (3, 2)`` → the tuple with its items named p and q."""
    match = _LABELLED_TUPLE.fullmatch(text)
    if not match:
        return None
    names = [n.strip() for n in match.group(1).split(",")]
    value = parse_value(match.group(2))
    if not isinstance(value, Items) or not value.ordered or len(value.items) != len(names):
        return None
    return Items(tuple(Named(n, v) for n, v in zip(names, value.items, strict=True)), True, "()")


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
    # Only a proper interval, start < end: (7, 6) is a point, not the empty set, and two
    # empty "intervals" must never compare equal (that would make different answers equal).
    if (ends[0] < ends[1]) is not sympy.true:
        return None
    try:
        interval = sympy.Interval(ends[0], ends[1], value.brackets[0] == "(", value.brackets[1] == ")")
    except (ValueError, TypeError):
        return None
    return interval if isinstance(interval, sympy.Interval) else None


_MEMBER = re.compile(r"[A-Za-z]\s*\\in\s*(.+)")
_SET_OPERATOR = re.compile(r"\\(cup|cap|setminus|backslash)\b")


_JOINER = re.compile(r"\s+(or|and)\s+|\s*(\\lor|\\land|\\vee|\\wedge)\s*")
_RELATION = re.compile(r"<|>|\\leq|\\geq")


def _joined_relations(text: str) -> Value | None:
    """``x < -1 or x > 2`` / ``x \\geq 2 and x < 5``: inequalities joined by one word are
    one condition (a union or an intersection), not a list of two answers."""
    pieces = _JOINER.split(text)
    if len(pieces) < 4:
        return None
    parts, joiners = (
        pieces[::3],
        {(a or b).strip("\\") for a, b in zip(pieces[1::3], pieces[2::3], strict=False)},
    )
    if len(joiners) != 1 or not all(
        _RELATION.search(p) and "=" not in p.replace("\\leq", "").replace("\\geq", "") for p in parts
    ):
        return None
    values = [parse_value(p) for p in parts]
    if not all(isinstance(v, Sym) and isinstance(v.expr, sympy.Rel | sympy.And) for v in values):
        return None
    exprs = [v.expr for v in values]  # type: ignore[union-attr]
    if len(set().union(*(e.free_symbols for e in exprs))) != 1:
        return None
    joined = sympy.Or(*exprs) if joiners <= {"or", "lor", "vee"} else sympy.And(*exprs)
    return Sym(joined)


_MATRIX = re.compile(
    r"[(\[]?\s*\\begin\{(?P<env>[pbvBV]?matrix|array)\}(?:\{[lcr|\s]*\})?(?P<body>.*?)"
    r"\\end\{(?P=env)\}\s*[)\]]?",
    re.DOTALL,
)


def _matrix(text: str) -> Value | None:
    """A written-out matrix (``pmatrix``, ``bmatrix``, ``array`` inside brackets) read
    entry by entry, without the ANTLR parser (hundreds of ms cold per matrix)."""
    match = _MATRIX.fullmatch(text)
    if not match or "\\begin" in match.group("body"):
        return None
    if (text[0] in "([") != (text[-1] in ")]"):  # a bracket on one side only
        return None
    rows = [r for r in re.split(r"\\\\", match.group("body")) if r.strip()]
    entries = [[e.strip() for e in row.split("&")] for row in rows]
    if not entries or len({len(r) for r in entries}) != 1 or not all(all(r) for r in entries):
        return None
    values = [[as_expr(parse_value(e)) for e in row] for row in entries]
    if any(v is None for row in values for v in row):
        return None
    return Sym(sympy.Matrix(values))


def _set_operand(text: str) -> sympy.Set | None:
    value = parse_value(text.strip())
    if isinstance(value, Items) and value.brackets == "{}":
        elements = [as_expr(v) for v in value.items]
        if all(e is not None and e.is_number for e in elements):
            return sympy.FiniteSet(*elements)
        return None
    if isinstance(value, Items):
        return interval_of(value)
    if isinstance(value, Sym) and value.expr is sympy.S.EmptySet:
        return sympy.S.EmptySet
    if isinstance(value, Sym) and value.expr is sympy.S.Reals:
        return sympy.Interval(-sympy.oo, sympy.oo)
    return None


def _set_expression(text: str) -> Value | None:
    """``\\{1,3\\} \\cup \\{2,4\\}``, ``[1,2] \\cup (3, \\infty)``, ``A \\cap B``,
    ``A \\setminus B`` over finite sets of numbers and intervals, left to right; None
    when an operand is anything else."""
    pieces = _SET_OPERATOR.split(text)
    operands, operators = pieces[::2], pieces[1::2]
    if len(operands) != len(operators) + 1 or len(operands) < 2:
        return None
    result = _set_operand(operands[0])
    for operator, operand in zip(operators, operands[1:], strict=True):
        right = _set_operand(operand)
        if result is None or right is None:
            return None
        if operator == "cup":
            result = sympy.Union(result, right)
        elif operator == "cap":
            result = sympy.Intersection(result, right)
        else:
            result = sympy.Complement(result, right)
    if isinstance(result, sympy.FiniteSet):
        return Items(tuple(Sym(e) for e in result.args), ordered=False, brackets="{}")
    return Sym(result)


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
    if isinstance(expr, sympy.MatrixExpr) and not isinstance(expr, sympy.MatrixBase):
        try:
            expr = expr.doit()  # a sum or product of written-out matrices
        except (ValueError, TypeError, sympy.ShapeError):
            return Unparsed(text, "matrices of mismatched shapes")
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
    member = _MEMBER.fullmatch(text)
    if member:  # "x \in [2, 5)": the set a single variable lies in
        inner = parse_value(member.group(1))
        if isinstance(inner, Items) and interval_of(inner) is not None:
            return inner
        if isinstance(inner, Items) and inner.brackets == "{}":
            return inner
        if isinstance(inner, Sym) and isinstance(inner.expr, sympy.Set):
            return inner
    if "\\begin" in text:
        matrix = _matrix(text)
        if matrix is not None:
            return matrix
    relations = _joined_relations(text)
    if relations is not None:
        return relations
    if _SET_OPERATOR.search(text):
        combined = _set_expression(text)
        if combined is not None:
            return combined
    else:
        labelled = _labelled_tuple(text)
        if labelled is not None:
            return labelled
        items = _items(text)
        if items is not None:
            return items
    if "\\ldots" in text:
        return Unparsed(text, "an enumeration with an ellipsis is not a single answer")
    return _sympy(text)
