"""Every case of the labelled set comes out as labelled (bench/math_cases.py)."""

from collections import Counter

import pytest

from bench.math_cases import labelled
from rewards.math import grade_batch
from rewards.math.grade import grade_unbounded
from rewards.schema import Status

CASES = labelled()


def test_the_set_is_big_and_hard_enough():
    assert len(CASES) >= 300
    assert sum(not c.expected for c in CASES) >= len(CASES) / 3
    categories = Counter(c.category for c in CASES)
    assert len(categories) >= 20 and min(categories.values()) >= 5


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.category}:{c.answer[:30]}")
def test_case(case):
    grade = grade_unbounded(case.response, case.answer, case.prompt)
    assert grade.correct is case.expected, grade
    assert grade.status in (Status.OK, Status.WRONG, Status.NO_ANSWER)
    assert (grade.status is Status.OK) is case.expected


def test_time_bounded_batch_agrees_with_the_pipeline():
    grades = grade_batch([(c.response, c.answer, c.prompt) for c in CASES], budget_s=10)
    assert [g.correct for g in grades] == [c.expected for c in CASES]
