"""Imported by the math workers' forkserver: one pass over each comparison path, so that
sympy's lazily imported modules (polys, evalf, sets) and the parsers' tables are loaded
once in the parent and every forked worker starts warm. A cold first comparison costs
~0.5 s, half the default budget, in every replacement worker otherwise."""

from __future__ import annotations

from rewards.math.grade import grade_unbounded

__all__ = ["grade_unbounded"]  # the workers' target: importing it warms them

_WARM_UP = (
    (r"\boxed{x^2}", "x^3"),  # rational functions: together, expand, Poly
    (r"\boxed{2\sin x\cos x}", r"\sin 2x"),  # random points, evalf
    (r"\boxed{\log 100}", r"2\log 10"),  # constants, adaptive evalf
    (r"\boxed{[2, \infty)}", r"x \geq 2"),  # intervals and relations
    (r"\boxed{y = 2x + 3}", "2x - y + 3 = 0"),  # equations, cancel
    (r"\boxed{\begin{pmatrix} 1 \\ 2 \end{pmatrix}}", "(1, 2)"),  # matrices
    (r"\boxed{\binom{5}{2}}", "10"),  # the full LaTeX parser
)

for _response, _gold in _WARM_UP:
    grade_unbounded(_response, _gold)
