"""The symbolic math checker (kind ``math``).

Modules, in pipeline order: :mod:`.extract` (find the answer in a response),
:mod:`.normalize` (canonical LaTeX), :mod:`.numbers` (the sympy-free fast path),
:mod:`.parse` (typed values), :mod:`.compare` (named equivalence rules), :mod:`.grade`
(the pipeline), :mod:`.scorer` (the engine's time-bounded scorer).

Example:
    >>> from rewards.math import grade
    >>> g = grade(r"so the answer is \\boxed{\\dfrac{1}{2}}", "0.5")
    >>> g.correct, g.status.value, g.rule
    (True, 'ok', 'exact_number')
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Sequence

from rewards.math.grade import MathGrade, grade_unbounded
from rewards.math.scorer import DEFAULT_BUDGET_S, MathScorer
from rewards.workers import cpu_count

__all__ = ["MathGrade", "MathScorer", "grade", "grade_batch", "grade_unbounded"]

_scorer: MathScorer | None = None
_scorer_lock = threading.Lock()


def _default_scorer() -> MathScorer:
    global _scorer
    with _scorer_lock:
        if _scorer is None:
            _scorer = MathScorer(cpu_count())
            atexit.register(_scorer.close)
        return _scorer


def grade_batch(
    items: Sequence[tuple[str, str] | tuple[str, str, str | None]],
    budget_s: float = DEFAULT_BUDGET_S,
) -> list[MathGrade]:
    """Grade ``(response, answer[, prompt])`` items; each returns within ``budget_s``
    (plus process overhead) whatever it holds. Timed-out items get status ``timeout``.
    The same path as the server's: :meth:`MathScorer.grade_items`."""
    full = [(*item, None)[:3] for item in items]
    graded = _default_scorer().grade_items(full, item_budget_s=budget_s)  # type: ignore[arg-type]
    return [grade for grade, _ in graded]


def grade(
    response: str, answer: str, prompt: str | None = None, budget_s: float = DEFAULT_BUDGET_S
) -> MathGrade:
    """Grade one response against its gold answer (raw LaTeX or text, ``$`` optional)."""
    return grade_batch([(response, answer, prompt)], budget_s)[0]
