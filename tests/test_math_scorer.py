"""The math kind through the engine: statuses, timeouts and order in one batch."""

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
