"""Preference pairs for a reward-model demo: a right and a wrong worked answer to the same
arithmetic question, in the same words, so only the arithmetic tells them apart.

    python -m trainer.arithmetic_pairs --n 2000 --out runs/pairs.jsonl [--mix mixed|near|far]

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

# Wrong answers a policy really writes: a slip in the units digit or a lost or extra carry
# ("near"), or an answer off by a lot ("far").
_SLIPS = (-11, -10, -2, -1, 1, 2, 10, 11)
MIXES = ("near", "far", "mixed")


def _question(rng: random.Random) -> tuple[str, int]:
    op = rng.choice("+-*")
    if op == "*":
        a, b = rng.randint(2, 19), rng.randint(2, 9)
        return f"{a} * {b}", a * b
    a, b = rng.randint(10, 99), rng.randint(10, 99)
    if op == "-" and b > a:
        a, b = b, a
    return f"{a} {op} {b}", a + b if op == "+" else a - b


def _wrong(right: int, rng: random.Random, mix: str) -> int:
    near = mix == "near" or (mix == "mixed" and rng.random() < 0.5)
    while True:
        wrong = right + rng.choice(_SLIPS) if near else right + rng.choice((-1, 1)) * rng.randint(15, 80)
        if wrong != right and wrong >= 0:
            return wrong


def make_pairs(
    n: int, seed: int = 0, mix: str = "mixed", exclude: frozenset[str] = frozenset()
) -> list[dict[str, str]]:
    """``n`` pairs ``{prompt, chosen, rejected}`` with distinct questions, none of them in
    ``exclude`` (prompts of a held-out set); reproducible for a given seed. ``mix``: wrong
    answers ``near`` the right one (a digit or carry slip), ``far`` from it (off by
    15–80), or half of each."""
    if mix not in MIXES:
        raise ValueError(f"mix must be one of {MIXES}")
    rng = random.Random(seed)
    pairs: list[dict[str, str]] = []
    seen = set(exclude)
    while len(pairs) < n:
        expression, right = _question(rng)
        prompt = f"What is {expression}? Put the final answer in \\boxed{{}}."
        if prompt in seen:
            continue
        seen.add(prompt)

        def answer(value: int, expression: str = expression) -> str:
            return f"{expression} = {value}. The answer is \\boxed{{{value}}}."

        pairs.append({"prompt": prompt, "chosen": answer(right), "rejected": answer(_wrong(right, rng, mix))})
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mix", choices=MIXES, default="mixed", help="how far off the wrong answers are")
    parser.add_argument("--out", required=True)
    parser.add_argument("--exclude", nargs="*", default=[], help="pair files whose questions must not recur")
    args = parser.parse_args(argv)
    exclude = frozenset(
        json.loads(line)["prompt"]
        for name in args.exclude
        for line in Path(name).read_text().splitlines()
        if line
    )
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as stream:
        for pair in make_pairs(args.n, args.seed, args.mix, exclude):
            stream.write(json.dumps(pair) + "\n")
    print(f"wrote {args.n} pairs to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
