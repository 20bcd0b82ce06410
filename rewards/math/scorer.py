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

from rewards.engine import UNLIMITED, Budget, Progress
from rewards.math.grade import MathGrade, fast_grade
from rewards.schema import MathReference, Result, Sample, Status
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


def _from_outcome(sample: Sample, outcome: Outcome, budget_s: float, seconds: float) -> Result:
    if outcome.error is None:
        return _result(sample, outcome.value, seconds)
    if outcome.timed_out or outcome.out_of_memory:
        message = f"checking this answer exceeded the {budget_s:g}s budget ({outcome.error})"
        result = Result.failure(sample.id, Status.TIMEOUT, message)
    else:
        result = Result.failure(sample.id, Status.INTERNAL_ERROR, f"math grader failed: {outcome.error}")
    result.timings["grade_s"] = round(seconds, 6)
    return result


class MathScorer:
    """Scores ``math`` samples. ``budget_s`` bounds each item's wall time.

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
            "rewards.math.grade:grade_unbounded", processes, preload=["latex2sympy2_extended"]
        )

    def score(
        self, samples: Sequence[Sample], progress: Progress | None = None, budget: Budget = UNLIMITED
    ) -> list[Result]:
        results: list[Result | None] = [None] * len(samples)
        pending: list[tuple[int, float, Future[Outcome]]] = []
        for i, sample in enumerate(samples):
            assert isinstance(sample.reference, MathReference)
            start = time.perf_counter()
            grade = fast_grade(sample.response, sample.reference.answer, sample.prompt)
            if grade is not None:
                results[i] = _result(sample, grade, time.perf_counter() - start)
            elif budget.stopped:
                results[i] = Result.failure(sample.id, Status.TIMEOUT, f"not graded: {budget.why()}")
            else:
                args = (sample.response, sample.reference.answer, sample.prompt)
                item_budget = min(self.budget_s, budget.remaining())
                pending.append((i, start, self.pool.submit(args, item_budget)))
        if progress:
            progress(len(samples) - len(pending))
        for i, start, future in pending:
            results[i] = self._wait(samples[i], start, future, budget)
            if progress:
                progress(1)
        return [r for r in results if r is not None]

    def _wait(self, sample: Sample, start: float, future: Future[Outcome], budget: Budget) -> Result:
        """The outcome of one queued item; queued items are dropped once the batch is cancelled."""
        while True:
            try:
                outcome = future.result(timeout=0.05 if not budget.cancelled else None)
                break
            except FutureTimeout:
                if budget.cancelled and future.cancel():
                    return Result.failure(sample.id, Status.TIMEOUT, f"not graded: {budget.why()}")
            except CancelledError:
                return Result.failure(sample.id, Status.TIMEOUT, f"not graded: {budget.why()}")
        return _from_outcome(sample, outcome, self.budget_s, time.perf_counter() - start)

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> MathScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
