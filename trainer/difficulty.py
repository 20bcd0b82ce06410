"""Grade problems by how often a model solves them: ``verirl difficulty``.

    verirl difficulty --model M --data train.jsonl --samples 10 --temperature 1.0 --output graded.jsonl

Kimi k1.5 (section 2.3.3) rates a problem's difficulty by the pass rate of an SFT model
sampled about ten times at a high temperature. Here each problem gets ``--samples``
responses, scored by the reward server in whole groups (so group-level terms see every
response of a problem), and is written back with ``pass_rate`` and a ``difficulty`` level:
with bucket edges e₁ < … < e_k (``--edges 0.2,0.5,0.8``), level = 1 + the number of edges
above the pass rate, so level 1 is the easiest. A level the problem had before (a
generator's guess) is kept in ``metadata.difficulty_before``; the grading itself is in
``metadata.graded`` (samples, correct, model). Samples the server could not score
(``internal_error``, ``invalid_input``) are left out of the pass rate.

Resumable: every graded chunk is appended to ``OUTPUT.progress.jsonl``; a rerun skips the
problems found graded there or in OUTPUT. The levels are printed as a histogram and drawn
to a PNG.
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from rewards.schema import Status
from trainer.problems import Problem, parse_problem, read_problems, write_problems
from trainer.recipe_config import DifficultyConfig

NO_SIGNAL = {Status.INTERNAL_ERROR, Status.INVALID_INPUT}
_LEVEL_TAG = re.compile(r"^[\w-]+/L\d+$")


def level_of(pass_rate: float, edges: list[float]) -> int:
    """1 + how many edges lie strictly above ``pass_rate`` (higher level: harder)."""
    return 1 + sum(edge > pass_rate for edge in edges)


def graded_problem(problem: Problem, correct: int, scored: int, cfg: DifficultyConfig) -> Problem:
    """The problem with its measured pass rate and level (unchanged when nothing was scored)."""
    metadata = dict(problem.metadata)
    metadata["graded"] = {"samples": scored, "correct": correct, "model": cfg.model}
    if not scored:
        return replace(problem, metadata=metadata)
    rate = correct / scored
    level = level_of(rate, cfg.edges)
    if problem.difficulty is not None and "difficulty_before" not in metadata:
        metadata["difficulty_before"] = problem.difficulty
    tags = problem.tags
    if cfg.tag:  # first, so that the mixture sampler takes it as the problem's domain
        tags = (f"{problem.kind}/L{level}", *(t for t in tags if not _LEVEL_TAG.match(t)))
    return replace(problem, pass_rate=rate, difficulty=level, tags=tags, metadata=metadata)


def grade_chunk(problems: list[Problem], model: Any, tokenizer: Any, channel: Any, cfg: DifficultyConfig):
    """(correct, scored) per problem: ``cfg.samples`` responses each, scored group by group."""
    from trainer.policy import HFGenerator, render_prompt

    generator = HFGenerator(model, tokenizer, cfg.max_new_tokens, cfg.temperature, batch_size=cfg.batch_size)
    groups = generator.generate([render_prompt(tokenizer, p.prompt) for p in problems], cfg.samples)
    run = uuid.uuid4().hex[:8]
    requests = [
        p.sample(f"{run}-{i}-{j}", r.text, f"{run}-{i}", len(r.response_ids))
        for i, (p, group) in enumerate(zip(problems, groups, strict=True))
        for j, r in enumerate(group)
    ]
    (results,), _ = channel.wait([channel.submit(requests, step=None, spec=None)])
    out = []
    for i in range(len(problems)):
        mine = [r for r in results[i * cfg.samples : (i + 1) * cfg.samples] if r.status not in NO_SIGNAL]
        out.append((sum(r.correct for r in mine), len(mine)))
    return out


def _already_graded(*paths: Path) -> dict[str, Problem]:
    done: dict[str, Problem] = {}
    for path in paths:
        if not path.exists():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                problem = parse_problem(json.loads(line), f"{path}:{number}")
            except (ValueError, json.JSONDecodeError):
                continue  # a line cut by an interrupted write: grade that problem again
            if "graded" in problem.metadata:
                done[problem.id] = problem
    return done


def histogram(problems: list[Problem], edges: list[float]) -> dict[str, Any]:
    levels = Counter(p.difficulty for p in problems if p.pass_rate is not None)
    rates = [p.pass_rate for p in problems if p.pass_rate is not None]
    return {
        "graded": len(rates),
        "ungraded": len(problems) - len(rates),
        "mean_pass_rate": round(sum(rates) / len(rates), 4) if rates else None,
        "levels": {str(level): levels.get(level, 0) for level in range(1, len(edges) + 2)},
        "edges": edges,
    }


def _print_histogram(summary: dict[str, Any]) -> None:
    width = max(summary["levels"].values() or [1]) or 1
    for level, count in summary["levels"].items():
        print(f"level {level}: {count:6d} {'#' * round(40 * count / width)}", file=sys.stderr)


def draw_histogram(problems: list[Problem], edges: list[float], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = [p.pass_rate for p in problems if p.pass_rate is not None]
    levels = Counter(p.difficulty for p in problems if p.pass_rate is not None)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.hist(rates, bins=20, range=(0, 1), color="tab:blue")
    for edge in edges:
        left.axvline(edge, color="tab:red", linestyle="--", linewidth=1)
    left.set(xlabel="pass rate", ylabel="problems", title="pass rates (dashed: bucket edges)")
    names = list(range(1, len(edges) + 2))
    right.bar([str(n) for n in names], [levels.get(n, 0) for n in names], color="tab:orange")
    right.set(xlabel="difficulty level (1 = easiest)", ylabel="problems", title="levels")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(cfg: DifficultyConfig) -> int:
    import contextlib

    import torch
    from transformers.utils import logging as hf_logging

    from trainer.policy import load_policy
    from trainer.reward_channel import RewardChannel, local_server

    hf_logging.disable_progress_bar()
    if not cfg.data:
        raise SystemExit("verirl difficulty: --data is required")
    if list(cfg.edges) != sorted(cfg.edges) or not all(0 < e < 1 for e in cfg.edges):
        raise SystemExit("verirl difficulty: --edges must be increasing, each in (0, 1)")
    if cfg.samples < 1:
        raise SystemExit("verirl difficulty: --samples must be at least 1")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    output = Path(cfg.output or re.sub(r"(\.jsonl)?$", ".graded.jsonl", cfg.data, count=1))
    progress = output.with_name(output.name + ".progress.jsonl")
    problems = read_problems(cfg.data)[: cfg.limit]
    done = _already_graded(output, progress)
    done.update({p.id: p for p in problems if "graded" in p.metadata})
    todo = [p for p in problems if p.id not in done]
    print(f"verirl difficulty: {len(done)} already graded, {len(todo)} to grade", file=sys.stderr)
    if todo:
        torch.manual_seed(cfg.seed)
        model, tokenizer = load_policy(cfg.model)
        model.eval()
        sandbox = any(p.kind == "code" for p in todo)
        server = (
            contextlib.nullcontext(cfg.server)
            if cfg.server
            else local_server(cfg.server_config, sandbox=sandbox)
        )
        progress.parent.mkdir(parents=True, exist_ok=True)
        with server as target, RewardChannel(target) as channel:
            for start in range(0, len(todo), cfg.chunk):
                chunk = todo[start : start + cfg.chunk]
                graded = [
                    graded_problem(p, c, n, cfg)
                    for p, (c, n) in zip(
                        chunk, grade_chunk(chunk, model, tokenizer, channel, cfg), strict=True
                    )
                ]
                with open(progress, "a", encoding="utf-8") as stream:
                    for p in graded:
                        stream.write(json.dumps(p.to_dict()) + "\n")
                        done[p.id] = p
                print(f"verirl difficulty: {len(done)}/{len(problems)} graded", file=sys.stderr)
    final = [done.get(p.id, p) for p in problems]
    write_problems(final, output)
    progress.unlink(missing_ok=True)
    summary = histogram(final, list(cfg.edges))
    picture = draw_histogram(final, list(cfg.edges), Path(cfg.histogram or f"{output}.png"))
    _print_histogram(summary)
    print(json.dumps({"output": str(output), "histogram_png": str(picture), **summary}))
    return 0


def main(argv: list[str] | None = None) -> int:
    from trainer.settings import parse

    return run(parse(DifficultyConfig, argv, description="grade problems by a model's pass rate"))


if __name__ == "__main__":
    raise SystemExit(main())
