"""Held-out accuracy with rewards from the server: ``verirl eval``.

    verirl eval --model M --data heldout.jsonl [--samples 4] [--server HOST:PORT] --output results.jsonl

Reports pass@1 of the greedy answer and, with ``--samples n``, the mean accuracy over n
sampled answers per problem; writes one line per problem (its greedy response, status and
the sampled answers' accuracy). The trainer calls :func:`evaluate` every ``eval_every``
steps on its held-out file.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

from trainer.config import EvalConfig
from trainer.policy import HFGenerator, render_prompt
from trainer.problems import Problem, read_problems
from trainer.reward_channel import RewardChannel, local_server
from trainer.settings import parse


def evaluate(
    model: Any,
    tokenizer: Any,
    problems: list[Problem],
    channel: RewardChannel,
    samples: int = 0,
    max_new_tokens: int = 64,
    temperature: float = 1.0,
    batch_size: int = 64,
) -> dict[str, Any]:
    """``{"accuracy": greedy pass@1, "accuracy_sampled": mean over samples (or None),
    "problems": [...per-problem...]}``. Scored with the server's default spec and no step,
    whatever the channel's training spec: accuracy is correctness alone, and a group
    size set for training must not apply to evaluation's groups."""
    was_training = model.training
    model.eval()
    prompts = [render_prompt(tokenizer, p.prompt) for p in problems]
    run = uuid.uuid4().hex[:8]
    greedy = HFGenerator(model, tokenizer, max_new_tokens, batch_size=batch_size, greedy=True)
    rollouts = [g[0] for g in greedy.generate(prompts, 1)]
    requests = [
        p.sample(f"{run}-g{i}", r.text, f"{run}-g{i}", len(r.response_ids))
        for i, (p, r) in enumerate(zip(problems, rollouts, strict=True))
    ]
    pending = [channel.submit(requests, step=None, spec=None)]
    sampled_correct: list[list[bool]] = [[] for _ in problems]
    if samples:
        sampler = HFGenerator(model, tokenizer, max_new_tokens, temperature, batch_size=batch_size)
        groups = sampler.generate(prompts, samples)
        requests = [
            p.sample(f"{run}-s{i}-{j}", r.text, f"{run}-s{i}", len(r.response_ids))
            for i, (p, group) in enumerate(zip(problems, groups, strict=True))
            for j, r in enumerate(group)
        ]
        pending.append(channel.submit(requests, step=None, spec=None))
    results, _ = channel.wait(pending)
    if samples:
        for k, result in enumerate(results[1]):
            sampled_correct[k // samples].append(result.correct)
    model.train(was_training)
    per_problem = [
        {
            "id": p.id,
            "correct": r.correct,
            "status": r.status.value,
            "message": r.message,
            "response": roll.text,
            "response_tokens": len(roll.response_ids),
            **({"sampled_accuracy": sum(c) / len(c)} if c else {}),
        }
        for p, r, roll, c in zip(problems, results[0], rollouts, sampled_correct, strict=True)
    ]
    n = len(problems)
    return {
        "accuracy": sum(r["correct"] for r in per_problem) / n,
        "accuracy_sampled": (sum(sum(c) for c in sampled_correct) / (n * samples)) if samples else None,
        "mean_response_tokens": sum(r["response_tokens"] for r in per_problem) / n,
        "problems": per_problem,
    }


def run(cfg: EvalConfig) -> int:
    """``verirl eval``: print the accuracies as one JSON line; write per-problem results."""
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if not cfg.data:
        raise SystemExit("verirl eval: --data is required")
    from trainer.policy import load_policy

    torch.manual_seed(cfg.seed)
    problems = read_problems(cfg.data)[: cfg.limit]
    model, tokenizer = load_policy(cfg.model)
    with _server(cfg) as target, RewardChannel(target) as channel:
        report = evaluate(
            model,
            tokenizer,
            problems,
            channel,
            cfg.samples,
            cfg.max_new_tokens,
            cfg.temperature,
            cfg.batch_size,
        )
    if cfg.output:
        Path(cfg.output).parent.mkdir(parents=True, exist_ok=True)
        with open(cfg.output, "w", encoding="utf-8") as stream:
            for row in report["problems"]:
                stream.write(json.dumps(row) + "\n")
    summary = {k: v for k, v in report.items() if k != "problems"}
    print(
        json.dumps({"model": cfg.model, "data": cfg.data, "problems": len(problems), **summary}),
        file=sys.stdout,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(parse(EvalConfig, argv, description="held-out accuracy, rewards from a verirl server"))


def _server(cfg: EvalConfig):
    import contextlib

    return (
        contextlib.nullcontext(cfg.server) if cfg.server else local_server(cfg.server_config, sandbox=False)
    )


if __name__ == "__main__":
    raise SystemExit(main())
