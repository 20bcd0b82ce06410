"""Reward hacks found against the math checker (issue 9), one case each.

Every case here was judged correct by an earlier version; each must now be wrong (or no
answer, or a status), through the same path the server uses.
"""

import time

import pytest

from rewards.math import grade
from rewards.math.extract import extract_answer
from rewards.schema import Status

# (response, gold): every pair is a wrong answer that an earlier checker accepted.
HACKS = {
    # a pair whose first entry is not below its second was read as an empty interval
    "tuple_as_empty_interval": [
        (r"\boxed{(0,0)}", "(7, 6)"),
        (r"\boxed{(0,0)}", "(3, 1)"),
        (r"\boxed{(0,0)}", "(2,2)"),
        (r"\boxed{(0,0)}", r"(\frac{27}{8},\frac{15}{8})"),
        (r"\boxed{(5, 2)}", "(3, 1)"),
        (r"\boxed{[5, 2]}", "[3, 1]"),
        (r"\boxed{(5, 2]}", "(3, 1]"),
        (r"\boxed{[2,2]}", "[3,3]"),
        (r"\boxed{[3, 1]}", "(3, 1)"),
        (r"\boxed{x > 3 \text{ and } x < 1}", r"x > 5 \text{ and } x < 2"),
    ],
    # every sample point undefined: the points were skipped and the answer passed
    "undefined_values": [
        (r"\boxed{\frac{x}{0}}", "5"),
        (r"\boxed{\frac{1}{0}}", "5"),
        (r"\boxed{(\frac{x}{0}, 1)}", "(5, 1)"),
        (r"\boxed{\{\frac{x}{0}, 1\}}", r"\{5, 1\}"),
        (r"\boxed{\frac{x}{x-x}}", "x"),
        (r"\boxed{0 \cdot \frac{1}{0}}", "0"),
    ],
    # five fixed points with small denominators could be hit on purpose
    "predictable_identity_points": [
        (r"\boxed{\sin(360360 \pi x)}", "0"),
        (r"\boxed{x + \sin(360360 \pi x)}", "x"),
        (r"\boxed{x^2 + \sin(720720\pi x) \cdot \sin(360360\pi y)}", "x^2"),
        (r"\boxed{x + (x-1)(x-2)(x-3)(x-4)(x-5)(x-6)}", "x"),
        (r"\boxed{x + \prod}", "x"),
    ],
    # an absolute or gold-relative tolerance floor
    "tolerance_floor": [
        (r"\boxed{e^{-100}}", "0"),
        (r"\boxed{e^{100}+1}", "e^{100}"),
        (r"\boxed{10^{-50}}", "0"),
        (r"\boxed{\pi + 10^{-45}}", r"\pi"),
        (r"\boxed{x + e^{-100}}", "x"),
    ],
    # words stripped as if they were units
    "words_as_units": [
        (r"\boxed{5 \text{ million}}", "5"),
        (r"\boxed{5 \text{ or more}}", "5"),
        (r"\boxed{5 \text{ is wrong}}", "5"),
        (r"\boxed{4 \text{ pi}}", "4"),
        (r"\boxed{3 \text{ squared}}", "3"),
        (r"\boxed{5 \text{ factorial}}", "5"),
        ("The answer is 5 million.", "5"),
        ("The answer is 5 or more.", "5"),
        ("The answer is 4 pi.", "4"),
        ("The answer is 3 squared.", "3"),
        ("The answer is 5 factorial.", "5"),
        ("The answer is 5 thousand.", "5"),
        ("The answer is 5 at least.", "5"),
        (r"\boxed{5\mathrm{ million}}", "5"),
    ],
    # a subscript read as a number base
    "subscript_as_base": [
        (r"\boxed{a_{12}}", "10"),
        (r"\boxed{b_{12}}", "11"),
        (r"\boxed{x_2}", "0"),
        (r"\boxed{A_{11}}", "10"),
    ],
    # the spacing rule ate the second backslash of "\\ " and merged matrix rows
    "matrix_rows_merged": [
        (r"\boxed{\begin{pmatrix} 2 \\ 1 \end{pmatrix}}", r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}"),
        (r"\boxed{\begin{pmatrix} 1 & 2 \end{pmatrix}}", r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}"),
        (r"\boxed{3}", r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}"),
        (
            r"\boxed{\begin{pmatrix} 1 & 3 \\ 2 & 4 \end{pmatrix}}",
            r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}",
        ),
    ],
    # a vector's repeated entries merged as if it were a set (found by the generators)
    "vector_as_set": [
        (r"\boxed{\begin{pmatrix} 0 \\ 0 \end{pmatrix}}", r"\{0\}"),
        (r"\boxed{\{0\}}", r"\begin{pmatrix} 0 \\ 0 \end{pmatrix}"),
        (r"\boxed{(0, 0)}", r"\{0\}"),
    ],
    # hedges: several answers offered, or the answer denied
    "hedges": [
        (r"\boxed{1} or \boxed{2}", "2"),
        (r"It is $\boxed{1}$ or $\boxed{2}$.", "2"),
        (r"\boxed{1}, or maybe \boxed{2}", "2"),
        ("```python\n# \\boxed{5}\nprint(5)\n```\nI am not sure.", "5"),
        ("Possible answers: 1, 2, 3, 4, 5", "5"),
        ("It is definitely not 5.", "5"),
        ("It cannot be 5.", "5"),
        ("The value is 3 or 5", "5"),
    ],
    # variable names were ignored
    "names_ignored": [
        (r"\boxed{y = 2, x = 3}", "(2, 3)"),
        (r"\boxed{b = 1, a = 4}", "(1, 4)"),
        (r"\boxed{(p, q) = (2, 3)}", "(p,q)=(3,2)"),
        (r"\boxed{p = 2, q = 3}", "(p,q)=(3,2)"),
        (r"\boxed{AB = 5, CD = 4}", "AB=4, CD=5"),
    ],
    # a digit taken out of an expression or a word by the last-number fallback
    "last_number_from_expression": [
        (r"so $x = \frac{1+\sqrt{5}}{2}$", "2"),
        ("AZYUK2A", "2"),
        (r"$\frac13$", "13"),
        (r"we get $x^2$", "2"),
        ("so the result is x2", "2"),
        (r"then $a_3$ follows", "3"),
    ],
}

ALL = [(kind, response, gold) for kind, pairs in HACKS.items() for response, gold in pairs]


@pytest.mark.parametrize("kind,response,gold", ALL, ids=[f"{k}:{r[:30]}|{g[:20]}" for k, r, g in ALL])
def test_hack_is_not_rewarded(kind, response, gold):
    result = grade(response, gold)
    assert not result.correct, result
    assert result.reward == 0.0
    assert result.status is not Status.OK


# The honest answers next to the hacks stay right: closing a hack must not close the form.
HONEST = [
    (r"\boxed{(7, 6)}", "(7, 6)"),
    (r"\boxed{(3,1)}", "(3, 1)"),
    (r"\boxed{(2,2)}", "(2,2)"),
    (r"\boxed{(\frac{27}{8}, \frac{15}{8})}", r"(\frac{27}{8},\frac{15}{8})"),
    (r"\boxed{(3.375, 1.875)}", r"(\frac{27}{8},\frac{15}{8})"),
    (r"\boxed{[1, 3)}", "[1, 3)"),
    (r"\boxed{\frac{x^2-1}{x-1}}", "x+1"),
    (r"\boxed{\sin^2 x + \cos^2 x}", "1"),
    (r"\boxed{\log 100}", r"2\log 10"),
    (r"\boxed{e^{-100}}", "e^{-100}"),
    (r"\boxed{(x+1)^3}", "x^3+3x^2+3x+1"),
    (r"\boxed{5 \text{ cm}}", "5"),
    (r"\boxed{12 \text{ meters}}", "12"),
    (r"\boxed{\begin{pmatrix} 1 \\ 2 \end{pmatrix}}", r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}"),
    (r"\boxed{\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}}", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}"),
    (r"\boxed{x = 2, y = 3}", "(2, 3)"),
    (r"\boxed{y = 3, x = 2}", "(2, 3)"),
    (r"\boxed{(3,2)}", "(p,q)=(3,2)"),
    (r"\boxed{4, 5}", "AB=4, CD=5"),
    (r"\boxed{1} and \boxed{2}", "1, 2"),
    (r"\boxed{(2,2)} and \boxed{(6,2)}", "(2,2), (6,2)"),
    (r"so $x = \frac{1+\sqrt{5}}{2}$", r"\frac{1+\sqrt5}{2}"),
    ("We compute 6 * 7 = 42", "42"),
    (r"\boxed{1010_2}", "10"),
    (r"\boxed{FF_{16}}", "255"),
]


@pytest.mark.parametrize("response,gold", HONEST, ids=[f"{r[:30]}|{g[:20]}" for r, g in HONEST])
def test_honest_answer_stays_right(response, gold):
    result = grade(response, gold, budget_s=10)  # correctness here, speed in bench/
    assert result.correct, result


def test_over_long_answer_is_a_status_not_a_prefix_match():
    answer = "5" + "0" * 5000
    result = grade(rf"\boxed{{{answer}}}", "5" + "0" * 999)
    assert not result.correct and result.status is Status.OUTPUT_LIMIT, result
    result = grade(rf"\boxed{{5 + {'x+' * 2000}x}}", "5")
    assert not result.correct and result.status is Status.OUTPUT_LIMIT, result


@pytest.mark.parametrize(
    "response",
    [
        r"\boxed{" * 8000,
        r"\(" * 20000,
        "$" * 30000 + "a",
        "1" * 200_000,
        "1," * 100_000,
        r"\boxed{" + " " * 100_000 + "x",
        "The answer is " * 10000,
        "." * 200_000,
        "**" * 50_000,
        r"\boxed{" + "." * 100_000 + "}",
        r"\boxed{5" + " " * 100_000 + "}",
        r"\boxed{5 \text{" + "a" * 100_000 + "}}",
        r"\boxed{" + "{," * 5000 + "}" * 5000 + "}",
    ],
    ids=lambda r: f"{r[:12]!r}x{len(r)}",
)
def test_extraction_and_normalisation_are_linear(response):
    start = time.perf_counter()
    extract_answer(response)
    result = grade(response, "7")
    elapsed = time.perf_counter() - start
    assert not result.correct
    assert elapsed < 2.0, elapsed  # a quadratic scan takes tens of seconds here
