"""Find the final answer in a model response.

Rules, in priority order (the first that finds something decides):

1. ``boxed``: the last ``\\boxed{…}`` / ``\\fbox{…}`` with balanced braces. A
   self-correction ("\\boxed{1} … wait … \\boxed{2}") is decided by the last box, never
   merged into a set.
2. ``answer_phrase``: the last "final answer is", "the answer is", "Answer:" …, followed
   by ``$…$``, ``\\(…\\)``, ``\\[…\\]``, a **bold** span or the rest of the sentence. This
   beats later numbers, so "The answer is $5$. Check: $5+1=6$" gives 5.
3. ``bold``: the last short **bold** span that is not a heading.
4. ``last_number``: the last number in the response, only when nothing above exists.

Every rule is a linear scan, so a 200 KB response costs milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Extraction:
    text: str
    rule: str  # which rule above found it


_BOX = re.compile(r"\\(?:boxed|fbox)\b")
_ANSWER_PHRASE = re.compile(
    r"(?:final\s+answer|the\s+answer|answer)\s*(?:is|:|=|would\s+be|will\s+be)\s*:?",
    re.IGNORECASE,
)
_DELIMITED = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"), ("**", "**"))
_BOLD = re.compile(r"\*\*([^*\n]{1,80})\*\*")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")
_SENTENCE_END = re.compile(r"\.(?:\s|$)|\n")
_MAX_ANSWER = 1000  # characters; longer "answers" are prose, not answers


def balanced_group(text: str, start: int) -> tuple[str, int] | None:
    """The contents of the ``{…}`` opening at ``text[start]`` and the index after it;
    ``None`` when the braces never close. ``\\{`` and ``\\}`` do not count."""
    depth = 0
    i = start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
        i += 1
    return None


def _boxed(response: str) -> str | None:
    for match in reversed(list(_BOX.finditer(response))):
        rest = response[match.end() :]
        stripped = rest.lstrip()
        if stripped.startswith("{"):
            group = balanced_group(stripped, 0)
            if group is not None and group[0].strip():
                return group[0].strip()
        elif rest[:1] == " ":  # "\boxed 5": one token
            token = re.match(r"[^\s$]+", stripped)
            if token:
                return token.group(0)
    return None


def _find_unescaped(text: str, token: str, start: int) -> int:
    """Index of ``token`` at or after ``start`` not preceded by a backslash (``\\$`` is a
    dollar sign, not a delimiter); -1 when absent."""
    while (index := text.find(token, start)) > 0 and text[index - 1] == "\\":
        start = index + 1
    return index


def _after_phrase(rest: str) -> str | None:
    rest = rest.lstrip(" \t:*")
    for opening, closing in _DELIMITED:
        if rest.startswith(opening):
            end = _find_unescaped(rest, closing, len(opening))
            if end > len(opening):
                return rest[len(opening) : end].strip()
    end = _SENTENCE_END.search(rest)
    answer = (rest[: end.start()] if end else rest).strip().rstrip(".").strip()
    return answer or None


def _answer_phrase(response: str) -> str | None:
    for match in reversed(list(_ANSWER_PHRASE.finditer(response))):
        answer = _after_phrase(response[match.end() : match.end() + _MAX_ANSWER])
        if answer:
            return answer
    return None


def _bold(response: str) -> str | None:
    for match in reversed(list(_BOLD.finditer(response))):
        text = match.group(1).strip()
        if text and not text.endswith(":") and not text.lower().startswith("step"):
            return text
    return None


def _last_number(response: str) -> str | None:
    last = None
    for last in _NUMBER.finditer(response):  # noqa: B007 - we want the final match
        pass
    return last.group(0).rstrip(",") if last else None


_RULES = (
    ("boxed", _boxed),
    ("answer_phrase", _answer_phrase),
    ("bold", _bold),
    ("last_number", _last_number),
)


def extract_answer(response: str) -> Extraction | None:
    """The final answer of ``response``, or ``None`` when it holds none.

    >>> extract_answer(r"So \\boxed{1} ... wait, no: \\boxed{\\frac{1}{2}}")
    Extraction(text='\\\\frac{1}{2}', rule='boxed')
    """
    for rule, find in _RULES:
        text = find(response)
        if text:
            return Extraction(text[:_MAX_ANSWER], rule)
    return None


# --------------------------------------------------------------------------- restatement

_PROMPT_MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_PLAIN_ARITHMETIC = re.compile(r"[\d.]+(?:\s*[-+*/^×÷]\s*[\d.]+)+")
_OPERATOR = re.compile(r"[-+*/^=]|\\(?:frac|cdot|times|div|sqrt)")


def _squash(text: str) -> str:
    return re.sub(r"\s+|\\[,;!: ]", "", text)


def restates_question(answer: str, prompt: str | None) -> bool:
    """True when ``answer`` is an expression copied whole from the question (e.g. the
    response boxes "3+4" for "What is $3+4$?"). A bare number or symbol never is."""
    if not prompt or not _OPERATOR.search(answer):
        return False
    target = _squash(answer)
    spans = [next(g for g in m.groups() if g is not None) for m in _PROMPT_MATH.finditer(prompt)]
    spans += _PLAIN_ARITHMETIC.findall(prompt)
    pieces = {_squash(p) for span in spans for p in (span, *span.split("="))}
    return target in pieces
