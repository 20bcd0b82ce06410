"""Find the program in a response, and complete a HumanEval-style body with its prompt.

The last fenced block tagged with the sample's language (or an alias), else the last
untagged block, else the last block. A response with no fenced block has no program —
except for assert tests (HumanEval/MBPP completions), where the raw response is the code.
A response that holds only a function body, or a function without the prompt's imports
and helpers, is completed with the prompt. Every step takes time linear in the response.

Example:
    >>> from rewards.code.extract import extract_code
    >>> extract_code("Here:\\n```py\\nprint(1)\\n```\\n", "python", raw_allowed=False)
    'print(1)\\n'
"""

from __future__ import annotations

import re

from sandbox.languages import find_language

_FENCE = "```"
_TAG = re.compile(r"[ \t]*([\w+#.-]*)")


def fenced_blocks(response: str) -> list[tuple[str, str]]:
    """(tag, body) of every fenced block: a fence is three backticks, the tag the word
    after them, the body everything from the next line to the next three backticks.
    One left-to-right pass with str.find, so time is linear in the response (the
    regular expression this replaces backtracked quadratically on runs of backticks)."""
    blocks = []
    position = 0
    while True:
        start = response.find(_FENCE, position)
        if start < 0:
            return blocks
        newline = response.find("\n", start + 3)
        if newline < 0:
            return blocks  # no line after the fence: no block can open here or later
        close = response.find(_FENCE, newline + 1)
        if close < 0:
            return blocks  # no closing fence after this line, hence none after any later one
        header = response[start + 3 : newline]
        match = _TAG.match(header)
        blocks.append((match.group(1) if match else "", response[newline + 1 : close]))
        position = close + 3


def extract_code(response: str, language: str, raw_allowed: bool) -> str | None:
    blocks = fenced_blocks(response)
    wanted = find_language(language)
    for tag, body in reversed(blocks):
        if tag and find_language(tag) == wanted:
            return body
    for tag, body in reversed(blocks):
        if not tag:
            return body
    if blocks:
        return blocks[-1][1]
    return response if raw_allowed and response.strip() else None


def complete_with_prompt(code: str, prompt: str | None, entry_point: str) -> str:
    """HumanEval style: a bare body needs the prompt's signature; a full function still
    needs the prompt's imports and helpers (a later definition overrides the stub)."""
    if not prompt:
        return code
    # Horizontal whitespace only: `\s*` after `^` spans lines and backtracks quadratically
    # on long runs of blank lines.
    if re.search(rf"^[ \t]*def[ \t]+{re.escape(entry_point)}[ \t]*\(", code, re.MULTILINE):
        return f"{prompt}\n    pass\n\n{code}" if prompt.rstrip().endswith(":") else f"{prompt}\n{code}"
    return prompt + code
