"""Preference pairs for a reward-model demo: a right and a wrong worked answer to the same
arithmetic question, in the same words, so only the arithmetic tells them apart.

    python -m trainer.arithmetic_pairs --n 2000 --out runs/pairs.jsonl

Example:
    >>> from trainer.arithmetic_pairs import make_pairs
    >>> pair = make_pairs(1, seed=3)[0]
    >>> sorted(pair)
    ['chosen', 'prompt', 'rejected']
    >>> pair["chosen"] != pair["rejected"]
    True
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

# Wrong answers a policy really writes: a slip in the units digit, a lost or extra carry,
# or a plain guess.
_SLIPS = (-11, -10, -2, -1, 1, 2, 10, 11)


def _question(rng: random.Random) -> tuple[str, int]:
    op = rng.choice("+-*")
    if op == "*":
        a, b = rng.randint(2, 19), rng.randint(2, 9)
        return f"{a} * {b}", a * b
    a, b = rng.randint(10, 99), rng.randint(10, 99)
    if op == "-" and b > a:
        a, b = b, a
    return f"{a} {op} {b}", a + b if op == "+" else a - b


def _wrong(right: int, rng: random.Random) -> int:
    while True:
        wrong = right + rng.choice(_SLIPS) if rng.random() < 0.8 else rng.randint(0, 200)
        if wrong != right and wrong >= 0:
            return wrong


def make_pairs(n: int, seed: int = 0) -> list[dict[str, str]]:
    """``n`` pairs ``{prompt, chosen, rejected}``; reproducible for a given seed."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        expression, right = _question(rng)
        prompt = f"What is {expression}? Put the final answer in \\boxed{{}}."

        def answer(value: int, expression: str = expression) -> str:
            return f"{expression} = {value}. The answer is \\boxed{{{value}}}."

        pairs.append({"prompt": prompt, "chosen": answer(right), "rejected": answer(_wrong(right, rng))})
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as stream:
        for pair in make_pairs(args.n, args.seed):
            stream.write(json.dumps(pair) + "\n")
    print(f"wrote {args.n} pairs to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
