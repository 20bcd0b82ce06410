"""The ``math`` kind: grades samples in time-bounded worker processes.

Plain-number answers are graded in the caller's thread (no sympy, microseconds); the rest
go to a :class:`~rewards.workers.WorkerPool`, where an item that overruns its budget is
killed and scored ``timeout`` without harming the rest of the batch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout

from rewards.math.grade import MathGrade, fast_grade
from rewards.schema import MathReference, Result, Sample, Status
from rewards.scoring import UNLIMITED, Budget, Progress, ScorerStats
from rewards.workers import Outcome, WorkerPool

DEFAULT_BUDGET_S = 1.0


def _result(sample: Sample, grade: MathGrade, seconds: float) -> Result:
    return Result(
        id=sample.id,
        reward=grade.reward,
        correct=grade.correct,
        status=grade.status,
        message=grade.message,
        details=grade.details(),
        timings={"grade_s": round(seconds, 6)},
    )


def _from_outcome(outcome: Outcome, budget_s: float) -> MathGrade:
    if outcome.error is None:
        return outcome.value
    if outcome.timed_out or outcome.out_of_memory:
        message = f"checking this answer exceeded the {budget_s:g}s budget ({outcome.error})"
        return MathGrade(False, Status.TIMEOUT, message)
    return MathGrade(False, Status.INTERNAL_ERROR, f"math grader failed: {outcome.error}")


def _to_result(sample: Sample, grade: MathGrade, seconds: float) -> Result:
    if grade.rule is None and grade.status in (Status.TIMEOUT, Status.INTERNAL_ERROR):
        result = Result.failure(sample.id, grade.status, grade.message)
        result.timings["grade_s"] = round(seconds, 6)
        return result
    return _result(sample, grade, seconds)


Item = tuple[str, str, str | None]  # (response, gold answer, prompt)


class MathScorer:
    """Scores ``math`` samples. ``budget_s`` bounds each item's wall time.

    This is the one math path: the server's engine, :func:`rewards.math.grade` and
    :func:`rewards.math.grade_batch` all come through :meth:`grade_items`.

    Example:
        >>> from rewards.schema import decode_sample
        >>> with MathScorer(processes=1) as scorer:
        ...     [r.status.value for r in scorer.score([decode_sample({"id": "1", "kind": "math",
        ...         "response": "\\\\boxed{\\\\frac{1}{2}}", "reference": {"answer": "0.5"}})])]
        ['ok']
    """

    def __init__(self, processes: int, budget_s: float = DEFAULT_BUDGET_S) -> None:
        self.budget_s = budget_s
        self.pool = WorkerPool(
            "rewards.math.warm:grade_unbounded", processes, preload=["latex2sympy2_extended"]
        )

    def grade_items(
        self,
        items: Sequence[Item],
        budget: Budget = UNLIMITED,
        progress: Progress | None = None,
        item_budget_s: float | None = None,
    ) -> list[tuple[MathGrade, float]]:
        """Each item's grade and the seconds it took, in order.

        Plain answers are graded here (no sympy; extraction and normalisation are linear,
        so milliseconds even for 200 KB), the rest in the worker pool under the per-item
        budget. The call's ``budget`` is checked before every item, so an expired or
        cancelled call stops grading at once: what is left gets ``timeout``.
        """
        per_item = self.budget_s if item_budget_s is None else item_budget_s
        out: list[tuple[MathGrade, float] | None] = [None] * len(items)
        pending: list[tuple[int, float, Future[Outcome]]] = []
        done_here = 0
        for i, (response, answer, prompt) in enumerate(items):
            if budget.stopped:
                out[i] = (MathGrade(False, Status.TIMEOUT, f"not graded: {budget.why()}"), 0.0)
                done_here += 1
                continue
            start = time.perf_counter()
            grade = fast_grade(response, answer, prompt)
            if grade is not None:
                out[i] = (grade, time.perf_counter() - start)
                done_here += 1
            else:
                item_budget = min(per_item, budget.remaining())
                future = self.pool.submit(
                    (response, answer, prompt), item_budget, skip=lambda: budget.stopped
                )
                pending.append((i, start, future))
        if progress:
            progress(done_here)
        for i, start, future in pending:
            grade = self._wait(future, budget, per_item)
            out[i] = (grade, time.perf_counter() - start)
            if progress:
                progress(1)
        return [o for o in out if o is not None]

    def score(
        self, samples: Sequence[Sample], progress: Progress | None = None, budget: Budget = UNLIMITED
    ) -> list[Result]:
        items: list[Item] = []
        for sample in samples:
            assert isinstance(sample.reference, MathReference)
            items.append((sample.response, sample.reference.answer, sample.prompt))
        graded = self.grade_items(items, budget, progress)
        return [_to_result(s, g, t) for s, (g, t) in zip(samples, graded, strict=True)]

    def _wait(self, future: Future[Outcome], budget: Budget, per_item: float) -> MathGrade:
        """The outcome of one queued item. Once the call has stopped (cancelled or past its
        deadline) an item still queued is dropped, never run; one already running ends at
        its own per-item limit."""
        while True:
            if budget.stopped and future.cancel():
                return MathGrade(False, Status.TIMEOUT, f"not graded: {budget.why()}")
            try:
                outcome = future.result(timeout=0.05)
                break
            except FutureTimeout:
                continue
            except CancelledError:
                return MathGrade(False, Status.TIMEOUT, f"not graded: {budget.why()}")
        return _from_outcome(outcome, per_item)

    def ready(self) -> tuple[bool, str]:
        return True, ""  # a dead worker is replaced on its next task

    def stats(self) -> ScorerStats:
        return ScorerStats(workers=self.pool.processes, replaced=self.pool.replaced)

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> MathScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
