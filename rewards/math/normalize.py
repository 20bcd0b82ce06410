"""Turn an answer string (gold or extracted) into canonical LaTeX before parsing.

Each rule is a small named step with the reason beside it; :func:`normalize` runs them
in order. Nothing here evaluates mathematics: it only removes notation that does not
change the value (delimiters, spacing, units, ``\\dfrac`` vs ``\\frac``).
"""

from __future__ import annotations

import re

from rewards.math.extract import balanced_group

# Text commands whose argument is plain text (a unit, a word, a choice letter).
_TEXT_COMMANDS = ("text", "textbf", "textit", "mathrm", "mbox", "mathbf", "textrm", "operatorname")
_TEXT_COMMAND = re.compile(r"\\(" + "|".join(_TEXT_COMMANDS) + r")\s*(?=\{)")

_SPACING = re.compile(r"\\[,;:! ]|\\q?quad\b|~|\\displaystyle\b|\\left\b|\\right\b|\\big[lr]?\b|\\Big[lr]?\b")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree\b|\s*degrees?$")
_PERCENT = re.compile(r"\s*\\?%$|\s*percent$")
_CURRENCY = re.compile(r"^(?:\\\$|\$|USD\s*|US\\\$|€|£|\\euro\s*)|\s*(?:dollars?|cents?|USD)$")
# A unit after a number and a space: words of two or more letters (with an optional ^2 or
# /word), e.g. "5 cm", "12 square meters", "3 m/s". One letter ("2 x") is a variable.
_UNIT_WORD = r"[a-zA-Z]{2,}\.?(?:\^\{?[23]\}?)?(?:\s*/\s*[a-zA-Z]+)?"
_TRAILING_UNIT = re.compile(rf"^([-+]?[\d.]+)\s+{_UNIT_WORD}(?:\s+{_UNIT_WORD})*$")
_ENDING_PUNCT = re.compile(r"[\s.;,]+$")
_MATH_DELIMS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))


def strip_delimiters(text: str) -> str:
    """``$x$``, ``\\(x\\)``, ``\\[x\\]`` → ``x`` (golds may come wrapped or raw)."""
    text = text.strip()
    changed = True
    while changed:
        changed = False
        for opening, closing in _MATH_DELIMS:
            inner = text[len(opening) : -len(closing)]
            if (
                len(text) > len(opening) + len(closing)
                and text.startswith(opening)
                and text.endswith(closing)
                and opening not in inner
            ):
                text = inner.strip()
                changed = True
    return text


_UNIT_TEXT = re.compile(r"\s*[A-Za-z][A-Za-z\s./]*")


def unwrap_text_commands(text: str) -> str:
    """``\\text{Monday}`` → ``Monday``: the argument of a text command is plain words.
    Words right after a number are a unit and go (``5\\text{ m}^2`` → ``5``)."""
    out = []
    pos = 0
    for match in _TEXT_COMMAND.finditer(text):
        if match.start() < pos:
            continue
        group = balanced_group(text, match.end())
        if group is None:
            break
        before = text[pos : match.start()]
        out.append(before)
        inner, pos = group
        is_unit = (
            re.search(r"[\d}]\s*$", "".join(out))  # after a number or a \frac{}{}
            and _UNIT_TEXT.fullmatch(inner)
            and inner.strip().lower() not in ("or", "and")
        )
        if is_unit:
            pos += len(re.match(r"(?:\^\s*\{?\s*[23]\s*\}?)?", text[pos:]).group(0))
        else:
            out.append(inner if match.group(1) == "operatorname" else f" {inner}")
    out.append(text[pos:])
    return "".join(out).strip()


def canonical_commands(text: str) -> str:
    """Spellings with one meaning become one spelling."""
    text = re.sub(r"\\[dt]frac\b", r"\\frac", text)
    text = re.sub(r"\\varnothing\b|\\O\b|\\\{\s*\\\}", r"\\emptyset", text)
    # Brace-less arguments: \sqrt2 → \sqrt{2}, \frac12 → \frac{1}{2}, \frac{a}2 → \frac{a}{2}.
    text = re.sub(r"\\sqrt\s*([0-9a-zA-Z])", r"\\sqrt{\1}", text)
    text = re.sub(r"\\frac\s*([0-9a-zA-Z])\s*([0-9a-zA-Z])", r"\\frac{\1}{\2}", text)
    text = re.sub(r"\\frac\s*([0-9a-zA-Z])\s*\{", r"\\frac{\1}{", text)
    text = re.sub(r"\\ge\b|≥", r"\\geq", text)
    text = re.sub(r"\\le\b|≤", r"\\leq", text)
    text = re.sub(r"\\neq?\b|≠", r"\\neq", text)
    text = text.replace("−", "-").replace("×", r"\times").replace("·", r"\cdot")
    text = text.replace("π", r"\pi").replace("∞", r"\infty").replace("√", r"\sqrt")
    text = re.sub(r"\\dots[bc]?\b|\\cdots\b|…", r"\\ldots", text)
    return text


def thousands_separators(text: str) -> str:
    """``1{,}000`` / ``11,\\!111`` / ``1,000`` → ``1000``; only well-formed 3-digit groups,
    so a pair like ``1, 2`` or ``(1,20)`` keeps its comma."""
    text = text.replace("{,}", ",")
    return re.sub(
        r"(?<![\d.,])(\d{1,3}(?:,\d{3})+)(?![\d,])(?!\.\d*,)",
        lambda m: m.group(1).replace(",", ""),
        text,
    )


def normalize(answer: str) -> tuple[str, list[str]]:
    """Canonical LaTeX of ``answer`` and the names of the rules that changed it.

    >>> normalize(r"$\\dfrac{1}{2}\\ \\text{cm}$")
    ('\\\\frac{1}{2}', ['strip_delimiters', 'spacing', 'canonical_commands', 'text_commands'])
    """
    notes: list[str] = []

    def step(name: str, new: str, old: str) -> str:
        if new != old:
            notes.append(name)
        return new

    text = step("strip_delimiters", strip_delimiters(answer), answer.strip())
    # A thin space inside a number separates thousands ("1\,000"); \! is a negative space.
    text = step("spacing", re.sub(r"(?<=\d)\\,(?=\d{3})|\\!", "", text), text)
    text = step("spacing", " ".join(_SPACING.sub(" ", text).split()), text)
    text = step("canonical_commands", canonical_commands(text), text)
    text = step("text_commands", " ".join(unwrap_text_commands(text).split()), text)
    text = step("punctuation", _ENDING_PUNCT.sub("", text), text)
    text = step("degrees", _DEGREES.sub("", text).strip(), text)
    text = step("percent", _PERCENT.sub("", text).strip(), text)
    text = step("currency", _CURRENCY.sub("", text).strip(), text)
    text = step("thousands", thousands_separators(text), text)
    unit = _TRAILING_UNIT.match(text)
    if unit:
        text = step("units", unit.group(1), text)
    return text, notes
