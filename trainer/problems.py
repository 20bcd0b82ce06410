"""Training and evaluation problems: JSON Lines, one problem a line.

    {"id": "p1", "prompt": "What is 2 + 3? ...", "kind": "math", "reference": {"answer": "5"},
     "difficulty": 1, "tags": ["add"], "pass_rate": 0.4}

``id``, ``prompt``, ``kind`` and ``reference`` are required; ``kind`` and ``reference`` are
the reward contract's (``rewards/schema.py``), checked by the same decoder the server uses,
so a problem the server would refuse is refused here, with its file and line.

Example:
    >>> import json, tempfile
    >>> from trainer.problems import read_problems
    >>> path = tempfile.mktemp(suffix=".jsonl")
    >>> _ = open(path, "w").write(json.dumps({"id": "a", "prompt": "1+1?", "kind": "math",
    ...                                       "reference": {"answer": "2"}}) + "\\n")
    >>> [p.id for p in read_problems(path)]
    ['a']
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewards.schema import JSON, Result, decode_sample

_OPTIONAL = {"difficulty", "tags", "pass_rate", "metadata"}


@dataclass(frozen=True)
class Problem:
    id: str
    prompt: str
    kind: str
    reference: dict[str, JSON]
    difficulty: int | None = None
    tags: tuple[str, ...] = ()
    pass_rate: float | None = None
    metadata: dict[str, JSON] = field(default_factory=dict)

    def sample(self, sample_id: str, response: str, group: str, tokens: int) -> dict[str, JSON]:
        """The reward request for one response to this problem (the data contract's sample)."""
        return {
            "id": sample_id,
            "kind": self.kind,
            "prompt": self.prompt,
            "response": response,
            "reference": self.reference,
            "group": group,
            "response_tokens": tokens,
        }

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "prompt": self.prompt,
            "kind": self.kind,
            "reference": self.reference,
        }
        if self.difficulty is not None:
            out["difficulty"] = self.difficulty
        if self.tags:
            out["tags"] = list(self.tags)
        if self.pass_rate is not None:
            out["pass_rate"] = self.pass_rate
        if self.metadata:
            out["metadata"] = self.metadata
        return out


class ProblemError(ValueError):
    """A problem file that cannot be used; the message names the file and line."""


def parse_problem(obj: Any, where: str) -> Problem:
    if not isinstance(obj, dict):
        raise ProblemError(f"{where}: a problem is a JSON object")
    unknown = sorted(set(obj) - {"id", "prompt", "kind", "reference"} - _OPTIONAL)
    if unknown:
        raise ProblemError(f"{where}: unknown fields {unknown}")
    for name in ("id", "prompt"):
        if not isinstance(obj.get(name), str) or not obj[name]:
            raise ProblemError(f"{where}: '{name}' must be a non-empty string")
    probe = decode_sample(
        {"id": obj["id"], "kind": obj.get("kind"), "response": "", "reference": obj.get("reference")}
    )
    if isinstance(probe, Result):
        raise ProblemError(f"{where}: {probe.details.get('field', 'problem')}: {probe.message}")
    difficulty, tags, pass_rate = obj.get("difficulty"), obj.get("tags", []), obj.get("pass_rate")
    if difficulty is not None and (not isinstance(difficulty, int) or isinstance(difficulty, bool)):
        raise ProblemError(f"{where}: 'difficulty' must be an integer level")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ProblemError(f"{where}: 'tags' must be a list of strings")
    if pass_rate is not None and not (isinstance(pass_rate, int | float) and 0 <= pass_rate <= 1):
        raise ProblemError(f"{where}: 'pass_rate' must be a number in [0, 1]")
    return Problem(
        id=obj["id"],
        prompt=obj["prompt"],
        kind=obj["kind"],
        reference=obj["reference"],
        difficulty=difficulty,
        tags=tuple(tags),
        pass_rate=None if pass_rate is None else float(pass_rate),
        metadata=obj.get("metadata") or {},
    )


def read_problems(path: str | Path) -> list[Problem]:
    """Every problem of a JSON Lines file; a bad line raises :class:`ProblemError` with file:line."""
    problems, seen = [], set()
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as error:
                raise ProblemError(f"{where}: not valid JSON ({error.msg})") from None
            problem = parse_problem(obj, where)
            if problem.id in seen:
                raise ProblemError(f"{where}: duplicate id {problem.id!r}")
            seen.add(problem.id)
            problems.append(problem)
    if not problems:
        raise ProblemError(f"{path}: no problems")
    return problems


def write_problems(problems: list[Problem], path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as stream:
        for problem in problems:
            stream.write(json.dumps(problem.to_dict()) + "\n")
