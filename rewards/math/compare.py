"""Is the predicted value equal to the gold value? Each rule is a named function.

Principles (GUIDE §6 lists the failures they avoid):

* **Exact when both are exact.** ``1/2^98`` ≠ ``1/2^99``, ``0.0000001`` ≠ ``0.0000002``,
  ``10001`` ≠ ``10000``, ``300`` ≠ ``3``: no float rounding, no relative tolerance, no
  ×100 percent rule.
* **The precision rule** is the one place a decimal meets an exact value it cannot equal:
  a decimal with at least :data:`MIN_SIGNIFICANT` significant digits matches a gold that
  has no finite decimal expansion (√17, π, 1/3) when it is the gold rounded or truncated
  to the decimal's places. ``4.1231056256`` ≡ ``√17``; ``3.14`` ≢ ``π``.
* **Structure is respected.** Tuples are ordered, sets are not; intervals keep their open
  and closed ends; inequalities keep their direction; a list of candidates never matches
  one of its members.

:func:`equal` returns the deciding rule's name, or ``None`` when nothing proves equality.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from fractions import Fraction

import sympy

from rewards.math.numbers import Number
from rewards.math.parse import Items, Sym, Text, Unparsed, Value, as_expr, interval_of

MIN_SIGNIFICANT = 6
_NUMERIC_DIGITS = 50  # evaluation precision when comparing non-rational numbers
_IDENTITY_POINTS = 5  # random points at which symbolic expressions must agree


# --------------------------------------------------------------------------- numbers


def _terminates(value: Fraction) -> bool:
    """Whether the fraction has a finite decimal expansion (denominator 2^a·5^b)."""
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def _round_and_truncate(value: sympy.Expr, places: int) -> set[Fraction] | None:
    """The value rounded and truncated to ``places`` decimals, exactly; None if not real."""
    digits = places + _NUMERIC_DIGITS
    approx = sympy.N(value, digits)
    if not approx.is_real:
        return None
    scaled = sympy.Rational(str(approx)) * 10**places
    floor = sympy.floor(scaled)
    nearest = sympy.floor(scaled + sympy.Rational(1, 2))
    truncated = floor if scaled >= 0 else sympy.ceiling(scaled)
    return {Fraction(int(v), 10**places) for v in (nearest, truncated)}


def _round_and_truncate_fraction(value: Fraction, places: int) -> set[Fraction]:
    scaled = value * 10**places
    nearest = (scaled + Fraction(1, 2)).__floor__()
    truncated = int(scaled)  # int() truncates toward zero
    return {Fraction(nearest, 10**places), Fraction(truncated, 10**places)}


def _precision_rule(decimal: Number, exact: sympy.Expr | Fraction) -> bool:
    if decimal.significant is None or decimal.significant < MIN_SIGNIFICANT:
        return False
    places = decimal.places or 0
    if isinstance(exact, Fraction):
        return decimal.value in _round_and_truncate_fraction(exact, places)
    candidates = _round_and_truncate(exact, places)
    return candidates is not None and decimal.value in candidates


def _as_rational(value: Value) -> Fraction | None:
    if isinstance(value, Number):
        return value.value
    if isinstance(value, Sym) and isinstance(value.expr, sympy.Rational):
        return Fraction(int(value.expr.p), int(value.expr.q))
    return None


def compare_numbers(gold: Value, pred: Value) -> str | None:
    """Both sides rational: exact equality, or the precision rule for a decimal against a
    value with no finite decimal expansion. Pure fraction arithmetic; no sympy."""
    g, p = _as_rational(gold), _as_rational(pred)
    if g is None or p is None:
        return None
    if g == p:
        return "exact_number"
    for decimal, other in ((pred, g), (gold, p)):
        if isinstance(decimal, Number) and not _terminates(other) and _precision_rule(decimal, other):
            return "decimal_precision"
    return "unequal_numbers"


# --------------------------------------------------------------------------- expressions


def _is_zero_numerically(diff: sympy.Expr, scale: sympy.Expr) -> bool:
    value = sympy.N(diff, _NUMERIC_DIGITS)
    size = abs(sympy.N(scale, 15))
    if not size.is_finite:
        size = sympy.Integer(1)
    if not value.is_number:
        return False
    tolerance = sympy.Float(10) ** (-(_NUMERIC_DIGITS - 10)) * max(1, size)
    try:
        return bool(abs(value) <= tolerance)
    except TypeError:  # nan or an unevaluated comparison
        return False


def _expressions(gold: sympy.Expr, pred: sympy.Expr) -> bool:
    """Expressions are equal when their difference is zero: exactly once sympy has
    evaluated it, or to 40 digits (constants) or at several random rational points
    evaluated to 50 digits (expressions with variables)."""
    if gold == pred:
        return True
    diff = gold - pred
    if diff == 0:
        return True
    free = sorted(diff.free_symbols, key=str)
    if not free:
        return _is_zero_numerically(diff, gold)
    rng = random.Random(0)
    for _ in range(_IDENTITY_POINTS):
        point = {s: sympy.Rational(rng.randint(-97, 97), rng.randint(1, 13)) for s in free}
        value = diff.xreplace(point)
        if value.has(sympy.zoo, sympy.nan):
            continue  # a pole of the expression; other points decide
        if not _is_zero_numerically(value, gold.xreplace(point)):
            return False
    # Agreement at every point to ~40 digits: an identity (sin²x+cos²x = 1) for any
    # answer a model writes; far cheaper than sympy.simplify, which can take seconds.
    return True


def _exprs(gold: Value, pred: Value) -> str | None:
    g, p = as_expr(gold), as_expr(pred)
    if not isinstance(g, sympy.Expr) or not isinstance(p, sympy.Expr):
        return None
    for decimal, exact in ((pred, g), (gold, p)):
        if isinstance(decimal, Number) and decimal.significant is not None and exact.is_number:
            # A decimal literal never equals an irrational exactly: only the precision rule.
            return "decimal_precision" if _precision_rule(decimal, exact) else "unequal_numbers"
    return "symbolic" if _expressions(g, p) else "unequal_expressions"


# --------------------------------------------------------------------------- equations


def _assignment_value(value: Value) -> Value | None:
    """``x = 3`` → ``3``: a single variable set to a constant (``k=1`` ≡ ``1``)."""
    if isinstance(value, Sym) and isinstance(value.expr, sympy.Equality):
        lhs, rhs = value.expr.args
        if isinstance(lhs, sympy.Symbol) and not getattr(rhs, "free_symbols", {lhs}):
            return Sym(rhs)
        if isinstance(rhs, sympy.Symbol) and isinstance(lhs, sympy.Basic):
            if isinstance(lhs, sympy.Set):
                return Sym(lhs)
            if not lhs.free_symbols:
                return Sym(lhs)
        if isinstance(lhs, sympy.Symbol) and isinstance(rhs, sympy.Set):  # x \in [2, oo)
            return Sym(rhs)
    return None


def _ratios(numerator: sympy.Expr, denominator: sympy.Expr) -> list[sympy.Expr]:
    """numerator/denominator at random rational points (poles skipped), to 50 digits."""
    free = sorted(numerator.free_symbols | denominator.free_symbols, key=str)
    rng = random.Random(0)
    values = []
    for _ in range(_IDENTITY_POINTS):
        point = {s: sympy.Rational(rng.randint(-97, 97), rng.randint(1, 13)) for s in free}
        d = denominator.xreplace(point)
        if d == 0 or d.has(sympy.zoo, sympy.nan):
            continue
        values.append(sympy.N(numerator.xreplace(point) / d, _NUMERIC_DIGITS))
    return values


def _equations(gold: Value, pred: Value) -> str | None:
    """``y=2x+3`` ≡ ``2x-y+3=0``: the sides' differences are proportional (a constant,
    nonzero ratio at every random point)."""
    if not (isinstance(gold, Sym) and isinstance(pred, Sym)):
        return None
    g, p = gold.expr, pred.expr
    if not (isinstance(g, sympy.Equality) and isinstance(p, sympy.Equality)):
        return None
    if not all(isinstance(side, sympy.Expr) for side in (*g.args, *p.args)):
        return None
    dg, dp = sympy.expand(g.lhs - g.rhs), sympy.expand(p.lhs - p.rhs)
    if dg == 0 or dp == 0:
        return "equations" if dg == dp else "unequal_equations"
    ratios = _ratios(dg, dp)
    if not ratios or not all(r.is_number and r.is_finite for r in ratios):
        return "unequal_equations"
    first = ratios[0]
    same = first != 0 and all(_is_zero_numerically(r - first, first) for r in ratios[1:])
    return "equations" if same else "unequal_equations"


# --------------------------------------------------------------------------- sets


_OPEN = {
    sympy.StrictLessThan: True,
    sympy.StrictGreaterThan: True,
    sympy.LessThan: False,
    sympy.GreaterThan: False,
}


def _relation_set(expr: sympy.Basic) -> sympy.Set | None:
    """``x >= 2`` → [2, oo) and ``1 <= x < 3`` → [1, 3) without sympy's solver (which
    simplifies and takes tens of milliseconds); None for anything less plain."""
    if isinstance(expr, sympy.And):
        if len(expr.free_symbols) != 1:  # 1 < x and y < 2 is not an interval
            return None
        parts = [_relation_set(arg) for arg in expr.args]
        if any(p is None for p in parts):
            return None
        return sympy.Intersection(*parts)
    if type(expr) not in _OPEN:
        return None
    lhs, rhs = expr.args
    is_open = _OPEN[type(expr)]
    upper = isinstance(expr, sympy.StrictLessThan | sympy.LessThan)  # lhs < rhs
    if isinstance(lhs, sympy.Symbol) and rhs.is_number and rhs.is_real:
        bound, symbol_below = rhs, upper
    elif isinstance(rhs, sympy.Symbol) and lhs.is_number and lhs.is_real:
        bound, symbol_below = lhs, not upper
    else:
        return None
    if symbol_below:
        return sympy.Interval(-sympy.oo, bound, True, is_open)
    return sympy.Interval(bound, sympy.oo, is_open, True)


def _as_set(value: Value) -> sympy.Set | None:
    """Intervals written as bracket pairs, inequalities in one variable, and sympy sets."""
    if isinstance(value, Items):
        return interval_of(value)
    if not isinstance(value, Sym):
        return None
    expr = value.expr
    if expr is sympy.S.Reals:  # sympy keeps Reals and Interval(-oo, oo) apart
        return sympy.Interval(-sympy.oo, sympy.oo)
    if isinstance(expr, sympy.Set):
        return expr
    fast = _relation_set(expr)
    if fast is not None:
        return fast
    if isinstance(expr, sympy.Rel | sympy.And | sympy.Or) and not isinstance(expr, sympy.Equality):
        free = expr.free_symbols
        if len(free) == 1:
            try:
                return expr.as_set()
            except (NotImplementedError, TypeError, ValueError):
                return None
    return None


def _sets_equal(gold: sympy.Set, pred: sympy.Set) -> bool:
    if type(gold) is not type(pred):
        return False
    if isinstance(gold, sympy.Interval):
        return (
            gold.left_open == pred.left_open
            and gold.right_open == pred.right_open
            and _expressions(gold.start, pred.start)
            and _expressions(gold.end, pred.end)
        )
    if isinstance(gold, sympy.FiniteSet):
        return _matching([Sym(a) for a in gold.args], [Sym(a) for a in pred.args])
    if isinstance(gold, sympy.Union):
        if len(gold.args) != len(pred.args):
            return False
        return all(_sets_equal(a, b) for a, b in zip(gold.args, pred.args, strict=True))
    return gold == pred


def _sets(gold: Value, pred: Value) -> str | None:
    g, p = _as_set(gold), _as_set(pred)
    if g is None or p is None:
        return None
    if (not isinstance(gold, Items) and not isinstance(pred, Items)) or (g.is_Interval and p.is_Interval):
        return "sets" if _sets_equal(g, p) else "unequal_sets"
    return "sets" if _sets_equal(g, p) else None  # a bracket pair may still be a tuple


# --------------------------------------------------------------------------- collections


def _matching(golds: list[Value], preds: list[Value]) -> bool:
    """Unordered: every gold item pairs with a distinct equal predicted item."""
    if len(golds) != len(preds):
        return False
    remaining = list(preds)
    for g in golds:
        for j, p in enumerate(remaining):
            if equal(g, p):
                del remaining[j]
                break
        else:
            return False
    return True


def _matrix_items(value: Value) -> list[Value] | None:
    if isinstance(value, Sym) and isinstance(value.expr, sympy.MatrixBase):
        matrix = value.expr
        if 1 in matrix.shape:  # a row or column vector compares with a tuple
            return [Sym(e) for e in matrix]
    return None


def _collections(gold: Value, pred: Value) -> str | None:
    if isinstance(gold, Sym) and isinstance(pred, Sym):
        g, p = gold.expr, pred.expr
        if isinstance(g, sympy.MatrixBase) and isinstance(p, sympy.MatrixBase):
            if g.shape != p.shape:
                return "unequal_shapes"
            pairs = zip(g, p, strict=True)
            return "matrices" if all(equal(Sym(a), Sym(b)) for a, b in pairs) else "unequal_matrices"
    gi = gold.items if isinstance(gold, Items) else _matrix_items(gold)
    pi = pred.items if isinstance(pred, Items) else _matrix_items(pred)
    if gi is None and pi is None:
        return None
    ordered = any(isinstance(v, Items) and v.ordered for v in (gold, pred))
    if gi is None or pi is None:
        # One side is a single value: only a one-element set or solution list can match it.
        if ordered or len(gi or pi) != 1:
            return "unequal_collections"
        same = equal(gi[0], pred) if gi is not None else equal(gold, pi[0])
        return "single_element" if same else "unequal_collections"
    both_items = isinstance(gold, Items) and isinstance(pred, Items)
    if both_items and gold.ordered != pred.ordered and "{}" in (gold.brackets, pred.brackets):
        return "unequal_collections"  # a set never equals a tuple
    if ordered:
        same = len(gi) == len(pi) and all(equal(a, b) for a, b in zip(gi, pi, strict=True))
        return "ordered_items" if same else "unequal_collections"
    return "unordered_items" if _matching(list(gi), list(pi)) else "unequal_collections"


# --------------------------------------------------------------------------- text


def _texts(gold: Value, pred: Value) -> str | None:
    if isinstance(gold, Text) and isinstance(pred, Text):
        if gold.choice or pred.choice:
            return "choice" if gold.choice == pred.choice and gold.text == pred.text else "unequal_text"
        return "text" if gold.text == pred.text else "unequal_text"
    if isinstance(gold, Text | Unparsed) or isinstance(pred, Text | Unparsed):
        same = isinstance(gold, Unparsed | Text) and type(gold) is type(pred) and gold.text == pred.text
        return "identical_text" if same else "unequal_text"
    return None


# --------------------------------------------------------------------------- dispatch

_RULES: tuple[Callable[[Value, Value], str | None], ...] = (
    _texts,
    compare_numbers,
    _sets,
    _collections,
    _equations,
    _exprs,
)


def decide(gold: Value, pred: Value) -> str:
    """The name of the rule that decided; rules named ``unequal_…`` mean not equal."""
    for rule in _RULES:
        verdict = rule(gold, pred)
        if verdict is not None:
            return verdict
    for side, other in ((gold, pred), (pred, gold)):
        value = _assignment_value(side)
        if value is not None:
            verdict = decide(value, other) if side is gold else decide(other, value)
            return verdict if verdict.startswith("unequal") or verdict == "no_rule" else "assignment"
    if isinstance(gold, Sym) and isinstance(pred, Sym) and gold.expr == pred.expr:
        return "structural"
    return "no_rule"


def equal(gold: Value, pred: Value) -> bool:
    verdict = decide(gold, pred)
    return not (verdict.startswith("unequal") or verdict == "no_rule")
