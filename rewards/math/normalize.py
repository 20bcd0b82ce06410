"""Turn an answer string (gold or extracted) into canonical LaTeX before parsing.

Each rule is a small named step with the reason beside it; :func:`normalize` runs them
in order. Nothing here evaluates mathematics: it only removes notation that does not
change the value (delimiters, spacing, units, ``\\dfrac`` vs ``\\frac``).
"""

from __future__ import annotations

import re

from rewards.math.extract import balanced_group
from rewards.math.units import is_unit

# Text commands whose argument is plain text (a unit, a word, a choice letter).
_TEXT_COMMANDS = (
    "text",
    "textbf",
    "textit",
    "textnormal",
    "textup",
    "textsf",
    "texttt",
    "mathrm",
    "mathsf",
    "mathtt",
    "mathit",
    "mbox",
    "hbox",
    "mathbf",
    "boldsymbol",
    "textrm",
    "operatorname",
)
_TEXT_COMMAND = re.compile(r"\\(" + "|".join(_TEXT_COMMANDS) + r")\s*(?=\{)")

# "\\\\" (a row break) is matched first so that "\\\\ " never loses its second backslash.
_SPACING = re.compile(
    r"\\\\|\\[,;:! ]|\\q?quad\b|~|\\displaystyle\b|\\left\b|\\right\b|\\big[lr]?\b|\\Big[lr]?\b"
)
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree\b|\s*degrees?$")
_PERCENT = re.compile(r"\s*\\?%$|\s*(?:percent|percentage|pct)$")
_CURRENCY = re.compile(r"^(?:\\\$|\$|USD\s*|US\\\$|€|£|\\euro\s*)|\s*(?:dollars?|cents?|USD)$")
_TRAILING_UNIT = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+))\s+(.{1,60})$")
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
        unit = re.search(r"[\d}]\s*$", "".join(out[-2:])) and is_unit(inner)  # after a number or \frac{}{}
        if unit:
            pos += len(re.match(r"(?:\^\s*\{?\s*[23]\s*\}?)?", text[pos:]).group(0))
        else:
            out.append(inner if match.group(1) == "operatorname" else f" {inner}")
    out.append(text[pos:])
    return "".join(out).strip()


def _command(names: str) -> str:
    """A regex for the commands ``names`` (alternatives): not after another backslash
    ("\\\\le" is a row break then "le") and ending where the name ends ("\\tfrac12")."""
    return rf"(?<!\\)\\(?:{names})(?![A-Za-z])"


def canonical_commands(text: str) -> str:
    """Spellings with one meaning become one spelling."""
    text = re.sub(_command("[dt]frac|cfrac"), r"\\frac", text)
    text = re.sub(_command("varnothing|O") + r"|\\\{\s*\\\}", r"\\emptyset", text)
    # Brace-less arguments: \sqrt2 → \sqrt{2}, \frac12 → \frac{1}{2}, \frac{a}2 → \frac{a}{2}.
    text = re.sub(r"\\sqrt\s*([0-9a-zA-Z])", r"\\sqrt{\1}", text)
    text = re.sub(r"\\frac\s*([0-9a-zA-Z])\s*([0-9a-zA-Z])", r"\\frac{\1}{\2}", text)
    text = re.sub(r"\\frac\s*([0-9a-zA-Z])\s*\{", r"\\frac{\1}{", text)
    text = re.sub(_command("geq?|geqslant") + "|≥|>=", r"\\geq ", text)
    text = re.sub(_command("leq?|leqslant") + "|≤|<=", r"\\leq ", text)
    text = re.sub(_command("neq?") + "|≠|!=", r"\\neq ", text)
    text = re.sub(_command("lt"), "<", text)
    text = re.sub(_command("gt"), ">", text)
    text = text.replace("−", "-").replace("–", "-").replace("×", r"\times").replace("·", r"\cdot")
    text = text.replace("π", r"\pi").replace("∞", r"\infty").replace("√", r"\sqrt")
    text = re.sub(_command("dots[bc]?|cdots|ldots") + "|…", r"\\ldots", text)
    return text


def thousands_separators(text: str) -> str:
    """``1{,}000`` / ``11,\\!111`` / ``1,000`` → ``1000``; only well-formed 3-digit groups,
    so a pair like ``1, 2`` or ``(1,20)`` keeps its comma."""
    text = text.replace("{,}", ",")
    # Not right inside a bracket: "(12,102)" is a pair, not 12102.
    return re.sub(
        r"(?<![\d.,(\[])(\d{1,3}(?:,\d{3})+)(?![\d,)\]])(?!\.\d*,)",
        lambda m: m.group(1).replace(",", ""),
        text,
    )


_APPROX = re.compile(r"\\approx|≈|\\simeq")


def last_of_chain(text: str) -> str:
    """``x = 5+5+1 = 11`` → ``x = 11``: in a chain of equalities the last member is the
    value claimed (the first is kept when it is a name). ``a \\approx b`` is the exact
    ``a``, or ``b`` when ``a`` is only a name (``x \\approx 11``)."""
    parts = _APPROX.split(text)
    if len(parts) == 2:
        lhs, rhs = parts[0].strip(), parts[1].strip()
        text = rhs if not lhs or _NAME.fullmatch(lhs) else lhs
    if (
        text.count("=") < 2
        or re.search(r",|;|\b(?:and|or)\b", text)
        or any(r in text for r in ("<", ">", "\\leq", "\\geq", "\\neq"))
    ):
        return text
    members = [m.strip() for m in text.split("=")]
    if not all(members):
        return text
    return f"{members[0]} = {members[-1]}" if _NAME.fullmatch(members[0]) else members[-1]


_NAME = re.compile(r"[A-Za-z](?:_\{?[A-Za-z0-9]+\}?)?'*")


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

    text = answer.strip()
    if "\\begin" not in text and "\\\\" in text:
        # Doubly escaped LaTeX ("\\frac{1}{2}", common in JSON golds): outside a matrix a
        # row break before a command name means nothing else.
        text = step("unescape", re.sub(r"\\\\(?=[A-Za-z])", r"\\", text), text)
    text = step("strip_delimiters", strip_delimiters(text), text)
    # "$125$ miles": a dollar that is not "\$" only delimits math.
    text = step("strip_delimiters", re.sub(r"(?<!\\)\$", " ", text).strip(), text)
    # A thin space inside a number separates thousands ("1\,000", "11,\! 111"); \! is a
    # negative space.
    text = step("spacing", re.sub(r"(?<=\d),\\!\s*(?=\d{3}(?!\d))", ",", text), text)
    text = step("spacing", re.sub(r"(?<=\d)\\,(?=\d{3})|\\!", "", text), text)
    spaced = _SPACING.sub(lambda m: m.group(0) if m.group(0) == "\\\\" else " ", text)
    text = step("spacing", " ".join(spaced.split()), text)
    text = step("canonical_commands", canonical_commands(text), text)
    text = step("text_commands", " ".join(unwrap_text_commands(text).split()), text)
    text = step("punctuation", text.rstrip(" .;,"), text)
    text = step("degrees", _DEGREES.sub("", text).strip(), text)
    text = step("percent", _PERCENT.sub("", text).strip(), text)
    text = step("currency", _CURRENCY.sub("", text).strip(), text)
    text = step("thousands", thousands_separators(text), text)
    if re.fullmatch(r"-?\d{1,3}(?: \d{3})+(?:\.\d+)?", text):  # "1 000": a whole answer in spaced groups
        text = step("thousands", text.replace(" ", ""), text)
    text = step("chain", last_of_chain(text), text)
    unit = _TRAILING_UNIT.match(text)
    if unit and is_unit(unit.group(2)):
        text = step("units", unit.group(1), text)
    return text, notes
