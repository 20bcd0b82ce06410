"""Find the final answer in a model response.

Rules, in priority order (the first that finds something decides):

1. ``boxed``: the last ``\\boxed{…}`` / ``\\fbox{…}`` with balanced braces. A
   self-correction ("\\boxed{1} … wait … \\boxed{2}") is decided by the last box, never
   merged into a set. Boxes joined only by "or" are a hedge and no answer; boxes joined
   by "and" or a comma are one list answer.
2. ``answer_phrase``: the last "final answer is", "the answer is", "Answer:" …, followed
   by ``$…$``, ``\\(…\\)``, ``\\[…\\]``, a **bold** span or the rest of the sentence. This
   beats later numbers, so "The answer is $5$. Check: $5+1=6$" gives 5.
3. ``bold``: the last short **bold** span that is not a heading.
4. ``last_math`` / ``last_number``: whichever comes later of the last math span
   (``$…$``, ``$$…$$``, ``\\(…\\)``, ``\\[…\\]``) and the last number standing as a token
   of its own (never a digit out of a word or a LaTeX expression). Only when the sentence
   around it neither denies it ("not 5") nor lists it among others ("1, 2 or 5").

Boxes inside fenced code blocks do not count. Every rule is a linear scan, so a 200 KB
response (or 8,000 unclosed ``\\boxed{``) costs milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rewards.math.units import is_unit

MAX_ANSWER = 1000  # characters, or twice the gold's length when that is more


@dataclass(frozen=True, slots=True)
class Extraction:
    text: str
    rule: str  # which rule above found it
    # Why the text is not an answer to grade: a hedge, or over the length limit. None
    # when it is one.
    refused: str | None = None
    too_long: bool = False


_BOX = re.compile(r"\\(?:boxed|fbox)\b")
_UNCLOSED_BOX = re.compile(r"\\boxed\{\s*(-?\d+(?:\.\d+)?)\s*$")
_ANSWER_PHRASE = re.compile(
    r"(?:final\s+answer|the\s+answer|answer)\s*(?:\*\*)?\s*(?:is|:|=|would\s+be|will\s+be)\s*:?"
    r"|\banswer\s+(?=\$|\\\(|\\\[)",
    re.IGNORECASE,
)
_DELIMITED = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"), ("**", "**"))
_MATH_DELIMITERS = (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$"))
_BOLD = re.compile(r"\*\*([^*\n]{1,80})\*\*")
# A number standing alone: no letter, digit, backslash, brace, ^ or _ touching it.
# Atomic, so "1,000.99m" never backs off to "1"; a unit may touch it ("1,000.99m²").
_NUMBER = re.compile(
    r"(?<![\w.,\\^_{}\-−–])[-−–]?(?>\d+(?:,\d{3})*(?:\.\d+)?(?:/\d+)?|\.\d+)(?P<unit>[A-Za-z]*²?)(?![\w^_{}]|\.\d)"
)
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|\n")
_FENCE = re.compile(r"^[ \t]*```", re.MULTILINE)
_HEDGE_GAP = re.compile(r"(?:,?\s*(?:or|or maybe|or possibly|or perhaps|either))", re.IGNORECASE)
# "and" alone, or a short phrase ending in it ("for part (a) and"), joins a list.
_LIST_GAP = re.compile(r"(?:,|,?\s*and|&|;|(?:[\w()]+\s+){1,4}and)", re.IGNORECASE)
_NEGATION = re.compile(
    r"\b(?:not|no|never|cannot|isn't|aren't|wasn't|can't|won't|unlikely|maybe|perhaps|possibly|"
    r"possible|either|options?|choices?|candidates?|guess|wrong|incorrect|false|mistaken?)\b|n't\b",
    re.IGNORECASE,
)
_LIST_BEFORE = re.compile(r"(?:,|\bor|\band|/)\s*$", re.IGNORECASE)
_CUE = re.compile(r"(?:\s(?:is|are|be|equals|was|get|gives?)\s|=|:|'s\s)", re.IGNORECASE)
# After the answer, these words affirm it: "$x \geq 5$ is the solution".
_AFFIRMED = re.compile(
    r"\s*(?:is|are|would be|will be)\s+(?:the|our|my)\s+(?:final\s+)?(?:answer|solution|result)s?"
    r"(?:\s+set)?\s*[.!]?\s*",
    re.IGNORECASE,
)
_ANOTHER_SPAN = re.compile(r"\s*(?:,|and|or|&)\s*(?:\$|\\\(|\\\[)", re.IGNORECASE)
_CLAUSE = re.compile(r"[,;]|\b(?:which|that|but|so|thus|therefore|hence|then)\b", re.IGNORECASE)
_PROSE_WORD = re.compile(r"[A-Za-z]{2,}")


_BRACE_TOKEN = re.compile(r"\\.|[{}]", re.DOTALL)


def matching_braces(text: str, start: int = 0) -> dict[int, int]:
    """Index of every ``{`` (at or after ``start``) that closes → index of its ``}``, in
    one pass that jumps from brace to brace. ``\\{`` and ``\\}`` do not count. Unclosed
    braces are absent."""
    closes: dict[int, int] = {}
    stack: list[int] = []
    for match in _BRACE_TOKEN.finditer(text, start):
        token = match.group()
        if token == "{":
            stack.append(match.start())
        elif token == "}" and stack:
            closes[stack.pop()] = match.start()
    return closes


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


def _mask_code(response: str) -> str:
    """Fenced code blocks become spaces (same length, so offsets hold): a box in a code
    comment is not an answer. An unclosed fence runs to the end."""
    fences = [m.start() for m in _FENCE.finditer(response)]
    if not fences:
        return response
    pieces, pos = [], 0
    for opening, closing in zip(fences[::2], [*fences[1::2], len(response)], strict=False):
        end = response.find("\n", closing) if closing < len(response) else len(response)
        end = len(response) if end < 0 else end
        pieces.append(response[pos:opening])
        pieces.append(" " * (end - opening))
        pos = end
    pieces.append(response[pos:])
    return "".join(pieces)


def find_boxes(response: str) -> list[tuple[int, int, str]]:
    """(start, end, contents) of every outermost box with contents, in order."""
    closes = None
    boxes: list[tuple[int, int, str]] = []
    for match in _BOX.finditer(response):
        if boxes and match.start() < boxes[-1][1]:
            continue  # nested in the previous box
        i = match.end()
        while i < len(response) and response[i] in " \t":
            i += 1
        if i < len(response) and response[i] == "{":
            if closes is None:
                closes = matching_braces(response, match.start())
            close = closes.get(i)
            if close is not None and response[i + 1 : close].strip():
                boxes.append((match.start(), close + 1, response[i + 1 : close].strip()))
        elif i > match.end():  # "\boxed 5": one token
            token = re.match(r"[^\s$]+", response[i : i + 200])
            if token:
                boxes.append((match.start(), i + token.end(), token.group(0)))
    return boxes


def _gap(text: str) -> str:
    """The words between two boxes, without math delimiters, spacing or punctuation."""
    text = re.sub(r"\\(?:text|textnormal|mathrm|mbox)\s*\{([^{}]*)\}", r" \1 ", text)
    text = re.sub(r"\$|\\[()\[\]]|\\[,;:! ]|\\q?quad", " ", text)
    return " ".join(text.split()).strip(" .")


def _boxed(response: str, boxes: list[tuple[int, int, str]] | None = None) -> Extraction | None:
    boxes = find_boxes(response) if boxes is None else boxes
    if not boxes:
        # A response cut off inside its last box, "\boxed{3": a plain number still counts.
        cut = _UNCLOSED_BOX.search(response[-200:])
        return Extraction(cut.group(1), "boxed_unclosed") if cut else None
    run = [boxes[-1]]
    joined_by = None
    for box in reversed(boxes[:-1]):
        gap = _gap(response[box[1] : run[0][0]])
        if len(gap) > 40:
            break
        if _HEDGE_GAP.fullmatch(gap):
            joined_by = "or"
        elif _LIST_GAP.fullmatch(gap) and not _NEGATION.search(gap) and joined_by in (None, "and"):
            joined_by = "and"
        else:
            break
        run.insert(0, box)
    if joined_by == "or":
        text = " or ".join(b[2] for b in run)
        return Extraction(text, "boxed", refused="several boxed answers offered as alternatives")
    if joined_by == "and":
        return Extraction(", ".join(b[2] for b in run), "boxed")
    return Extraction(run[-1][2], "boxed")


def _find_unescaped(text: str, token: str, start: int) -> int:
    """Index of ``token`` at or after ``start`` not preceded by a backslash (``\\$`` is a
    dollar sign, not a delimiter); -1 when absent."""
    while (index := text.find(token, start)) > 0 and text[index - 1] == "\\":
        start = index + 1
    return index


def math_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, contents) of every math span, left to right, in linear time: once a
    delimiter has no closing after some point, later openings of it are not searched."""
    spans: list[tuple[int, int, str]] = []
    dead: set[str] = set()
    next_open: dict[str, int] = {}
    pos = 0
    while True:
        best = None
        for opening, closing in _MATH_DELIMITERS:
            if opening in dead:
                continue
            cached = next_open.get(opening, -1)
            if cached < pos:
                cached = _find_unescaped(text, opening, pos)
                next_open[opening] = cached if cached >= 0 else len(text) + 1
                if cached < 0:
                    dead.add(opening)
                    continue
            if best is None or cached < best[0] or (cached == best[0] and len(opening) > len(best[1])):
                best = (cached, opening, closing)
        if best is None:
            return spans
        start, opening, closing = best
        end = _find_unescaped(text, closing, start + len(opening))
        if opening == "$" and end == start + 1:  # "$$" that is not a display opening
            pos = start + 1
            continue
        if end < 0:
            dead.add(opening)
            if opening == "$$":
                pos = start  # a lone "$$" may still hold single-dollar spans
                next_open.pop("$", None)
            continue
        spans.append((start, end + len(closing), text[start + len(opening) : end].strip()))
        pos = end + len(closing)


def _sentence_around(text: str, start: int, end: int) -> tuple[str, str]:
    """The text of the sentence before ``start`` and after ``end`` (to its end)."""
    window = text[max(0, start - 300) : start]
    cut = max((m.end() for m in _SENTENCE_END.finditer(window)), default=0)
    after = text[end : end + 300]
    stop = _SENTENCE_END.search(after)
    return window[cut:], after[: stop.start()] if stop else after


def _plain_sentence(before: str, after: str) -> bool:
    """The candidate is asserted: no denial, hedge or list around it, and nothing after it
    but units or an affirmation ("… is the answer"). Only the words since the last cue
    ("which", ",") count before it: "not 10, which is 1,000" asserts 1,000."""
    near = _CLAUSE.split(before)[-1]
    if _NEGATION.search(near) or _NEGATION.search(after):
        return False
    if _LIST_BEFORE.search(before):
        return False
    tail = after.strip(" \t*_)]:;,.!")
    if not tail or not re.search(r"\w", tail) or _AFFIRMED.fullmatch(after):
        return True
    if re.fullmatch(r"(?:percent|percentage|pct)", tail, re.IGNORECASE):
        return True
    return is_unit(tail.replace("²", "^2").replace("³", "^3"))


def _after_phrase(rest: str) -> str | None:
    rest = rest.lstrip(" \t\n:*")
    if rest.startswith(('\\"', '"')):  # 'The final answer is \"$12$ and $13$\"'
        rest = rest.lstrip('\\"')
        rest = re.sub(r'\\?"', "", rest[:MAX_ANSWER], count=1) + rest[MAX_ANSWER:]
    for opening, closing in _DELIMITED:
        if rest.startswith(opening):
            end = _find_unescaped(rest, closing, len(opening))
            following = rest[end + len(closing) : end + len(closing) + 40]
            if end > len(opening) and not _ANOTHER_SPAN.match(following):
                return rest[len(opening) : end].strip()
            break  # "$12$ and $13$": the sentence holds the answer
    stop = _SENTENCE_END.search(rest)
    sentence = (rest[: stop.start()] if stop else rest).strip()
    if not sentence or sentence.endswith(":"):
        # "The final answer is given below:\n\\[ 5 \\]": the display block after it.
        after = rest[len(sentence) :].lstrip(" \t\n:")
        for opening, closing in _MATH_DELIMITERS:
            if after.startswith(opening):
                end = _find_unescaped(after, closing, len(opening))
                return after[len(opening) : end].strip() if end > len(opening) else None
        return None
    sentence = sentence.strip("* ").rstrip(".").strip("* ")
    spans = math_spans(sentence)
    outside = sentence
    for start, end, _ in reversed(spans):  # same length, so offsets hold in both
        outside = outside[:start] + " " * (end - start) + outside[end:]
    if not _PROSE_WORD.search(re.sub(r"\b(?:and|or)\b", " ", outside)):
        return sentence  # "5 cm", "$12$ and $13$", "x = 1 or x = 2": all of it
    # Prose: "The largest $n$ is 34", "therefore $\frac12$": what follows the last cue,
    # or the last math span.
    cues = list(_CUE.finditer(outside))
    if cues:
        tail = sentence[cues[-1].end() :].strip()
        if tail and not _NEGATION.search(tail):
            return _strip_math(tail)
    if spans and not _NEGATION.search(outside):
        return spans[-1][2]
    return sentence


def _strip_math(text: str) -> str:
    spans = math_spans(text)
    if len(spans) == 1 and not text[: spans[0][0]].strip() and not text[spans[0][1] :].strip():
        return spans[0][2]
    return text


def _answer_phrase(response: str) -> Extraction | None:
    # The last few phrases only: "The answer is " repeated 10,000 times costs no more.
    for match in reversed(list(_ANSWER_PHRASE.finditer(response))[-8:]):
        answer = _after_phrase(response[match.end() : match.end() + 4 * MAX_ANSWER])
        if answer:
            return Extraction(answer.strip("* "), "answer_phrase")
    return None


def _bold(response: str) -> Extraction | None:
    for match in reversed(list(_BOLD.finditer(response))):
        text = match.group(1).strip()
        if text and not text.endswith(":") and not text.lower().startswith("step"):
            return Extraction(text, "bold")
    return None


def _last_math_or_number(response: str) -> Extraction | None:
    spans = math_spans(response)
    outside = response
    if spans:
        pieces, pos = [], 0
        for start, end, _ in spans:
            pieces.append(response[pos:start])
            pieces.append(" " * (end - start))
            pos = end
        pieces.append(response[pos:])
        outside = "".join(pieces)
    number = None
    for candidate in _NUMBER.finditer(outside):
        unit = candidate.group("unit")
        if not unit or is_unit(unit.replace("²", "^2")):
            number = candidate
    span = spans[-1] if spans else None
    if number is not None and (span is None or number.start() > span[0]):
        start, end, rule = number.start(), number.end(), "last_number"
        text = number.group(0)[: len(number.group(0)) - len(number.group("unit"))]
    elif span is not None and span[2]:
        start, end, text, rule = span[0], span[1], span[2], "last_math"
    else:
        return None
    before, after = _sentence_around(response, start, end)
    if not _plain_sentence(before, after):
        return Extraction(text, rule, refused="the last number is denied, hedged or one of a list")
    return Extraction(text, rule)


def _whole(response: str) -> Extraction | None:
    """A short response that is all mathematics ("\\frac{10}{9}", "x \\geq 5") is its own
    answer: no prose word in it outside LaTeX commands."""
    text = response.strip()
    if not text or len(text) > 200 or "\n" in text:
        return None
    bare = re.sub(r"\\[A-Za-z]+", " ", text)
    if _PROSE_WORD.search(bare) or not re.search(r"[\d\\]", text):
        return None
    if "=" in text and not re.fullmatch(r"\$?\s*[A-Za-z](?:_\{?\w+\}?)?\s*=[^=]*", text):
        return None  # "6 * 7 = 42" is working, not an answer; "x = 5" is one
    return Extraction(text, "whole")


_RULES = (_boxed, _answer_phrase, _bold, _whole, _last_math_or_number)


_FINAL_PHRASE = re.compile(r"final\s+answer", re.IGNORECASE)


def extract_answer(response: str, limit: int = MAX_ANSWER) -> Extraction | None:
    """The final answer of ``response``, or ``None`` when it holds none. An answer longer
    than ``limit`` characters comes back with ``too_long`` set (never cut to a prefix).

    >>> extract_answer(r"So \\boxed{1} ... wait, no: \\boxed{\\frac{1}{2}}")
    Extraction(text='\\\\frac{1}{2}', rule='boxed', refused=None, too_long=False)
    """
    response = _mask_code(response)
    boxes = find_boxes(response)
    if boxes:
        # "… \boxed{255} … Final Answer: The final answer is $10,455$": intermediate
        # results were boxed; the final answer stated after the last box decides.
        final = [m for m in _FINAL_PHRASE.finditer(response, boxes[-1][1])][-1:]
        if final:
            found = _answer_phrase(response[final[0].start() :])
            if found is not None and found.text:
                return _limited(found, limit)
    found = _boxed(response, boxes)
    if found is not None and found.text:
        return _limited(found, limit)
    for find in _RULES[1:]:
        found = find(response)
        if found is not None and found.text:
            return _limited(found, limit)
    return None


def _limited(found: Extraction, limit: int) -> Extraction:
    if len(found.text) > limit:
        return Extraction(found.text[:limit], found.rule, found.refused, too_long=True)
    return found


# --------------------------------------------------------------------------- restatement

_PLAIN_ARITHMETIC = re.compile(r"\d+(?:\.\d+)?(?:[ \t]*[-+*/^×÷][ \t]*\d+(?:\.\d+)?)+")
_OPERATOR = re.compile(r"[-+*/^=]|\\(?:frac|cdot|times|div|sqrt)")


def _squash(text: str) -> str:
    return re.sub(r"\s+|\\[,;!: ]", "", text)


def restates_question(answer: str, prompt: str | None) -> bool:
    """True when ``answer`` is an expression copied whole from the question (e.g. the
    response boxes "3+4" for "What is $3+4$?"). A bare number or symbol never is."""
    if not prompt or not _OPERATOR.search(answer):
        return False
    target = _squash(answer)
    spans = [span[2] for span in math_spans(prompt)]
    spans += _PLAIN_ARITHMETIC.findall(prompt)
    pieces = {_squash(p) for span in spans for p in (span, *span.split("="))}
    return target in pieces
