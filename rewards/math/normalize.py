"""Turn an answer string (gold or extracted) into canonical LaTeX before parsing.

Each rule is a small named step with the reason beside it; :func:`normalize` runs them
in order. Nothing here evaluates mathematics: it only removes notation that does not
change the value (delimiters, spacing, units, ``\\dfrac`` vs ``\\frac``).
"""

from __future__ import annotations

import re

from rewards.math.extract import balanced_group

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
_PERCENT = re.compile(r"\s*\\?%$|\s*percent$")
_CURRENCY = re.compile(r"^(?:\\\$|\$|USD\s*|US\\\$|€|£|\\euro\s*)|\s*(?:dollars?|cents?|USD)$")
# Units that may follow a number and be dropped: only names of units. Never magnitudes
# ("million"), operators ("squared", "factorial", "pi") or qualifiers ("or more", "is
# wrong"): dropping those would make a different answer equal (GUIDE §10).
UNITS = frozenset(
    """
    mm cm dm m km in inch inches ft foot feet yd yard yards mi mile miles meter meters metre
    metres millimeter millimeters centimeter centimeters kilometer kilometers kilometre
    kilometres nm micron microns g kg mg gram grams kilogram kilograms milligram milligrams
    lb lbs pound pounds oz ounce ounces ton tons tonne tonnes l ml liter liters litre litres
    milliliter milliliters gallon gallons quart quarts pint pints cup cups s sec secs second
    seconds min mins minute minutes h hr hrs hour hours day days week weeks month months
    year years yr yrs ms dollar dollars cent cents euro euros yen rupees rupee pence
    degree degrees deg rad radian radians unit units sq square cubic km/h mph kph m/s
    cm/s km/hr mi/h mpg kmh kwh kw watt watts joule joules newton newtons volt volts amp
    amps ohm ohms hz mb gb kb tb byte bytes bit bits calorie calories cal kcal
    """.split()  # noqa: SIM905 - a word list reads better as words
)
_UNIT_TOKEN = re.compile(r"([A-Za-z]+(?:/[A-Za-z]+)?)\.?(?:\^\{?[23]\}?)?")
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


def is_unit(words: str) -> bool:
    """Whether ``words`` name a unit only ("cm", "square meters", "m/s", "km^2")."""
    tokens = words.replace(" per ", "/").split()
    if not tokens or len(tokens) > 4:
        return False
    for token in tokens:
        match = _UNIT_TOKEN.fullmatch(token)
        if not match:
            return False
        if any(part.lower() not in UNITS for part in match.group(1).split("/")):
            return False
    return True


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


def canonical_commands(text: str) -> str:
    """Spellings with one meaning become one spelling."""
    text = re.sub(r"\\[dt]frac\b", r"\\frac", text)
    text = re.sub(r"\\varnothing\b|\\O\b|\\\{\s*\\\}", r"\\emptyset", text)
    # Brace-less arguments: \sqrt2 → \sqrt{2}, \frac12 → \frac{1}{2}, \frac{a}2 → \frac{a}{2}.
    text = re.sub(r"\\sqrt\s*([0-9a-zA-Z])", r"\\sqrt{\1}", text)
    text = re.sub(r"\\frac\s*([0-9a-zA-Z])\s*([0-9a-zA-Z])", r"\\frac{\1}{\2}", text)
    text = re.sub(r"\\frac\s*([0-9a-zA-Z])\s*\{", r"\\frac{\1}{", text)
    text = re.sub(r"\\geq?(?:slant)?\b|≥|>=", r"\\geq ", text)
    text = re.sub(r"\\leq?(?:slant)?\b|≤|<=", r"\\leq ", text)
    text = re.sub(r"\\neq?\b|≠|!=", r"\\neq ", text)
    text = re.sub(r"\\lt\b", "<", text)
    text = re.sub(r"\\gt\b", ">", text)
    text = text.replace("−", "-").replace("–", "-").replace("×", r"\times").replace("·", r"\cdot")
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
    spaced = _SPACING.sub(lambda m: m.group(0) if m.group(0) == "\\\\" else " ", text)
    text = step("spacing", " ".join(spaced.split()), text)
    text = step("canonical_commands", canonical_commands(text), text)
    text = step("text_commands", " ".join(unwrap_text_commands(text).split()), text)
    text = step("punctuation", text.rstrip(" .;,"), text)
    text = step("degrees", _DEGREES.sub("", text).strip(), text)
    text = step("percent", _PERCENT.sub("", text).strip(), text)
    text = step("currency", _CURRENCY.sub("", text).strip(), text)
    text = step("thousands", thousands_separators(text), text)
    unit = _TRAILING_UNIT.match(text)
    if unit and is_unit(unit.group(2)):
        text = step("units", unit.group(1), text)
    return text, notes
