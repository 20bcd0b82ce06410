"""Agreement with a suite we did not write: Math-Verify's own regression cases.

    python -m bench.math_peer [--show all|disagree|none]

Reads ``../shared/peer-suites/math-verify-regression.jsonl`` (254 ``(gold, pred,
mv_expected)`` cases from huggingface/Math-Verify's parametrized tests). Each gold is
reduced to its last ``\\boxed{}`` or stripped of ``$…$`` (golds there are often whole
solutions or wrapped in dollars; verirl's contract takes the answer itself), the pred is
graded as a whole response through ``MathScorer`` (the server's path).

Reported: agreement with ``mv_expected`` on all cases, on the cases Math-Verify expects
correct and wrong, and on the cases where verirl does not differ on purpose (the
deliberate differences are listed in :data:`DELIBERATE` with their reasons, and in
docs/math.md); and Math-Verify's own agreement on the same cases, run here (its tests pass
options such as ``precision`` that a default call does not).
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from pathlib import Path

from rewards.math.extract import extract_answer, find_boxes
from rewards.math.normalize import strip_delimiters

SUITE = Path(__file__).resolve().parents[2] / "shared" / "peer-suites" / "math-verify-regression.jsonl"

# id → why verirl answers otherwise on purpose. Each one is a rule of this checker that a
# case of the suite contradicts; docs/math.md explains them.
_COMMA = "decimal comma: a comma separates thousands or list items, never decimals"
_NEWLINE = "a math span after 'Answer' may hold newlines (Math-Verify stops at one)"
_PRECISION = "precision rule: 6 significant digits against 1/3, 8/3 (the suite passes precision=2)"
_PROSE = "a number followed by words that are not units is no answer ('5 million' is not 5)"
_DENIED = "a clause that holds a denial ('not it's not 10 it's …') gives no answer"
_MEMBER = "a list never matches one of its members: a policy would list candidates"
_SET_TUPLE = "a set never equals a tuple: '{1,3}' is a set, (1,3) a point or interval"
_SET_REL = "an inequality always equals its solution set (suite: allow_set_relation_comp=False)"
_NAMES = "a different variable is a different answer: f(y) is not f(x) (suite: strict=False)"
DELIBERATE: dict[str, str] = {
    "mv-005": _COMMA,
    "mv-006": _COMMA,
    "mv-007": _COMMA,
    "mv-017": _COMMA,
    "mv-031": _NEWLINE,
    "mv-032": _NEWLINE,
    "mv-133": _PRECISION,
    "mv-139": _PRECISION,
    "mv-142": _PROSE,
    "mv-156": _PROSE,
    "mv-016": _DENIED,
    "mv-182": _MEMBER,
    "mv-190": _MEMBER,
    "mv-206": _MEMBER,
    "mv-223": _MEMBER,
    "mv-250": _MEMBER,
    "mv-162": _SET_TUPLE,
    "mv-187": _SET_REL,
    "mv-217": _NAMES,
    "mv-253": _NAMES,
}


@dataclass(frozen=True)
class PeerCase:
    id: str
    source: str
    gold: str
    pred: str
    expected: bool
    options: dict


def load(path: Path = SUITE) -> list[PeerCase]:
    cases = []
    for line in path.read_text().splitlines():
        row = json.loads(line)
        cases.append(
            PeerCase(
                row["id"], row["source"], row["gold"], row["pred"], row["mv_expected"], row["mv_options"]
            )
        )
    return cases


def reduce_gold(gold: str) -> str:
    """The answer in a gold as written in the suite: its last box, else without ``$…$``."""
    boxes = find_boxes(gold)
    if boxes:
        return boxes[-1][2]
    stripped = strip_delimiters(gold)
    if len(stripped) > 80:  # a whole solution without a box: its stated final answer
        found = extract_answer(stripped)
        return found.text if found else stripped
    return stripped


def run_verirl(cases: list[PeerCase]) -> list[bool]:
    from rewards.math.scorer import MathScorer
    from rewards.schema import decode_sample

    samples = [
        decode_sample(
            {"id": c.id, "kind": "math", "response": c.pred, "reference": {"answer": reduce_gold(c.gold)}}
        )
        for c in cases
    ]
    with MathScorer(processes=1, budget_s=5.0) as scorer:
        return [r.correct for r in scorer.score(samples)]


def run_math_verify(cases: list[PeerCase]) -> list[bool]:
    from math_verify import parse, verify

    verdicts = []
    for case in cases:
        kwargs = {}
        if "precision" in case.options:
            kwargs["float_rounding"] = case.options["precision"]
        if "strict" in case.options:
            kwargs["strict"] = case.options["strict"]
        if "allow_set_relation_comp" in case.options:
            kwargs["allow_set_relation_comp"] = case.options["allow_set_relation_comp"]
        try:
            verdicts.append(bool(verify(parse(case.gold), parse(case.pred), **kwargs)))
        except Exception:
            verdicts.append(False)
    return verdicts


def _share(hits: int, total: int) -> str:
    return f"{hits}/{total} ({hits / total:.1%})" if total else "0/0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", choices=("all", "disagree", "none"), default="disagree")
    parser.add_argument("--no-math-verify", action="store_true")
    args = parser.parse_args()
    cases = load()
    ours = run_verirl(cases)
    theirs = None if args.no_math_verify else run_math_verify(cases)
    positives = [i for i, c in enumerate(cases) if c.expected]
    negatives = [i for i, c in enumerate(cases) if not c.expected]
    plain = [i for i, c in enumerate(cases) if c.id not in DELIBERATE]
    counts = f"{len(positives)} expected correct, {len(negatives)} wrong"
    print(f"{len(cases)} Math-Verify regression cases ({counts})")
    print(f"{'system':22} {'all':>16} {'expected correct':>18} {'expected wrong':>16} {'not deliberate':>18}")
    for name, verdicts in (("verirl", ours), ("math-verify", theirs)):
        if verdicts is None:
            continue

        def agree(indices: list[int], verdicts: list[bool] = verdicts) -> str:
            return _share(sum(verdicts[i] == cases[i].expected for i in indices), len(indices))

        print(
            f"{name:22} {agree(list(range(len(cases)))):>16} {agree(positives):>18} "
            f"{agree(negatives):>16} {agree(plain):>18}"
        )
    false_positives = [c.id for c, v in zip(cases, ours, strict=True) if v and not c.expected]
    print(f"verirl accepts {len(false_positives)} case(s) Math-Verify expects wrong: {false_positives}")
    print(f"deliberate differences: {len(DELIBERATE)} (docs/math.md)")
    if args.show == "none":
        return
    for case, verdict in zip(cases, ours, strict=True):
        if args.show == "disagree" and (verdict == case.expected or case.id in DELIBERATE):
            continue
        gold = re.sub(r"\s+", " ", reduce_gold(case.gold))[:60]
        pred = re.sub(r"\s+", " ", case.pred)[-70:]
        note = f"  [deliberate: {DELIBERATE[case.id]}]" if case.id in DELIBERATE else ""
        print(
            f"  {case.id} expected {case.expected!s:5} got {verdict!s:5} gold {gold!r} pred …{pred!r}{note}"
        )


if __name__ == "__main__":
    main()
