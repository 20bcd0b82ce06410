"""Rejection sampling for SFT data: ``verirl sample``.

    verirl sample --model M --data train.jsonl --samples 8 --keep shortest --output sft.jsonl

Draws ``--samples`` responses per problem, has the reward server verify each (whole
groups), and keeps only the verified ones as ``{"id", "prompt", "response",
"response_tokens"}`` lines — ReFT's and Kimi k1.5's way to build SFT data from a model's
own correct answers. ``--keep shortest`` keeps one response per problem, the shortest
verified one in tokens (Kimi's shortest rejection sampling, for long2short). The yield
report gives how many responses were verified and how many problems got at least one.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

from rewards.schema import Status
from trainer.problems import Problem, read_problems
from trainer.recipe_config import SampleConfig

NO_SIGNAL = {Status.INTERNAL_ERROR, Status.INVALID_INPUT}
KEEP = ("all", "shortest")


def rejection_sample(
    problems: list[Problem], model: Any, tokenizer: Any, channel: Any, cfg: SampleConfig
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(kept rows, yield report)."""
    from trainer.policy import HFGenerator, render_prompt

    if cfg.keep not in KEEP:
        raise ValueError(f"--keep must be one of {KEEP}")
    generator = HFGenerator(model, tokenizer, cfg.max_new_tokens, cfg.temperature, batch_size=cfg.batch_size)
    run = uuid.uuid4().hex[:8]
    rows: list[dict[str, Any]] = []
    verified = failed = drawn = solved = 0
    per_call = max(1, cfg.batch_size // cfg.samples)
    for start in range(0, len(problems), per_call):
        chunk = problems[start : start + per_call]
        groups = generator.generate([render_prompt(tokenizer, p.prompt) for p in chunk], cfg.samples)
        requests = [
            p.sample(f"{run}-{start + i}-{j}", r.text, f"{run}-{start + i}", len(r.response_ids))
            for i, (p, group) in enumerate(zip(chunk, groups, strict=True))
            for j, r in enumerate(group)
        ]
        (results,), _ = channel.wait([channel.submit(requests, step=None, spec=None)])
        for i, (problem, group) in enumerate(zip(chunk, groups, strict=True)):
            scored = results[i * cfg.samples : (i + 1) * cfg.samples]
            drawn += len(group)
            failed += sum(r.status in NO_SIGNAL for r in scored)
            good = [roll for roll, res in zip(group, scored, strict=True) if res.correct]
            verified += len(good)
            solved += bool(good)
            if cfg.keep == "shortest" and good:
                good = [min(good, key=lambda roll: len(roll.response_ids))]  # first of the shortest
            rows.extend(
                {
                    "id": problem.id,
                    "prompt": problem.prompt,
                    "response": roll.text,
                    "response_tokens": len(roll.response_ids),
                }
                for roll in good
            )
    report = {
        "problems": len(problems),
        "responses": drawn,
        "verified": verified,
        "unscored": failed,
        "yield": round(verified / max(1, drawn), 4),
        "problems_solved": solved,
        "coverage": round(solved / max(1, len(problems)), 4),
        "kept": len(rows),
        "keep": cfg.keep,
    }
    return rows, report


def run(cfg: SampleConfig) -> int:
    import contextlib

    import torch
    from transformers.utils import logging as hf_logging

    from trainer.policy import load_policy
    from trainer.reward_channel import RewardChannel, local_server

    hf_logging.disable_progress_bar()
    if not (cfg.data and cfg.output):
        raise SystemExit("verirl sample: --data and --output are required")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    problems = read_problems(cfg.data)[: cfg.limit]
    torch.manual_seed(cfg.seed)
    model, tokenizer = load_policy(cfg.model)
    model.eval()
    sandbox = any(p.kind == "code" for p in problems)
    server = (
        contextlib.nullcontext(cfg.server) if cfg.server else local_server(cfg.server_config, sandbox=sandbox)
    )
    with server as target, RewardChannel(target) as channel:
        rows, report = rejection_sample(problems, model, tokenizer, channel, cfg)
    Path(cfg.output).parent.mkdir(parents=True, exist_ok=True)
    with open(cfg.output, "w", encoding="utf-8") as stream:
        for row in rows:
            stream.write(json.dumps(row) + "\n")
    Path(cfg.output + ".report.json").write_text(json.dumps(report, indent=1))
    print(json.dumps({"output": cfg.output, **report}))
    return 0


def main(argv: list[str] | None = None) -> int:
    from trainer.settings import parse

    return run(parse(SampleConfig, argv, description="rejection sampling: keep verified responses"))


if __name__ == "__main__":
    sys.exit(main())
