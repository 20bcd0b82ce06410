"""Drop problems that reward hacking exploits or that cannot be verified: ``verirl filter``.

    verirl filter --data F --output KEPT --rejects REJECTED [--heldout H] [--model M]

Kimi k1.5 (section 2.1) leaves out of RL the questions a policy can get right without
solving them, and those the reward cannot check. Rules, each counted in the report
(``rules_fired``: a problem can fire several) and written with its reasons to the rejects:

* ``multiple_choice`` — lettered options (``(A) … (B) …``, or ``A.``/``A)`` opening lines), "which
  of the following", numbered options at line starts when the question asks to choose or the
  gold is one of the option numbers, and golds that are a lone choice letter;
* ``true_false`` — golds true/false/yes/no, or prompts asking for one ("true or false",
  "answer yes or no");
* ``proof`` — "prove", "show that", "demonstrate that" as instructions;
* ``unverifiable`` — a math gold the checker parses to nothing (``rewards.math.parse``
  returns ``Unparsed``: it would only ever equal the identical text), parsed in a
  time-bounded worker; a code problem whose own ``metadata.canonical_solution``, sent to the
  server, fails its tests;
* ``heldout_duplicate`` — the same text as a held-out problem once normalised (case, spacing,
  punctuation), or a near duplicate: the same numbers in the same order and a word-bigram
  Jaccard similarity of at least ``--similarity``;
* ``guessable`` (with ``--model``) — the model, asked for the answer alone in a few tokens,
  is right in any of ``--guesses`` tries (8, the report's choice).

The text rules run first; the server-side ones (code solutions, guesses) only on the
problems the text rules kept, since they cost generation and sandbox time.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import unicodedata
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from trainer.problems import Problem, read_problems
from trainer.recipe_config import FilterConfig

RULES = ("multiple_choice", "true_false", "proof", "unverifiable", "heldout_duplicate", "guessable")

GUESS_SUFFIX = "\nGive only the final answer, with no explanation."
PARSE_BUDGET_S = 5.0

# --------------------------------------------------------------------------- question types

_WHICH_OF = re.compile(r"\bwhich\s+(?:one\s+)?of\s+the\s+(?:following|options|choices|answers)\b", re.I)
# "(A) 3 (B) 4": two consecutive capital letters in parentheses; capitals only, so "(a)" and
# "(b)" parts of a question are not options
_PAREN_LETTERS = re.compile(r"\(A\)[^()]*?\(B\)")
_LINE_LETTER = re.compile(r"(?m)^\s*\(?([A-E])[.)]\s+\S")
_LINE_NUMBER = re.compile(r"(?m)^\s*\(?([1-9])[.)]\s+\S")
_CHOOSE = re.compile(r"\b(?:choose|select|pick|which|option|options|choices)\b", re.I)
_TF_GOLD = {"true", "false", "yes", "no", "t", "f", "correct", "incorrect"}
_TF_PROMPT = re.compile(
    r"\btrue\s+or\s+false\b|\btrue\s*/\s*false\b|\byes\s+or\s+no\b|\byes\s*/\s*no\b|\(\s*yes\s*/\s*no\s*\)",
    re.I,
)
# an instruction to prove: at the start of a sentence or clause, not "the show that night"
_PROOF = re.compile(
    r"(?:^|[.;:!?]\s+|\n|,\s*|\b(?:and|then|also)\s+)(?:prove|show|demonstrate|verify)\s+(?:that|why)\b"
    r"|(?:^|[.;:!?]\s+|\n)prove\b|\b(?:give|write|provide)\s+an?\s+(?:\w+\s+)?proof\b",
    re.I,
)


def _consecutive_from_start(markers: list[str], first: str) -> bool:
    seen = sorted(set(markers))
    return len(seen) >= 2 and seen[0] == first and ord(seen[1]) == ord(first) + 1


def multiple_choice(problem: Problem) -> str | None:
    text = problem.prompt
    if _WHICH_OF.search(text):
        return "asks 'which of the following'"
    if _PAREN_LETTERS.search(text):
        return "lettered options (A), (B)"
    if _consecutive_from_start(_LINE_LETTER.findall(text), "A"):
        return "lettered options at line starts"
    numbers = _LINE_NUMBER.findall(text)
    gold = _gold(problem)
    if _consecutive_from_start(numbers, "1") and (_CHOOSE.search(text) or gold in numbers):
        return "numbered options and a question to choose"
    if gold is not None and re.fullmatch(r"\(?[A-E]\)?", gold) and re.search(r"\b[A-E][.)]|\([A-E]\)", text):
        return "the gold is an option letter"
    return None


def true_false(problem: Problem) -> str | None:
    gold = _gold(problem)
    if gold is not None and _plain(gold) in _TF_GOLD:
        return f"the gold is {gold!r}"
    if _TF_PROMPT.search(problem.prompt):
        return "asks for true/false or yes/no"
    return None


def proof(problem: Problem) -> str | None:
    match = _PROOF.search(problem.prompt)
    return f"asks for a proof ({match.group(0).strip()!r})" if match else None


def _gold(problem: Problem) -> str | None:
    answer = problem.reference.get("answer") if problem.kind == "math" else None
    return answer.strip() if isinstance(answer, str) else None


def _plain(text: str) -> str:
    text = re.sub(r"\\text\{([^{}]*)\}|\\textbf\{([^{}]*)\}", lambda m: m.group(1) or m.group(2), text)
    return re.sub(r"[^a-z]", "", text.lower())


# --------------------------------------------------------------------------- references


def gold_value_kind(answer: str) -> tuple[str, str]:
    """(type name of the parsed gold, the reason when it is ``Unparsed``). Runs in a worker
    process: parsing is unbounded on hostile input."""
    from rewards.math.normalize import normalize
    from rewards.math.parse import Unparsed, parse_value

    value = parse_value(normalize(answer)[0])
    return type(value).__name__, value.reason if isinstance(value, Unparsed) else ""


def unverifiable_golds(problems: list[Problem], budget_s: float = PARSE_BUDGET_S) -> dict[str, str]:
    """id → why, for every math problem whose gold the checker cannot parse."""
    from rewards.workers import WorkerPool

    math = [p for p in problems if p.kind == "math"]
    if not math:
        return {}
    out: dict[str, str] = {}
    # the parser is imported in the fork server, so no task pays for importing sympy
    preload = ("rewards.math.normalize", "rewards.math.parse")
    with WorkerPool("trainer.filters:gold_value_kind", processes=1, preload=preload) as pool:
        outcomes = pool.map([(str(p.reference.get("answer", "")),) for p in math], budget_s=budget_s)
    for problem, outcome in zip(math, outcomes, strict=True):
        if outcome.timed_out:
            out[problem.id] = f"the gold does not parse within {budget_s:g} s"
        elif outcome.error:
            out[problem.id] = f"parsing the gold failed: {outcome.error[:120]}"
        elif outcome.value[0] == "Unparsed":
            out[problem.id] = f"the checker cannot parse the gold ({outcome.value[1]})"
    return out


def _solution_response(problem: Problem) -> str | None:
    solution = problem.metadata.get("canonical_solution") if problem.metadata else None
    if not isinstance(solution, str) or not solution.strip():
        return None
    language = str(problem.reference.get("language", "python"))
    return f"```{language}\n{solution}\n```"


def failing_solutions(problems: list[Problem], channel: Any) -> dict[str, str]:
    """id → why, for code problems whose own canonical solution the server does not accept."""
    checked = [(p, r) for p in problems if p.kind == "code" for r in [_solution_response(p)] if r]
    if not checked:
        return {}
    run = uuid.uuid4().hex[:8]
    requests = [p.sample(f"{run}-{n}", r, f"{run}-{n}", 0) for n, (p, r) in enumerate(checked)]
    (results,), _ = channel.wait([channel.submit(requests, step=None, spec=None)])
    return {
        p.id: f"its canonical solution gets {res.status.value}: {res.message[:160]}"
        for (p, _), res in zip(checked, results, strict=True)
        if not res.correct
    }


# --------------------------------------------------------------------------- held-out duplicates

_TOKEN = re.compile(r"[a-z]+|\d+(?:\.\d+)?|[+\-*/=^<>×÷]")


# "Put the final answer in \boxed{}.": a format instruction, not part of the question
_FORMAT_SENTENCE = re.compile(r"[^.?!\n]*\\boxed\{\}[^.?!\n]*[.?!]?")


def normalise_text(text: str) -> list[str]:
    """Lower-case words, numbers and operators: what two wordings of one question share."""
    text = unicodedata.normalize("NFKC", _FORMAT_SENTENCE.sub(" ", text)).lower()
    text = text.replace("\\times", "×").replace("\\cdot", "×").replace("\\div", "÷")
    return _TOKEN.findall(text)


def _shingles(tokens: list[str]) -> set[tuple[str, str]]:
    words = ["#" if t[0].isdigit() else t for t in tokens]
    return set(itertools.pairwise(words)) or {(w, "") for w in words}


class HeldoutIndex:
    """Held-out problems indexed by their numbers, so each training problem is compared only
    with held-out problems that use the same numbers in the same order."""

    def __init__(self, problems: list[Problem], similarity: float) -> None:
        self.similarity = similarity
        self.exact: dict[tuple[str, ...], str] = {}
        self.by_numbers: dict[tuple[str, ...], list[tuple[str, set]]] = {}
        for p in problems:
            tokens = normalise_text(p.prompt)
            self.exact.setdefault(tuple(tokens), p.id)
            numbers = tuple(t for t in tokens if t[0].isdigit())
            self.by_numbers.setdefault(numbers, []).append((p.id, _shingles(tokens)))

    def match(self, problem: Problem) -> str | None:
        tokens = normalise_text(problem.prompt)
        if tuple(tokens) in self.exact:
            return f"the same text as held-out {self.exact[tuple(tokens)]!r}"
        mine = _shingles(tokens)
        for other_id, theirs in self.by_numbers.get(tuple(t for t in tokens if t[0].isdigit()), []):
            score = len(mine & theirs) / max(1, len(mine | theirs))
            if score >= self.similarity:
                return f"a near duplicate of held-out {other_id!r} (similarity {score:.2f})"
        return None


# --------------------------------------------------------------------------- guessing


def guessed(
    problems: list[Problem], model: Any, tokenizer: Any, channel: Any, cfg: FilterConfig
) -> dict[str, str]:
    """id → why, for problems the model answers right in any of ``cfg.guesses`` direct answers."""
    from trainer.policy import HFGenerator, render_prompt

    if not problems:
        return {}
    generator = HFGenerator(model, tokenizer, cfg.guess_tokens, cfg.temperature, batch_size=cfg.batch_size)
    prompts = [render_prompt(tokenizer, p.prompt + GUESS_SUFFIX) for p in problems]
    run = uuid.uuid4().hex[:8]
    groups = generator.generate(prompts, cfg.guesses)
    requests = [
        p.sample(f"{run}-{i}-{j}", r.text, f"{run}-{i}", len(r.response_ids))
        for i, (p, group) in enumerate(zip(problems, groups, strict=True))
        for j, r in enumerate(group)
    ]
    (results,), _ = channel.wait([channel.submit(requests, step=None, spec=None)])
    out = {}
    for i, problem in enumerate(problems):
        right = [r for r in results[i * cfg.guesses : (i + 1) * cfg.guesses] if r.correct]
        if right:
            out[problem.id] = f"guessed right in {len(right)} of {cfg.guesses} direct answers"
    return out


# --------------------------------------------------------------------------- the command

TEXT_RULES = {"multiple_choice": multiple_choice, "true_false": true_false, "proof": proof}


def filter_problems(
    problems: list[Problem],
    cfg: FilterConfig,
    channel: Any = None,
    policy: tuple[Any, Any] | None = None,
) -> tuple[list[Problem], dict[str, list[str]], dict[str, int]]:
    """(kept, id → reasons for the dropped, rule → how many problems it fired on)."""
    rules = set(cfg.rules or RULES)
    unknown = sorted(rules - set(RULES))
    if unknown:
        raise ValueError(f"--rules: unknown {unknown}; the rules are {', '.join(RULES)}")
    reasons: dict[str, list[str]] = {}

    def drop(rule: str, found: dict[str, str]) -> None:
        for pid, why in found.items():
            reasons.setdefault(pid, []).append(f"{rule}: {why}")

    for rule, check in TEXT_RULES.items():
        if rule in rules:
            drop(rule, {p.id: why for p in problems for why in [check(p)] if why})
    if "unverifiable" in rules:
        drop("unverifiable", unverifiable_golds(problems))
    if "heldout_duplicate" in rules and cfg.heldout:
        index = HeldoutIndex([h for path in cfg.heldout for h in read_problems(path)], cfg.similarity)
        drop("heldout_duplicate", {p.id: why for p in problems for why in [index.match(p)] if why})
    survivors = [p for p in problems if p.id not in reasons]
    if "unverifiable" in rules and channel is not None:
        drop("unverifiable", failing_solutions(survivors, channel))
        survivors = [p for p in survivors if p.id not in reasons]
    if "guessable" in rules and policy is not None:
        # a program cannot be guessed in a few tokens: only answers can
        drop("guessable", guessed([p for p in survivors if p.kind == "math"], *policy, channel, cfg))
    counts = Counter(why.split(":", 1)[0] for whys in reasons.values() for why in whys)
    kept = [p for p in problems if p.id not in reasons]
    return kept, reasons, {rule: counts.get(rule, 0) for rule in RULES if rule in rules}


def run(cfg: FilterConfig) -> int:
    """``verirl filter``: write the kept problems and the rejects; print the report."""
    import contextlib

    from trainer.problems import write_problems
    from trainer.reward_channel import RewardChannel, local_server

    if not (cfg.data and cfg.output and cfg.rejects):
        raise SystemExit("verirl filter: --data, --output and --rejects are required")
    problems = read_problems(cfg.data)
    needs_server = cfg.model is not None or any(_solution_response(p) for p in problems if p.kind == "code")
    policy = None
    if cfg.model:
        import torch

        from trainer.policy import load_policy

        torch.manual_seed(cfg.seed)
        policy = load_policy(cfg.model)
        policy[0].eval()
    sandbox = any(p.kind == "code" for p in problems)
    server = (
        contextlib.nullcontext(cfg.server)
        if cfg.server or not needs_server
        else local_server(cfg.server_config, sandbox=sandbox)
    )
    with server as target:
        channel = RewardChannel(target) if target else None
        try:
            kept, reasons, counts = filter_problems(problems, cfg, channel, policy)
        finally:
            if channel is not None:
                channel.close()
    write_problems(kept, cfg.output)
    Path(cfg.rejects).parent.mkdir(parents=True, exist_ok=True)
    with open(cfg.rejects, "w", encoding="utf-8") as stream:
        for p in problems:
            if p.id in reasons:
                stream.write(json.dumps({**p.to_dict(), "reasons": reasons[p.id]}) + "\n")
    report = {
        "problems": len(problems),
        "kept": len(kept),
        "dropped": len(reasons),
        "rules_fired": counts,
        "skipped": [r for r in ("guessable",) if r in (cfg.rules or RULES) and not cfg.model],
    }
    print(json.dumps(report))
    return 0


def main(argv: list[str] | None = None) -> int:
    from trainer.settings import parse

    return run(parse(FilterConfig, argv, description="drop unverifiable, guessable and held-out problems"))


if __name__ == "__main__":
    sys.exit(main())
