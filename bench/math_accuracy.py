"""Accuracy and speed of ``rewards.math`` against Math-Verify on the labelled set.

    python -m bench.math_accuracy [--repeat 3] [--cores 0]

Both systems grade the same whole responses (bench/math_cases.py), one item at a time,
in one process run pinned to one core (verirl's worker process inherits the pinning).
Math-Verify gets its golds wrapped in ``$…$`` (its best case) and, for reference, raw.
Reported: agreement with the labels, false positives/negatives, items/s, per-item p50/p99
and worst latency, and verirl's ratios to Math-Verify.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.math_cases import Case, labelled


@dataclass
class Run:
    name: str
    verdicts: list[bool]
    seconds: list[float]  # per item, the best over repeats

    def report(self, cases: list[Case]) -> dict[str, float]:
        labels = [c.expected for c in cases]
        agree = sum(v == e for v, e in zip(self.verdicts, labels, strict=True))
        false_pos = sum(v and not e for v, e in zip(self.verdicts, labels, strict=True))
        false_neg = sum(e and not v for v, e in zip(self.verdicts, labels, strict=True))
        ordered = sorted(self.seconds)
        return {
            "agreement": agree / len(cases),
            "false_positives": false_pos,
            "false_negatives": false_neg,
            "items_per_s": len(cases) / sum(self.seconds),
            "p50_ms": 1000 * statistics.median(ordered),
            "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
            "worst_ms": 1000 * ordered[-1],
        }


def _timed(name: str, cases: list[Case], check: Callable[[Case], bool], repeat: int) -> Run:
    verdicts: list[bool] = []
    best = [float("inf")] * len(cases)
    for _ in range(repeat):
        verdicts = []
        for i, case in enumerate(cases):
            start = time.perf_counter()
            verdicts.append(check(case))
            best[i] = min(best[i], time.perf_counter() - start)
    return Run(name, verdicts, best)


def run_verirl(cases: list[Case], repeat: int) -> Run:
    from rewards.math.scorer import MathScorer
    from rewards.schema import decode_sample

    samples = [
        decode_sample(
            {
                "id": str(i),
                "kind": "math",
                "response": c.response,
                "reference": {"answer": c.answer},
            }
            | ({"prompt": c.prompt} if c.prompt else {})
        )
        for i, c in enumerate(cases)
    ]
    by_case = {id(c): s for c, s in zip(cases, samples, strict=True)}
    verdicts, best = [], [float("inf")] * len(cases)
    for _ in range(repeat):
        # A fresh worker per repeat, so its parse cache never carries over between rounds.
        with MathScorer(processes=1) as scorer:
            scorer.score(samples[:1])  # warm the worker's lazy imports
            run = _timed("verirl", cases, lambda c: scorer.score([by_case[id(c)]])[0].correct, 1)
        verdicts = run.verdicts
        best = [min(a, b) for a, b in zip(best, run.seconds, strict=True)]
    return Run("verirl", verdicts, best)


def run_math_verify(cases: list[Case], repeat: int, wrap_gold: bool) -> Run:
    from math_verify import parse, verify

    def check(case: Case) -> bool:
        gold = parse(f"${case.answer}$" if wrap_gold else case.answer)
        return bool(verify(gold, parse(case.response)))

    name = "math-verify ($gold$)" if wrap_gold else "math-verify (raw gold)"
    return _timed(name, cases, check, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timing rounds; the best counts")
    parser.add_argument("--cores", default="0", help="CPU ids to pin to, comma separated")
    args = parser.parse_args()
    os.sched_setaffinity(0, {int(c) for c in args.cores.split(",")})
    cases = labelled()
    runs = [
        run_verirl(cases, args.repeat),
        run_math_verify(cases, args.repeat, wrap_gold=True),
        run_math_verify(cases, 1, wrap_gold=False),
    ]
    reports = {run.name: run.report(cases) for run in runs}
    print(f"{len(cases)} labelled cases ({sum(not c.expected for c in cases)} negatives), "
          f"cores {args.cores}, best of {args.repeat}")  # fmt: skip
    columns = ("agree", "FP", "FN", "items/s", "p50 ms", "p99 ms", "worst ms")
    widths = (7, 4, 4, 9, 8, 8, 9)
    print(f"{'system':24} " + " ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    for name, r in reports.items():
        print(
            f"{name:24} {r['agreement']:7.1%} {r['false_positives']:4d} {r['false_negatives']:4d} "
            f"{r['items_per_s']:9.1f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['worst_ms']:9.1f}"
        )
    ours, theirs = reports["verirl"], reports["math-verify ($gold$)"]
    print(f"verirl / math-verify: {ours['items_per_s'] / theirs['items_per_s']:.2f}x items/s")
    for run in runs[1:]:
        disagreements = [c for c, v in zip(cases, run.verdicts, strict=True) if v != c.expected]
        print(f"\n{run.name} disagrees with the labels on {len(disagreements)} cases, e.g.:")
        for c in disagreements[:8]:
            print(f"  [{c.category}] gold {c.answer!r}, label {c.expected}: {c.response[:60]!r}")


if __name__ == "__main__":
    main()
