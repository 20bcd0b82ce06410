"""The math kind through the engine: statuses, timeouts and order in one batch."""

import gc
import time

import pytest

from rewards.engine import Engine
from rewards.math.scorer import MathScorer
from rewards.schema import Kind, Status, decode_sample


@pytest.fixture(scope="module")
def engine():
    with Engine({Kind.MATH: MathScorer(processes=2, budget_s=1.0)}, {}) as e:
        yield e


def math(i, response, answer):
    return decode_sample(
        {"id": str(i), "kind": "math", "response": response, "reference": {"answer": answer}}
    )


def test_mixed_batch_keeps_order_and_isolates_a_timeout(engine):
    items = [
        math(0, r"\boxed{42}", "42"),
        math(1, r"\boxed{5^{5^{5^{5^{5}}}}}", "1"),
        math(2, r"\boxed{\sqrt{8}}", r"2\sqrt2"),
        math(3, "no idea", "1"),
        math(4, r"\boxed{x^2}", "x^3"),
    ]
    results = engine.score(items)
    assert [r.id for r in results] == ["0", "1", "2", "3", "4"]
    assert [r.status for r in results] == [
        Status.OK,
        Status.TIMEOUT,
        Status.OK,
        Status.NO_ANSWER,
        Status.WRONG,
    ]
    assert [r.reward for r in results] == [1.0, 0.0, 1.0, 0.0, 0.0]
    assert results[2].details["rule"] == "symbolic"
    assert all("grade_s" in r.timings for r in results)


def test_large_batch_one_result_each(engine):
    items = [math(i, rf"\boxed{{{i % 7}}}", str(i % 5)) for i in range(2000)]
    results = engine.score(items)
    assert [r.id for r in results] == [str(i) for i in range(2000)]
    assert [r.correct for r in results] == [i % 7 == i % 5 for i in range(2000)]


def test_an_expired_or_cancelled_call_stops_grading_in_the_fast_path():
    # Plain numbers: all graded in the caller's thread (the fast path), 3 KB each; enough of
    # them for ~0.6 s on a quiet machine (5,000 once took 0.27 s, under the 0.3 s needed).
    samples = [
        math(i, "Some working. " * 200 + rf"The answer is \boxed{{{i}}}.", str(i)) for i in range(12_000)
    ]
    # A full garbage collection in this process (torch, sympy and transformers loaded by
    # other tests: millions of objects) can pause for ~0.3 s inside any timed section.
    gc.collect()
    gc.disable()
    try:
        _stops_in_the_fast_path(samples)
    finally:
        gc.enable()


def _stops_in_the_fast_path(samples):
    from rewards.scoring import Budget

    with MathScorer(processes=1) as scorer:
        full = time.perf_counter()
        assert all(r.status is Status.OK for r in scorer.score(samples))
        full = time.perf_counter() - full
        assert full > 0.3  # enough work that stopping early is visible

        cancelled = Budget()
        cancelled.cancel()
        start = time.perf_counter()
        results = scorer.score(samples, budget=cancelled)
        assert time.perf_counter() - start < full / 4
        assert len(results) == len(samples)
        assert all(r.status is Status.TIMEOUT and "cancelled" in r.message for r in results)

        start = time.perf_counter()
        results = scorer.score(samples, budget=Budget(deadline_s=0.05))
        elapsed = time.perf_counter() - start
        graded = sum(r.status is Status.OK for r in results)
        assert [r.id for r in results] == [s.id for s in samples]
        assert graded < len(samples)
        assert all(r.status is Status.TIMEOUT for r in results[graded:])
        assert elapsed < 0.05 + full / 2  # stopped near the deadline, not after the batch


def test_over_long_and_hedged_answers_through_the_engine(engine):
    results = engine.score(
        [
            math(0, r"\boxed{1} or \boxed{2}", "2"),
            math(1, rf"\boxed{{{'9' * 3000}}}", "9"),
            math(2, r"\boxed{(0,0)}", "(7, 6)"),
        ]
    )
    assert [r.status for r in results] == [Status.NO_ANSWER, Status.OUTPUT_LIMIT, Status.WRONG]
    assert all(r.reward == 0.0 for r in results)
