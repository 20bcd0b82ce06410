"""Is the predicted value equal to the gold value? Each rule is a named function.

Principles (each closes a false positive of a public checker; docs/math.md lists them):

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
from collections.abc import Callable, Sequence
from fractions import Fraction

import sympy

from rewards.math.numbers import Number
from rewards.math.parse import Items, Named, Sym, Text, Unparsed, Value, as_expr, interval_of

MIN_SIGNIFICANT = 6
_NUMERIC_DIGITS = 50  # evaluation precision for the decimal precision rule


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


_MAXN = 600  # working digits evalf may reach while resolving a cancellation (constants)
# At random points (expressions with variables that are not rational functions) an
# identity costs evalf this whole budget at every point: 80 digits keeps sin(2x) against
# 2 sin x cos x near 10 ms, and a difference must cancel 80 digits at unpredictable points
# to read as zero.
_POINT_MAXN = 80
_POINTS = 4  # random points at which non-rational expressions must agree
_POINT_TRIES = 16  # points tried to find that many where both sides are defined
_MAX_EXACT_EXPONENT = 64  # larger integer powers skip exact expansion (it would explode)
# Unpredictable points: a fixed seed lets a policy build an expression that vanishes
# exactly where it is checked (sin(360360πx) at denominators ≤ 13).
_RNG = random.SystemRandom()


def undefined(expr: sympy.Basic) -> bool:
    """Whether the value is undefined (a division by zero, 0·∞, …): it equals nothing."""
    return bool(expr.has(sympy.zoo, sympy.nan))


def is_zero(value: sympy.Expr, maxn: int = _MAXN) -> bool | None:
    """Whether a constant is exactly zero: exact when sympy already reduced it, else by
    evalf's adaptive precision, which raises its working precision (up to ``_MAXN``
    digits) until it has 30 correct digits of the value itself. A nonzero value comes back
    with full precision however small it is (e^{-100} is not 0): there is no tolerance,
    only a value evalf cannot tell from zero after ``_MAXN`` digits of cancellation.
    None when the value is not a number."""
    if value.is_Rational:
        return value == 0
    if undefined(value):
        return None
    try:
        approx = value.evalf(30, maxn=maxn)
    except (ValueError, TypeError, ArithmeticError, RecursionError):
        return None
    if not approx.is_number:
        return None
    for part in approx.as_real_imag():
        if part == 0:
            continue
        if not isinstance(part, sympy.Float) or not part.is_finite:
            return None
        if part._prec > 1:  # a real digit: nonzero
            return False
    return True


def _random_point(free: list[sympy.Symbol]) -> dict[sympy.Symbol, sympy.Rational]:
    return {s: sympy.Rational(_RNG.randint(-(10**7), 10**7), _RNG.randint(10**5, 10**6)) for s in free}


def _exact_rational_zero(diff: sympy.Expr, free: list[sympy.Symbol]) -> bool | None:
    """For a rational function of the variables: zero exactly when every coefficient of
    its numerator is zero. None when the expression is not one (or too big to expand)."""
    if not diff.is_rational_function(*free):
        return None
    for power in diff.atoms(sympy.Pow):
        exponent = power.exp
        if exponent.is_Integer and abs(int(exponent)) > _MAX_EXACT_EXPONENT:
            return None
    numerator = sympy.expand(sympy.numer(sympy.together(diff)))
    if numerator == 0:
        return True
    try:
        coefficients = sympy.Poly(numerator, *free).coeffs()
    except (sympy.PolynomialError, sympy.GeneratorsNeeded, ValueError, TypeError):
        return None
    verdicts = [is_zero(c) for c in coefficients]
    if any(v is False for v in verdicts):
        return False
    return True if all(verdicts) else None


def _expressions(gold: sympy.Expr, pred: sympy.Expr) -> bool:
    """Expressions are equal when their difference is zero: exactly when sympy reduces it
    or when it is a rational function of its variables (coefficients compared), else at
    several unpredictable random points, each compared exactly (:func:`is_zero`). An
    undefined value equals nothing, and points where a side is undefined do not count."""
    if undefined(gold) or undefined(pred):
        return False
    if gold == pred:
        return True
    diff = gold - pred
    if diff == 0:
        return True
    if undefined(diff):
        return False
    free = sorted(diff.free_symbols, key=str)
    if not free:
        return is_zero(diff) is True
    exact = _exact_rational_zero(diff, free)
    if exact is not None:
        return exact
    agreed = 0
    for _ in range(_POINT_TRIES):
        value = diff.xreplace(_random_point(free))
        if undefined(value):  # a side is undefined here (zoo - x is zoo, zoo - zoo is nan)
            continue
        verdict = is_zero(value, _POINT_MAXN)
        if verdict is None:
            continue
        if not verdict:
            return False
        agreed += 1
        if agreed == _POINTS:
            return True
    return False  # too few points where both sides are defined to call it an identity


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


def _equations(gold: Value, pred: Value) -> str | None:
    """``y=2x+3`` ≡ ``2x-y+3=0``: the sides' differences are proportional, i.e. their
    ratio is a nonzero constant (``gold_diff - c·pred_diff`` is identically zero)."""
    if not (isinstance(gold, Sym) and isinstance(pred, Sym)):
        return None
    g, p = gold.expr, pred.expr
    if not (isinstance(g, sympy.Equality) and isinstance(p, sympy.Equality)):
        return None
    if not all(isinstance(side, sympy.Expr) for side in (*g.args, *p.args)):
        return None
    dg, dp = sympy.expand(g.lhs - g.rhs), sympy.expand(p.lhs - p.rhs)
    if undefined(dg) or undefined(dp):
        return "unequal_equations"
    if dg == 0 or dp == 0:
        return "equations" if dg == dp else "unequal_equations"
    if dg.free_symbols != dp.free_symbols:
        return "unequal_equations"
    ratio = sympy.cancel(sympy.together(dg / dp))
    if not ratio.free_symbols:
        nonzero = is_zero(ratio) is False and not undefined(ratio)
        return "equations" if nonzero else "unequal_equations"
    # Not a constant after cancelling: the ratio at one random point is the candidate c.
    for _ in range(_POINT_TRIES):
        point = _random_point(sorted(dp.free_symbols, key=str))
        d = dp.xreplace(point)
        if is_zero(d) is not False:
            continue
        c = dg.xreplace(point) / d
        if is_zero(c) is not False:
            return "unequal_equations"
        return "equations" if _expressions(dg, c * dp) else "unequal_equations"
    return "unequal_equations"


# --------------------------------------------------------------------------- sets


_OPEN = {
    sympy.StrictLessThan: True,
    sympy.StrictGreaterThan: True,
    sympy.LessThan: False,
    sympy.GreaterThan: False,
}


def _is_unknown(expr: sympy.Basic) -> bool:
    """A variable or an applied function of one (``x``, ``f(x)``): what a range bounds."""
    if isinstance(expr, sympy.Symbol):
        return True
    return isinstance(expr, sympy.core.function.AppliedUndef) and all(
        isinstance(a, sympy.Symbol) for a in expr.args
    )


def _unknowns(expr: sympy.Basic) -> set[sympy.Basic]:
    return {a for rel in expr.args for a in rel.args if _is_unknown(a)}


def _relation_set(expr: sympy.Basic) -> sympy.Set | None:
    """``x >= 2`` → [2, oo) and ``1 <= x < 3`` → [1, 3) without sympy's solver (which
    simplifies and takes tens of milliseconds); None for anything less plain."""
    if isinstance(expr, sympy.Or):
        parts = [_relation_set(arg) for arg in expr.args]
        if any(p is None for p in parts) or len(expr.free_symbols) != 1:
            return None
        return sympy.Union(*parts)
    if isinstance(expr, sympy.And):
        if len(expr.free_symbols) != 1 or len(_unknowns(expr)) != 1:  # 1 < x, y < 2: no interval
            return None
        parts = [_relation_set(arg) for arg in expr.args]
        if any(p is None for p in parts):
            return None
        both = sympy.Intersection(*parts)
        # "x > 3 and x < 1" is empty; two such would be equal. A degenerate reading
        # compares as nothing: a rule that makes different answers equal is a reward hack.
        return both if isinstance(both, sympy.Interval) else None
    if type(expr) not in _OPEN:
        return None
    lhs, rhs = expr.args
    is_open = _OPEN[type(expr)]
    upper = isinstance(expr, sympy.StrictLessThan | sympy.LessThan)  # lhs < rhs
    if _is_unknown(lhs) and rhs.is_number and rhs.is_real:
        bound, symbol_below = rhs, upper
    elif _is_unknown(rhs) and lhs.is_number and lhs.is_real:
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
                solved = expr.as_set()
            except (NotImplementedError, TypeError, ValueError):
                return None
            return None if solved is sympy.S.EmptySet else solved
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


def _distinct(items: Sequence[Value]) -> list[Value]:
    kept: list[Value] = []
    for item in items:
        if not any(item == k or equal(k, item) for k in kept):
            kept.append(item)
    return kept


def _matrix_items(value: Value) -> list[Value] | None:
    if isinstance(value, Sym) and isinstance(value.expr, sympy.MatrixBase):
        matrix = value.expr
        if 1 in matrix.shape:  # a row or column vector compares with a tuple
            return [Sym(e) for e in matrix]
    return None


def _names(items: list[Value]) -> list[str] | None:
    names = [v.name for v in items if isinstance(v, Named)]
    return names if len(names) == len(items) else None


def _by_name(golds: list[Value], preds: list[Value]) -> tuple[list[Value], list[Value]]:
    """Items labelled with distinct names line up by name: ``y = 3, x = 2`` answers the
    tuple ``(2, 3)`` as ``(x, y)``, and ``y = 2, x = 3`` does not. A name is never just
    dropped when the other side names its items differently."""
    gold_names, pred_names = _names(golds), _names(preds)
    distinct = [n is not None and len(set(n)) == len(n) for n in (gold_names, pred_names)]
    if gold_names and pred_names and all(distinct):
        if set(gold_names) != set(pred_names):
            return golds, []  # different names: never equal (length differs)
        by_name = {v.name: v for v in preds if isinstance(v, Named)}
        return golds, [by_name[n] for n in gold_names]
    if pred_names and distinct[1] and not gold_names:
        return golds, sorted(preds, key=lambda v: v.name if isinstance(v, Named) else "")
    return golds, preds


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
    # "(5, 2]" is no interval and no vector; "[-1, 0]" is an interval, not the vector
    # (-1, 0). Only "(a, b)" and a reversed "[a, b]" may be vectors.
    for side, other in ((gold, pred), (pred, gold)):
        if not isinstance(side, Items) or isinstance(other, Items):
            continue
        if side.brackets in ("(]", "[)") or (side.brackets == "[]" and interval_of(side)):
            return "unequal_collections"
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
    if both_items and gold.ordered and pred.ordered and gold.brackets != pred.brackets:
        return "unequal_collections"  # (3, 1) is a point, [3, 1] is not
    gi, pi = _by_name(list(gi), list(pi))
    if _names(list(gi)) and not any(isinstance(v, Named) for v in pi):
        ordered = True  # "AB=4, CD=5" answered "4, 5": in the gold's order, not "5, 4"
    if ordered:
        same = len(gi) == len(pi) and all(equal(a, b) for a, b in zip(gi, pi, strict=True))
        return "ordered_items" if same else "unequal_collections"
    # A bare list of solutions or a set: a repeated member ("1, 1, 2") counts once.
    if not both_items:  # a vector's entries are positions, never merged: (0, 0) is not {0}
        return "unordered_items" if _matching(list(gi), list(pi)) else "unequal_collections"
    return "unordered_items" if _matching(_distinct(gi), _distinct(pi)) else "unequal_collections"


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


def _named(gold: Value, pred: Value) -> str | None:
    """A labelled item (``x = 3`` inside a list) against another: the names must agree
    when both have one; an unlabelled side compares with the value."""
    if not isinstance(gold, Named) and not isinstance(pred, Named):
        return None
    if isinstance(gold, Named) and isinstance(pred, Named) and gold.name != pred.name:
        return "unequal_names"
    verdict = decide(
        gold.value if isinstance(gold, Named) else gold, pred.value if isinstance(pred, Named) else pred
    )
    return verdict if verdict.startswith("unequal") or verdict == "no_rule" else "named"


def decide(gold: Value, pred: Value) -> str:
    """The name of the rule that decided; rules named ``unequal_…`` mean not equal."""
    named = _named(gold, pred)
    if named is not None:
        return named
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
        return "unequal_undefined" if undefined(gold.expr) else "structural"
    return "no_rule"


def equal(gold: Value, pred: Value) -> bool:
    verdict = decide(gold, pred)
    return not (verdict.startswith("unequal") or verdict == "no_rule")
