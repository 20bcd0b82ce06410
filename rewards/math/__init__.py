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

from rewards.math.grade import MathGrade, fast_grade, grade_unbounded
from rewards.math.scorer import DEFAULT_BUDGET_S
from rewards.schema import Status
from rewards.workers import WorkerPool, cpu_count

__all__ = ["MathGrade", "grade", "grade_batch", "grade_unbounded"]

_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def _default_pool() -> WorkerPool:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = WorkerPool(
                "rewards.math.grade:grade_unbounded", cpu_count(), preload=["latex2sympy2_extended"]
            )
            atexit.register(_pool.close)
        return _pool


def grade_batch(
    items: Sequence[tuple[str, str] | tuple[str, str, str | None]],
    budget_s: float = DEFAULT_BUDGET_S,
) -> list[MathGrade]:
    """Grade ``(response, answer[, prompt])`` items; each returns within ``budget_s``
    (plus process overhead) whatever it holds. Timed-out items get status ``timeout``."""
    grades: list[MathGrade | None] = []
    pending = []
    for item in items:
        response, answer, prompt = (*item, None)[:3]
        fast = fast_grade(response, answer, prompt)
        grades.append(fast)
        if fast is None:
            pending.append((len(grades) - 1, _default_pool().submit((response, answer, prompt), budget_s)))
    for index, future in pending:
        outcome = future.result()
        if outcome.error is None:
            grades[index] = outcome.value
        else:
            status = Status.TIMEOUT if outcome.timed_out or outcome.out_of_memory else Status.INTERNAL_ERROR
            grades[index] = MathGrade(False, status, f"grading failed: {outcome.error}")
    return [g for g in grades if g is not None]


def grade(
    response: str, answer: str, prompt: str | None = None, budget_s: float = DEFAULT_BUDGET_S
) -> MathGrade:
    """Grade one response against its gold answer (raw LaTeX or text, ``$`` optional)."""
    return grade_batch([(response, answer, prompt)], budget_s)[0]
