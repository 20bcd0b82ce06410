"""Arithmetic word problems at several difficulty levels, with exact golds.

    python -m trainer.arithmetic --n 2000 --heldout 200 --levels 1,2,3 --out runs/arith
    # writes runs/arith/train.jsonl and runs/arith/heldout.jsonl (no question in both)

Levels (the ``difficulty`` field), some questions worded as short stories:
  1  one-digit sums and differences      "What is 3 + 5?"   (126 distinct)
  2  one-digit products; 11-19 plus or minus a one-digit number
  3  a two-digit and a one-digit number: sums and differences
  4  two two-digit numbers: sums and differences
  5  a two-digit times a one-digit number
  6  two steps: (a + b) × c with one-digit numbers

Questions are distinct by their arithmetic (numbers and operation), not only by wording, so
a held-out question is never a training question in other words. When a level runs out of
distinct questions the others fill the rest. Every prompt ends with "Put the final answer
in \\boxed{}."; the gold is the integer.

Example:
    >>> from trainer.arithmetic import make_problems
    >>> p = make_problems(1, levels=[1], seed=0)[0]
    >>> p.kind, p.difficulty, p.reference["answer"].isdigit()
    ('math', 1, True)
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Iterable
from pathlib import Path

from trainer.problems import Problem, write_problems

SUFFIX = " Put the final answer in \\boxed{}."

_WORDED = {
    "+": [
        "{name} has {a} apples and picks {b} more. How many apples does {name} have now?",
        "A box holds {a} red pens and {b} blue pens. How many pens are in the box?",
    ],
    "-": [
        "{name} had {a} stickers and gave away {b}. How many stickers are left?",
        "A shelf held {a} books; {b} were borrowed. How many books remain on the shelf?",
    ],
    "*": [
        "{name} buys {a} bags with {b} marbles in each. How many marbles is that?",
        "There are {a} rows of chairs with {b} chairs in each row. How many chairs are there?",
    ],
}
_NAMES = ("Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana")


Core = tuple[int, str, int]  # (a, op, b): what makes two questions the same question


def _text(rng: random.Random, core: Core, worded: float) -> tuple[str, int]:
    a, op, b = core
    value = {"+": a + b, "-": a - b, "*": a * b}[op]
    if rng.random() < worded:
        return rng.choice(_WORDED[op]).format(a=a, b=b, name=rng.choice(_NAMES)), value
    symbol = {"+": "+", "-": "-", "*": "\u00d7"}[op]
    return f"What is {a} {symbol} {b}?", value


def _ordered(a: int, op: str, b: int) -> Core:
    return (max(a, b), op, min(a, b)) if op == "-" else (a, op, b)


def _level1(rng: random.Random) -> Core:
    return _ordered(rng.randint(1, 9), rng.choice("+-"), rng.randint(1, 9))


def _level2(rng: random.Random) -> Core:
    if rng.random() < 0.5:
        return (rng.randint(2, 9), "*", rng.randint(2, 9))
    return (rng.randint(11, 19), rng.choice("+-"), rng.randint(1, 9))


def _level3(rng: random.Random) -> Core:
    return (rng.randint(20, 99), rng.choice("+-"), rng.randint(1, 9))


def _level4(rng: random.Random) -> Core:
    return _ordered(rng.randint(10, 99), rng.choice("+-"), rng.randint(10, 99))


def _level5(rng: random.Random) -> Core:
    return (rng.randint(11, 99), "*", rng.randint(2, 9))


def _level6(rng: random.Random) -> Core:
    return (rng.randint(2, 9) * 10 + rng.randint(2, 9), "(+)*", rng.randint(2, 9))


def _question(rng: random.Random, level: int, core: Core) -> tuple[str, int]:
    if level == 6:  # two steps; the core packs a and b as the tens and units of its first number
        ab, _, c = core
        a, b = divmod(ab, 10)
        return f"What is ({a} + {b}) \u00d7 {c}?", (a + b) * c
    return _text(rng, core, worded=0.3 if level > 1 else 0.0)


LEVELS: dict[int, Callable[[random.Random], Core]] = {
    1: _level1,
    2: _level2,
    3: _level3,
    4: _level4,
    5: _level5,
    6: _level6,
}


def make_problems(
    n: int, levels: Iterable[int] = (1, 2, 3), seed: int = 0, exclude: frozenset[tuple] = frozenset()
) -> list[Problem]:
    """``n`` problems with distinct arithmetic, spread evenly over ``levels`` (none whose
    core is in ``exclude``, see :func:`core_of`); reproducible for a seed. A level that runs
    out of distinct questions leaves the rest to the others; ValueError when all do."""
    active = list(levels)
    unknown = [lv for lv in active if lv not in LEVELS]
    if unknown:
        raise ValueError(f"unknown levels {unknown}; levels are {sorted(LEVELS)}")
    rng = random.Random(seed)
    seen, problems = set(exclude), []
    i = 0
    while len(problems) < n:
        if not active:
            raise ValueError(f"levels {list(levels)} have only {len(problems)} distinct questions")
        level = active[i % len(active)]
        i += 1
        for _ in range(2_000):
            core = LEVELS[level](rng)
            if (level, *core) not in seen:
                break
        else:
            active.remove(level)
            continue
        seen.add((level, *core))
        question, value = _question(rng, level, core)
        problems.append(
            Problem(
                id=f"arith-{seed}-{len(problems)}",
                prompt=question + SUFFIX,
                kind="math",
                reference={"answer": str(value)},
                difficulty=level,
                tags=(f"level{level}",),
                metadata={"core": [level, *core]},
            )
        )
    return problems


def core_of(problem: Problem) -> tuple:
    """What makes two generated problems the same question (their level and arithmetic)."""
    return tuple(problem.metadata["core"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="arithmetic problems: train.jsonl and heldout.jsonl")
    parser.add_argument("--n", type=int, default=2000, help="training problems")
    parser.add_argument("--heldout", type=int, default=200, help="held-out problems (no shared question)")
    parser.add_argument("--levels", default="1,2,3", help="comma-separated difficulty levels (1-6)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="output directory")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    held = make_problems(args.heldout, levels, seed=args.seed + 1)
    train = make_problems(args.n, levels, seed=args.seed, exclude=frozenset(core_of(p) for p in held))
    out = Path(args.out)
    write_problems(train, out / "train.jsonl")
    write_problems(held, out / "heldout.jsonl")
    print(f"wrote {len(train)} training and {len(held)} held-out problems to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
