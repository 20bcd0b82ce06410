"""Grade one math response against its gold answer: extract → normalize → parse → compare.

:func:`grade_unbounded` is the whole pipeline with no time limit; it is what the
time-bounded workers run. :func:`fast_grade` is the part that needs no sympy (plain
numbers on both sides) and runs in the caller's process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rewards.math.compare import compare_numbers, decide
from rewards.math.extract import MAX_ANSWER, extract_answer, restates_question
from rewards.math.normalize import normalize
from rewards.math.numbers import parse_number
from rewards.math.parse import parse_value
from rewards.schema import JSON, Status


@dataclass(slots=True)
class MathGrade:
    """The verdict on one response, with everything needed to audit it."""

    correct: bool
    status: Status
    message: str
    extracted: str | None = None  # the answer text found in the response
    extraction_rule: str | None = None  # which extraction rule found it
    gold_normalized: str | None = None
    pred_normalized: str | None = None
    rule: str | None = None  # the comparison rule that decided
    notes: list[str] = field(default_factory=list)  # normalization steps applied to the prediction

    @property
    def reward(self) -> float:
        return 1.0 if self.correct else 0.0

    def details(self) -> dict[str, JSON]:
        return {
            "extracted": self.extracted,
            "extraction_rule": self.extraction_rule,
            "gold_normalized": self.gold_normalized,
            "pred_normalized": self.pred_normalized,
            "rule": self.rule,
            "normalization": self.notes,
        }


# A label, not a value: "|AB|", "A:B", "f(x)", "S_{MBCN}:S", "\frac{NO}{BO}", "(p, q)".
# Letters, subscripts and punctuation only: no digit outside a subscript, no operator.
_LABEL = re.compile(
    r"(?=.*[A-Za-z])(?:[A-Za-z]|_\{[A-Za-z0-9]*\}|_[A-Za-z0-9]|\\frac\{[A-Za-z]+\}\{[A-Za-z]+\}"
    r"|\\(?:angle|overline|triangle)\s*|[|:(),{}' ])+"
)


def drop_label(text: str) -> str:
    """``|AB| = 1`` → ``1``, ``(p,q)=(3,2)`` → ``(3,2)``: a name given one value, when the
    other side has no equation to compare it with. Names of several items in a list
    (``x = 1, y = 2``) are kept: they decide the order."""
    if text.count("=") != 1 or any(r in text for r in ("<", ">", "\\leq", "\\geq")):
        return text
    lhs, rhs = (part.strip() for part in text.split("="))
    if not rhs or not _LABEL.fullmatch(lhs) or ("," in rhs and "(" not in lhs):
        return text
    return rhs


def _extract(response: str, answer: str, prompt: str | None) -> MathGrade | tuple[MathGrade, str, str]:
    """Common first half: the grade so far and both normalized strings, or a final grade."""
    gold, _ = normalize(answer)
    limit = max(MAX_ANSWER, 2 * len(answer))
    extraction = extract_answer(response, limit)
    if extraction is None:
        return MathGrade(False, Status.NO_ANSWER, "no answer found in the response", gold_normalized=gold)
    if extraction.too_long:
        # Never a prefix match: a cut answer could agree with the gold where the whole does not.
        message = f"the extracted answer is over the {limit}-character limit"
        return MathGrade(
            False, Status.OUTPUT_LIMIT, message, extraction_rule=extraction.rule, gold_normalized=gold
        )
    if extraction.refused:
        return MathGrade(
            False,
            Status.NO_ANSWER,
            f"no single answer: {extraction.refused}",
            extracted=extraction.text,
            extraction_rule=extraction.rule,
            gold_normalized=gold,
        )
    pred, notes = normalize(extraction.text)
    if ("=" in gold) != ("=" in pred):  # one side names its value: compare the values
        gold, pred = drop_label(gold), drop_label(pred)
    grade = MathGrade(
        False,
        Status.WRONG,
        "",
        extracted=extraction.text,
        extraction_rule=extraction.rule,
        gold_normalized=gold,
        pred_normalized=pred,
        notes=notes,
    )
    if restates_question(extraction.text, prompt):
        grade.status = Status.NO_ANSWER
        grade.message = f"the extracted answer {extraction.text!r} restates the question"
        return grade
    return grade, gold, pred


def _finish(grade: MathGrade, rule: str) -> MathGrade:
    grade.rule = rule
    grade.correct = not (rule.startswith("unequal") or rule == "no_rule")
    grade.status = Status.OK if grade.correct else Status.WRONG
    verdict = "matches" if grade.correct else "does not match"
    grade.message = f"answer {grade.pred_normalized!r} {verdict} {grade.gold_normalized!r} ({rule})"
    return grade


def fast_grade(response: str, answer: str, prompt: str | None = None) -> MathGrade | None:
    """The grade when it needs no sympy (no answer, or plain numbers on both sides)."""
    first = _extract(response, answer, prompt)
    if isinstance(first, MathGrade):
        return first
    grade, gold, pred = first
    if gold and gold == pred:
        # Identical after normalisation: equal without evaluating (a tower a^{b^{c^d}}
        # would otherwise time out).
        return _finish(grade, "identical")
    g, p = parse_number(gold), parse_number(pred)
    if g is None or p is None:
        return None
    return _finish(grade, compare_numbers(g, p) or "no_rule")


def grade_unbounded(response: str, answer: str, prompt: str | None = None) -> MathGrade:
    """The full pipeline with no time limit. Run it only where it can be killed."""
    first = _extract(response, answer, prompt)
    if isinstance(first, MathGrade):
        return first
    grade, gold, pred = first
    if not gold.strip():
        grade.status = Status.INVALID_INPUT
        grade.message = "reference.answer: the gold answer is empty"
        return grade
    if gold == pred:  # before parsing: a tower a^{b^{c^d}} would not finish
        return _finish(grade, "identical")
    return _finish(grade, decide(parse_value(gold), parse_value(pred)))
