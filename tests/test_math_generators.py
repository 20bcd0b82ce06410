"""Hunting false positives with generated values, not with cases someone thought of.

1. Pairs of *different* values of every shape the checker reads (integers, fractions,
   decimals, radicals, tuples including a ≥ b, intervals including reversed and empty
   ones, finite sets, equations, inequalities, matrices), each written in several
   notations: no pair may match. The same value in two notations must match (a control,
   so the generator is known to write answers the checker reads).
2. Mutations of the labelled set: in every correct case, change one number of the gold
   (and, separately, of the answer); the verdict must flip to wrong.

Grading runs the scorer's own two stages in-process (the sympy-free fast path, then the
pipeline the workers run), so thousands of pairs take seconds.
"""

from __future__ import annotations

import random
import re
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.math_cases import ANSWER_CASES, FORM_CASES, PROMPT_CASES, labelled
from rewards.math import grade_batch
from rewards.math.grade import MathGrade, fast_grade, grade_unbounded


def verdict(response: str, gold: str) -> MathGrade:
    return fast_grade(response, gold) or grade_unbounded(response, gold)


SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)

# --------------------------------------------------------------------------- notations

small = st.integers(-30, 30)
positive = st.integers(1, 30)
fractions = st.builds(Fraction, small, positive)


def number_notations(value: Fraction) -> list[str]:
    sign = "-" if value < 0 else ""
    p, q = abs(value.numerator), value.denominator
    if q == 1:
        forms = [str(value), f"{value}.0", rf"\frac{{{value * 2}}}{{2}}"]
    else:
        forms = [rf"{sign}\frac{{{p}}}{{{q}}}", f"{sign}{p}/{q}", rf"{sign}\dfrac{{{p}}}{{{q}}}"]
    d = q
    for prime in (2, 5):
        while d % prime == 0:
            d //= prime
    if d == 1:  # a terminating decimal
        digits = max(len(str(q)), 1) + 2
        forms.append(f"{float(value):.{digits}f}".rstrip("0").rstrip("."))
    if p > q > 1:  # a mixed number
        whole, rest = divmod(p, q)
        if rest:
            forms.append(rf"{sign}{whole}\frac{{{rest}}}{{{q}}}")
    return forms


def radical_notations(value: tuple[int, int]) -> list[str]:
    a, b = value  # a·√b, b square-free
    return [
        rf"{a}\sqrt{{{b}}}",
        rf"\sqrt{{{a * a * b}}}",
        rf"{a}\sqrt {b}" if b < 10 else rf"{a}\sqrt{{{b}}}",
    ]


SQUARE_FREE = [2, 3, 5, 6, 7, 10, 11, 13, 14, 15]
radicals = st.tuples(st.integers(1, 9), st.sampled_from(SQUARE_FREE))


def tuple_notations(value: tuple[Fraction, ...]) -> list[str]:
    first = ", ".join(number_notations(v)[0] for v in value)
    second = ",".join(number_notations(v)[-1] for v in value)
    return [f"({first})", rf"\left({second}\right)", f"( {first} )"]


tuples = st.lists(fractions, min_size=2, max_size=3).map(tuple)
pairs_ge = st.tuples(small, small).map(lambda t: (Fraction(max(t)), Fraction(min(t))))  # a ≥ b


def interval_notations(value: tuple[int, int, bool, bool]) -> list[str]:
    lo, hi, lo_open, hi_open = value
    left, right = "(" if lo_open else "[", ")" if hi_open else "]"
    forms = [f"{left}{lo}, {hi}{right}", rf"\left{left}{lo},{hi}\right{right}"]
    if lo < hi:
        lo_rel, hi_rel = ("<" if lo_open else r"\le"), ("<" if hi_open else r"\leq")
        forms += [rf"{lo} {lo_rel} x {hi_rel} {hi}", rf"x \in {left}{lo}, {hi}{right}"]
    return forms


# Intervals including reversed (lo > hi) and degenerate (lo == hi) ones.
intervals = st.tuples(st.integers(-9, 9), st.integers(-9, 9), st.booleans(), st.booleans())


def set_notations(value: frozenset[Fraction]) -> list[str]:
    items = sorted(value)
    return [
        r"\{" + ", ".join(number_notations(v)[0] for v in items) + r"\}",
        r"\{" + ",".join(number_notations(v)[-1] for v in reversed(items)) + r"\}",
    ]


finite_sets = st.frozensets(st.integers(-20, 20).map(Fraction), min_size=1, max_size=4)


def line_notations(value: tuple[int, int]) -> list[str]:
    m, k = value  # y = m x + k
    forms = [f"y = {m}x + {k}".replace("+ -", "- "), f"y={k}+{m}x".replace("+-", "-")]
    forms.append(f"{m}x - y + {k} = 0".replace("+ -", "- "))
    return forms


lines = st.tuples(st.integers(-9, 9).filter(bool), st.integers(-9, 9))


def inequality_notations(value: tuple[int, str]) -> list[str]:
    bound, relation = value
    flipped = {"<": ">", ">": "<", r"\leq": r"\geq", r"\geq": r"\leq"}[relation]
    interval = {
        "<": rf"(-\infty, {bound})",
        ">": rf"({bound}, \infty)",
        r"\leq": rf"(-\infty, {bound}]",
        r"\geq": rf"[{bound}, \infty)",
    }[relation]
    word = {"<": r"\lt", ">": r"\gt", r"\leq": r"\le", r"\geq": r"\ge"}[relation]
    return [f"x {relation} {bound}", f"{bound} {flipped} x", interval, f"x {word} {bound}"]


inequalities = st.tuples(st.integers(-9, 9), st.sampled_from(["<", ">", r"\leq", r"\geq"]))


def matrix_notations(value: tuple[tuple[int, ...], ...]) -> list[str]:
    rows_spaced = r" \\ ".join(" & ".join(str(v) for v in row) for row in value)
    rows_tight = r"\\".join("&".join(str(v) for v in row) for row in value)
    return [
        rf"\begin{{pmatrix}} {rows_spaced} \end{{pmatrix}}",
        rf"\begin{{bmatrix}}{rows_tight}\end{{bmatrix}}",
    ]


def _matrices(rows: int, cols: int):
    row = st.tuples(*[st.integers(-5, 5)] * cols)
    return st.tuples(*[row] * rows)


matrices = st.one_of(_matrices(2, 1), _matrices(1, 2), _matrices(2, 2))

SHAPES = {
    "integer": (st.integers(-(10**6), 10**6).map(Fraction), number_notations),
    "fraction": (fractions, number_notations),
    "radical": (radicals, radical_notations),
    "tuple": (tuples, tuple_notations),
    "pair_a_ge_b": (pairs_ge, tuple_notations),
    "interval": (intervals, interval_notations),
    "set": (finite_sets, set_notations),
    "equation": (lines, line_notations),
    "inequality": (inequalities, inequality_notations),
    "matrix": (matrices, matrix_notations),
}


def _same(shape: str, a, b) -> bool:
    """Whether two generated values are the same mathematical value."""
    if shape == "interval":
        # Reversed and degenerate bracket pairs are points (tuples), compared as written.
        return a == b
    if shape == "inequality":
        return a == b
    return a == b


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_different_values_never_match(shape):
    strategy, notations = SHAPES[shape]

    @SETTINGS
    @given(strategy, strategy, st.data())
    def check(a, b, data):
        if _same(shape, a, b):
            return
        gold = data.draw(st.sampled_from(notations(a)), label="gold")
        answer = data.draw(st.sampled_from(notations(b)), label="answer")
        result = verdict(rf"The answer is $\boxed{{{answer}}}$.", gold)
        assert not result.correct, (shape, a, b, gold, answer, result)

    check()


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_different_shapes_never_match(shape):
    """A value of one shape against a value of another (a pair against an interval, a set
    against a tuple, a matrix against a number)."""
    strategy, notations = SHAPES[shape]
    others = [s for s in SHAPES if s != shape]

    @SETTINGS
    @given(strategy, st.sampled_from(others), st.data())
    def check(a, other, data):
        other_strategy, other_notations = SHAPES[other]
        b = data.draw(other_strategy, label="other value")
        gold = data.draw(st.sampled_from(notations(a)), label="gold")
        answer = data.draw(st.sampled_from(other_notations(b)), label="answer")
        if gold.replace(" ", "") == answer.replace(" ", ""):
            return  # the same text: e.g. the tuple (1, 2) and the interval (1, 2)
        if _numerically_same(shape, a, other, b):
            return
        result = verdict(rf"\boxed{{{answer}}}", gold)
        assert not result.correct, (shape, a, other, b, gold, answer, result)

    check()


def _numerically_same(shape_a: str, a, shape_b: str, b) -> bool:
    """Values of two shapes that are the same number (an integer and a fraction, a radical
    with a = 1 and ... ), a 1-element set and its element, a tuple and a column vector."""
    numbers = {"integer", "fraction"}
    if shape_a in numbers and shape_b in numbers:
        return a == b
    if {shape_a, shape_b} == {"tuple", "matrix"} or {shape_a, shape_b} == {"pair_a_ge_b", "matrix"}:
        vector, matrix = (a, b) if shape_a != "matrix" else (b, a)
        flat = tuple(Fraction(v) for row in matrix for v in row)
        return (len(matrix) == 1 or len(matrix[0]) == 1) and tuple(vector) == flat
    if {shape_a, shape_b} == {"interval", "matrix"}:
        # A bracket pair that is no interval ([5, 2], (0, 0)) is a vector; so is "(1, 2)",
        # which is written like the point (1, 2) (see tuple and interval below).
        interval, matrix = (a, b) if shape_a == "interval" else (b, a)
        lo, hi, lo_open, hi_open = interval
        flat = tuple(v for row in matrix for v in row)
        vector = len(matrix) == 1 or len(matrix[0]) == 1
        reads_as_vector = (lo >= hi and lo_open == hi_open) or (lo_open and hi_open)
        return vector and reads_as_vector and flat == (lo, hi)
    if {shape_a, shape_b} == {"tuple", "pair_a_ge_b"}:
        return tuple(a) == tuple(b)
    if {shape_a, shape_b} == {"tuple", "interval"} or {shape_a, shape_b} == {"pair_a_ge_b", "interval"}:
        # "(1, 2)" is a point or an open interval: the notation cannot tell them apart.
        interval, pair = (a, b) if shape_a == "interval" else (b, a)
        lo, hi, lo_open, hi_open = interval
        return lo_open and hi_open and (Fraction(lo), Fraction(hi)) == tuple(pair)
    if "set" in (shape_a, shape_b) and {shape_a, shape_b} & numbers:
        the_set, number = (a, b) if shape_a == "set" else (b, a)
        return the_set == frozenset({number})
    return False


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_same_value_in_another_notation_matches(shape):
    """The control: the generator writes answers the checker reads."""
    strategy, notations = SHAPES[shape]

    @settings(max_examples=40, deadline=None, database=None)
    @given(strategy, st.data())
    def check(a, data):
        forms = notations(a)
        gold = data.draw(st.sampled_from(forms), label="gold")
        answer = data.draw(st.sampled_from(forms), label="answer")
        result = verdict(rf"\boxed{{{answer}}}", gold)
        assert result.correct, (shape, a, gold, answer, result)

    check()


# --------------------------------------------------------------------------- mutations

# Not right after a command name: in "\sqrt21" the 2 alone is the argument (TeX reads
# √2·1), so changing it to "\sqrt{2}1"-style digits would test TeX, not the checker.
_NUMBER = re.compile(r"(?<![A-Za-z\d])\d+")


def mutate(text: str, rng: random.Random) -> str | None:
    """``text`` with one of its numbers changed by a random amount (None if it has none)."""
    numbers = list(_NUMBER.finditer(text))
    if not numbers:
        return None
    match = rng.choice(numbers)
    # An odd change: an even one can land on the same value by parity (i^2 = i^6 = -1).
    changed = int(match.group(0)) + rng.randrange(11, 99, 2)
    return text[: match.start()] + str(changed) + text[match.end() :]


CORRECT = [c for c in labelled() if c.expected]


# Answers where, by design, some written numbers do not decide the value, so changing one
# need not change the verdict: the middle of a chain "x = 5+5+1 = 11" and the rounding
# after "\approx" (the last exact member is the claim), and an operand of a set
# operation outside its result ([1,3] ∩ [2,76] is still [2,3]).
NOT_EVERY_NUMBER_COUNTS = {"chains", "set_algebra"}


def _correct_through_the_scorer(items: list[tuple[str, str, str | None]]) -> list[bool]:
    """Mutations can make towers (2^{3^{4^{56}}}) that never finish: the scorer's budget
    bounds them, and a timeout is not a reward."""
    return [g.correct for g in grade_batch(items, budget_s=2.0)]


@pytest.mark.parametrize("seed", range(2))
def test_mutating_a_number_of_the_gold_flips_the_verdict(seed):
    rng = random.Random(seed)
    items = []
    for case in CORRECT:
        mutated = mutate(case.answer, rng) if case.category not in NOT_EVERY_NUMBER_COUNTS else None
        if mutated is not None:
            items.append((case.response, mutated, case.prompt))
    verdicts = _correct_through_the_scorer(items)
    survivors = [item for item, correct in zip(items, verdicts, strict=True) if correct]
    assert not survivors, survivors


@pytest.mark.parametrize("seed", range(2))
def test_mutating_a_number_of_the_answer_flips_the_verdict(seed):
    rng = random.Random(seed)
    items = []
    for category, pred, gold, expected in [*ANSWER_CASES, *FORM_CASES]:
        mutated = mutate(pred, rng) if expected and category not in NOT_EVERY_NUMBER_COUNTS else None
        if mutated is not None:
            items.append((rf"The answer is $\boxed{{{mutated}}}$.", gold, None))
    for _category, prompt, response, gold, expected in PROMPT_CASES:
        mutated = mutate(response, rng) if expected else None
        if mutated is not None:
            items.append((mutated, gold, prompt))
    verdicts = _correct_through_the_scorer(items)
    survivors = [item for item, correct in zip(items, verdicts, strict=True) if correct]
    assert not survivors, survivors
