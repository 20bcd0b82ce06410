"""Extraction, statuses, details, number-format properties and pathological inputs."""

import time
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from rewards.math import grade
from rewards.math.extract import extract_answer, restates_question
from rewards.math.grade import fast_grade
from rewards.math.normalize import normalize
from rewards.math.numbers import parse_number
from rewards.schema import Status

# --------------------------------------------------------------------------- extraction


def test_last_box_wins_and_boxes_never_merge():
    found = extract_answer(r"\boxed{1} hmm, no: \boxed{\frac{1}{2}} is it")
    assert (found.text, found.rule) == (r"\frac{1}{2}", "boxed")


def test_nested_braces_in_box():
    assert extract_answer(r"\boxed{\frac{\sqrt{2}}{2}}").text == r"\frac{\sqrt{2}}{2}"


def test_answer_phrase_beats_a_later_check():
    found = extract_answer("The answer is $5$. Check: $5+1=6$.")
    assert (found.text, found.rule) == ("5", "answer_phrase")


def test_last_number_only_when_nothing_else():
    assert extract_answer("6 * 7 = 42").rule == "last_number"
    assert extract_answer("**42** is it, after 6 * 7 = 42 and 99").rule == "bold"


def test_no_answer_status():
    result = grade("I could not solve this.", "3")
    assert result.status is Status.NO_ANSWER and result.reward == 0.0
    assert "no answer" in result.message


def test_restated_question_is_not_an_answer():
    assert restates_question("3+4", "Compute $3+4$.")
    assert not restates_question("7", "Compute $3+4$.")
    assert not restates_question("x^2+1", "Simplify $(x^2+1)(x-1)/(x-1)$.")
    result = grade(r"\boxed{3+4}", "7", prompt="Compute $3+4$.")
    assert result.status is Status.NO_ANSWER and "restates the question" in result.message


def test_details_say_what_decided():
    result = grade(r"so \boxed{[2, \infty)}", r"x \ge 2")
    assert result.correct and result.rule == "sets"
    details = result.details()
    assert details["extracted"] == r"[2, \infty)" and details["extraction_rule"] == "boxed"
    assert details["gold_normalized"] == r"x \geq 2"


def test_empty_gold_is_invalid_input():
    result = grade(r"\boxed{3}", "  ")
    assert result.status is Status.INVALID_INPUT and "reference.answer" in result.message


# --------------------------------------------------------------------------- properties


def _with_separators(n: int, sep: str) -> str:
    return f"{n:,}".replace(",", sep)


@settings(max_examples=200, deadline=None)
@given(st.integers(-(10**15), 10**15), st.sampled_from([",", "{,}", ",\\!", "\\,"]))
def test_integer_separators(n, sep):
    assert fast_grade(rf"\boxed{{{_with_separators(n, sep)}}}", str(n)).correct


@settings(max_examples=200, deadline=None)
@given(st.integers(-(10**9), 10**9), st.integers(-(10**9), 10**9))
def test_distinct_integers_never_match(a, b):
    assert fast_grade(rf"\boxed{{{a}}}", str(b)).correct is (a == b)


@settings(max_examples=200, deadline=None)
@given(st.integers(-(10**6), 10**6), st.integers(1, 10**6))
def test_fractions_in_every_spelling(p, q):
    value = Fraction(p, q)
    sign = "-" if value < 0 else ""
    for spelling in (
        rf"{sign}\frac{{{abs(value.numerator)}}}{{{value.denominator}}}",
        rf"{sign}\dfrac{{{abs(value.numerator)}}}{{{value.denominator}}}",
        f"{sign}{abs(value.numerator)}/{value.denominator}",
    ):
        assert parse_number(normalize(spelling)[0]).value == value, spelling


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**8), st.integers(0, 6))
def test_decimals_and_scientific_notation_are_exact(mantissa, places):
    value = Fraction(mantissa, 10**places)
    text = f"{mantissa / 10**places:.{places}f}" if places else str(mantissa)
    assert parse_number(text).value == value
    assert parse_number(rf"{text} \times 10^{{3}}").value == value * 1000
    nudged = Fraction(mantissa + 1, 10**places)
    assert not fast_grade(rf"\boxed{{{text}}}", str(float(nudged))).correct or nudged == value


# --------------------------------------------------------------------------- bounded time

PATHOLOGICAL = [
    r"\boxed{10^{10^{10^{10}}}}",
    r"\boxed{5^{5^{5^{5^{5}}}}}",
    r"\boxed{" + "(" * 200 + "1" + ")" * 200 + "}",
    r"\boxed{" + "{" * 300 + "1",
    r"\boxed{\frac{1}{" * 100,
    "x" * 200_000 + r" \boxed{x^{2}+1}",
    ("1 + " * 50_000) + "1",
    r"\boxed{" + r"\sqrt{" * 150 + "2" + "}" * 150 + "}",
    r"\boxed{(10^{100})!}",
    r"\boxed{\sin(10^{10^{5}})}",
]


def test_pathological_inputs_return_within_the_budget_and_the_worker_lives_on():
    for response in PATHOLOGICAL:
        start = time.monotonic()
        result = grade(response, "2", budget_s=1.0)
        elapsed = time.monotonic() - start
        assert elapsed < 10, (response[:60], elapsed)  # 1 s budget + generous slack for CI
        # An over-long answer is output_limit (it used to be cut to a prefix and graded).
        assert result.status in (Status.WRONG, Status.TIMEOUT, Status.NO_ANSWER, Status.OUTPUT_LIMIT)
        assert not result.correct
    assert grade(r"\boxed{\sqrt{4}}", "2").correct  # the pool still works


def test_timeout_is_a_status_with_zero_reward():
    result = grade(r"\boxed{5^{5^{5^{5^{5}}}}}", "1", budget_s=0.5)
    assert result.status is Status.TIMEOUT
    assert result.reward == 0.0 and "0.5s budget" in result.message
