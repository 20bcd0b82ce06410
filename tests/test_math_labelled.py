"""Every case of the labelled set comes out as labelled (bench/math_cases.py), through the
path the server uses (MathScorer) and through the unbounded pipeline the workers run."""

from collections import Counter

import pytest

from bench.math_cases import labelled
from rewards.math import grade_batch
from rewards.math.grade import grade_unbounded
from rewards.math.scorer import MathScorer
from rewards.schema import Status, decode_sample

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


def _sample(i, case):
    fields = {"id": str(i), "kind": "math", "response": case.response, "reference": {"answer": case.answer}}
    return decode_sample(fields | ({"prompt": case.prompt} if case.prompt else {}))


def test_the_servers_path_agrees_with_the_labels():
    with MathScorer(processes=2, budget_s=10) as scorer:
        results = scorer.score([_sample(i, c) for i, c in enumerate(CASES)])
    wrong = [
        (c, r.status, r.message) for c, r in zip(CASES, results, strict=True) if r.correct is not c.expected
    ]
    assert not wrong, wrong[:5]
    for case, result in zip(CASES, results, strict=True):
        assert (result.status is Status.OK) is case.expected
        assert result.reward == (1.0 if case.expected else 0.0)


def test_grade_batch_is_the_same_path():
    grades = grade_batch([(c.response, c.answer, c.prompt) for c in CASES], budget_s=10)
    assert [g.correct for g in grades] == [c.expected for c in CASES]
