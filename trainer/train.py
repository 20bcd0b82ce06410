"""Policy-gradient RL with verifiable rewards: ``verirl train`` (one file, top to bottom).

    verirl train --model smollm2 --data train.jsonl --heldout heldout.jsonl --loss kimi \\
        --samples-per-prompt 8 --steps 40 --output runs/kimi

Each step (Kimi k1.5 calls it an iteration i):

1. **rollout** — the sampler picks ``prompts_per_step`` problems; the policy π_θi samples k
   responses to each and keeps each token's log-probability (π_θi, from generation's logits).
2. **score** — every group of k goes to the reward server as soon as it is generated, while
   the next groups generate; samples whose status is ``internal_error`` or ``invalid_input``
   carry no signal and are left out (counted in the metrics, never trained on as zeros).
3. **advantage** — each reward against its own group: r_j − r̄ (Kimi, Dr. GRPO) or the
   group z-score (GRPO, DAPO). No value network.
4. **update** — ``minibatches`` optimizer steps per epoch, ``updates_per_step`` epochs, over
   this step's samples with the chosen loss from ``trainer/losses.py``; for Kimi the
   optimizer is reset at every iteration, as in the report.
5. **log** — ``RUN/metrics.jsonl``, a progress bar, held-out evaluation and checkpoints.

What is kept from Kimi k1.5 and what is not: the loss (Eq. 3, sequence log-probabilities,
mean or log-mean-exp baseline, squared log-ratio to π_θi with weight τ), several
off-policy updates per iteration, the optimizer reset and the length penalty (the server
composes it per group, switched on by the step after a warm-up) are kept. Not kept: the
partial rollouts and the long-context machinery of the report (responses here are short);
samples whose advantage is exactly zero are skipped in the update by default
(``skip_zero_advantage``), which drops their l2 term — on a CPU, where a step's update
costs as much as its generation, a group whose k rewards are equal is not worth its compute.

Data parallel: under ``torchrun --nproc_per_node N -m trainer``, every rank takes whole
groups (so the server's length penalty sees all k responses of a problem), gradients are
averaged across ranks with one all-reduce per optimizer step, and rank 0 logs and saves.
The all-reduce is done by hand rather than by the ``DistributedDataParallel`` wrapper: ranks
may leave out different numbers of failed samples and so run different numbers of
micro-batches, which DDP's per-backward hooks cannot allow.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from rewards.schema import Result, Status
from trainer.checkpoint import load_checkpoint, save_checkpoint
from trainer.config import TrainConfig
from trainer.evaluate import evaluate
from trainer.losses import LOSSES, group_advantages
from trainer.policy import HFGenerator, Rollout, load_policy, pack, render_prompt, token_logprobs
from trainer.problems import read_problems
from trainer.reward_channel import RewardChannel, local_server
from trainer.samplers import StepStats, make_sampler, refill_informative
from trainer.settings import parse

NO_SIGNAL = {Status.INTERNAL_ERROR, Status.INVALID_INPUT}


# --------------------------------------------------------------------------- helpers


def _setup_distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _all_reduce_grads(params: list[torch.nn.Parameter], world: int) -> None:
    """Average gradients across ranks in one flat all-reduce (what DDP does, without hooks)."""
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for p, g in zip(params, grads, strict=True):
        p.grad = flat[offset : offset + g.numel()].view_as(p).clone()
        offset += g.numel()


def _gather(obj: Any, world: int) -> list[Any]:
    if world == 1:
        return [obj]
    out: list[Any] = [None] * world
    dist.all_gather_object(out, obj)
    return out


def _spec(cfg: TrainConfig) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "correctness": cfg.correctness,
        "length_weight": cfg.length_weight,
        "length_warmup_step": cfg.length_warmup_step,
        "group_size": cfg.samples_per_prompt,
    }
    if cfg.format:
        spec.update(format=cfg.format, format_weight=cfg.format_weight)
    return spec


# --------------------------------------------------------------------------- the loop


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Run ``cfg.steps`` steps (from a checkpoint with ``resume``); returns the last metrics."""
    cfg.check()
    rank, world = _setup_distributed()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = torch.device(cfg.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    run_dir = Path(cfg.output)
    if rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    loss_spec = LOSSES[cfg.loss]
    baseline = cfg.baseline or loss_spec.baseline
    reset_optimizer = cfg.loss == "kimi" if cfg.reset_optimizer is None else cfg.reset_optimizer

    _seed_everything(cfg.seed)  # same on every rank: LoRA adapters start identical
    problems = read_problems(cfg.data)
    heldout = read_problems(cfg.heldout)[: cfg.eval_limit] if cfg.heldout else []
    model, tokenizer = load_policy(cfg.model, cfg.lora_rank, cfg.lora_alpha, device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    if world > 1:  # start from identical weights whatever each rank loaded
        for p in params:
            dist.broadcast(p.data, 0)

    def new_optimizer() -> torch.optim.Optimizer:
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)

    optimizer = new_optimizer()
    sampler = make_sampler(cfg.sampler, problems, cfg.prompts_per_step, cfg.seed, cfg)
    if cfg.dynamic_sampling and world > 1:
        raise ValueError(
            "--dynamic-sampling runs on one rank (ranks would refill different numbers of groups)"
        )
    generator = HFGenerator(
        model, tokenizer, cfg.max_new_tokens, cfg.temperature, cfg.top_p, tuple(cfg.stop), cfg.gen_batch_size
    )
    prompt_ids = {}  # rendered once per problem
    start_step, stats, train_s = 0, {}, 0.0  # train_s: seconds spent in steps (evaluation excluded)
    checkpoint_dir = run_dir / "checkpoint"
    if cfg.resume and (checkpoint_dir / "trainer_state.json").exists():
        state = load_checkpoint(checkpoint_dir, model, optimizer, sampler)
        start_step, stats = state["step"], {int(k): tuple(v) for k, v in state["stats"].items()}
        train_s = state.get("train_s", 0.0)
    if world > 1:  # ranks sample different responses (a resumed multi-rank run is not bit-exact)
        torch.manual_seed(cfg.seed + 7919 * rank + start_step)
    run_id = uuid.uuid4().hex[:8]  # group names never collide with an earlier run's on the same server

    needs_sandbox = any(p.kind == "code" for p in problems + heldout)
    server = (
        contextlib.nullcontext(cfg.server)
        if cfg.server
        else local_server(cfg.server_config, cfg.server_workers, sandbox=needs_sandbox)
    )
    metrics_file = run_dir / "metrics.jsonl"
    last: dict[str, Any] = {}
    with server as target, RewardChannel(target, spec=_spec(cfg)) as channel:
        bar = _progress(cfg, start_step, rank)
        if rank == 0 and heldout and start_step == 0 and cfg.eval_every:
            evaluation = _eval_metrics(model, tokenizer, heldout, channel, cfg, step=0, run_dir=run_dir)
            _log(metrics_file, {**evaluation, "train_s": 0.0})

        def roll_out(mine: list[int], prefix: str, step: int) -> tuple[list[list[Rollout]], list]:
            """Generate k responses per problem, chunk by chunk; each chunk's groups go to the
            server at once (scoring overlaps the next chunk's generation)."""
            per_call = max(1, cfg.gen_batch_size // cfg.samples_per_prompt)
            groups: list[list[Rollout]] = []
            pending = []
            for start in range(0, len(mine), per_call):
                chunk = mine[start : start + per_call]
                prompts = [
                    prompt_ids.setdefault(i, render_prompt(tokenizer, problems[i].prompt)) for i in chunk
                ]
                chunk_groups = generator.generate(prompts, cfg.samples_per_prompt)
                requests = [
                    problems[i].sample(f"{name}-{j}", r.text, name, len(r.response_ids))
                    for g, (i, group) in enumerate(zip(chunk, chunk_groups, strict=True))
                    for name in [f"{prefix}-{start + g}"]
                    for j, r in enumerate(group)
                ]
                pending.append(channel.submit(requests, step=step))
                groups.extend(chunk_groups)
            return groups, pending

        for step in range(start_step, cfg.steps):
            t0 = time.perf_counter()
            # ---- 1. rollout (and 2. score, overlapped): whole groups to the server as they finish
            chosen = sampler.next_batch(step, stats)
            mine = chosen[rank::world]

            groups, pending = roll_out(mine, f"{run_id}-s{step}-r{rank}", step)
            t_gen = time.perf_counter() - t0
            batches, reward_wait = channel.wait(pending)
            results: list[Result] = [r for batch in batches for r in batch]
            seen = (mine, results)  # every scored group, for the sampler's statistics
            if cfg.dynamic_sampling:  # DAPO: a group whose rewards are all equal has no gradient

                def score_more(
                    more: list[int], round_: int, step: int = step
                ) -> tuple[list[list[Rollout]], list[Result]]:
                    more_groups, more_pending = roll_out(more, f"{run_id}-s{step}-r{rank}-d{round_}", step)
                    return more_groups, [r for batch in channel.wait(more_pending)[0] for r in batch]

                refill = refill_informative(
                    sampler, step, mine, groups, results, cfg.dynamic_max_rounds, score_more, NO_SIGNAL
                )
                mine, groups, results, seen = refill.mine, refill.groups, refill.results, refill.seen
            rollouts = [r for group in groups for r in group]
            group_ids = [g for g, group in enumerate(groups) for _ in group]
            t_score = time.perf_counter() - t0 - t_gen

            failed = [r for r in results if r.status in NO_SIGNAL]
            total_failed, total_n = map(sum, zip(*_gather((len(failed), len(results)), world), strict=True))
            if total_failed > cfg.max_failed_fraction * total_n:
                reasons = Counter(f"{r.status.value}: {r.message[:120]}" for r in failed).most_common(3)
                raise RuntimeError(
                    f"step {step}: {total_failed} of {total_n} samples got no reward signal "
                    f"(over --max-failed-fraction {cfg.max_failed_fraction}); most common: {reasons}"
                )
            keep = [k for k, r in enumerate(results) if r.status not in NO_SIGNAL]

            # ---- 3. advantage: each reward against its own group (no critic)
            rewards = torch.tensor([results[k].reward for k in keep], dtype=torch.float32)
            gids = torch.tensor([group_ids[k] for k in keep], dtype=torch.long)
            advantages = group_advantages(rewards, gids, baseline, cfg.tau) if keep else torch.zeros(0)
            train_idx = [
                keep[n] for n in range(len(keep)) if not (cfg.skip_zero_advantage and advantages[n] == 0)
            ]
            adv_of = {keep[n]: advantages[n] for n in range(len(keep))}

            # ---- 4. update: minibatches × epochs over this step's samples
            t1 = time.perf_counter()
            if reset_optimizer:
                optimizer = new_optimizer()
            update = _update(
                cfg, model, optimizer, params, [rollouts[k] for k in train_idx],
                torch.stack([adv_of[k] for k in train_idx]) if train_idx else torch.zeros(0),
                tokenizer.pad_token_id, loss_spec, world,
            )  # fmt: skip
            t_update = time.perf_counter() - t1

            # ---- 5. log, evaluate, checkpoint
            seen_ids = [g for g in range(len(seen[0])) for _ in range(cfg.samples_per_prompt)]
            stats = _step_stats(seen[0], seen[1], seen_ids, world)
            row = _step_metrics(step, results, rollouts, keep, failed, update, world)
            row.update(
                **({"dynamic_dropped_groups": refill.dropped} if cfg.dynamic_sampling else {}),
                train_samples=len(train_idx),
                gen_s=round(t_gen, 3),
                score_s=round(t_score, 3),
                reward_wait_s=round(reward_wait, 3),
                update_s=round(t_update, 3),
                step_s=round(time.perf_counter() - t0, 3),
                tokens_per_s=round(sum(len(r.response_ids) for r in rollouts) * world / max(t_gen, 1e-9), 1),
            )
            train_s += row["step_s"]
            row["train_s"] = round(train_s, 2)
            if rank == 0:
                _log(metrics_file, row)
                bar.set_postfix(reward=f"{row['reward_mean']:.3f}", acc=f"{row['accuracy']:.3f}")
                bar.update(1)
            last = row
            done = step + 1
            out_of_time = bool(cfg.max_minutes) and max(_gather(train_s, world)) >= cfg.max_minutes * 60
            final = done == cfg.steps or out_of_time
            if rank == 0 and heldout and cfg.eval_every and (done % cfg.eval_every == 0 or final):
                evaluation = _eval_metrics(model, tokenizer, heldout, channel, cfg, done, run_dir)
                _log(metrics_file, {**evaluation, "train_s": round(train_s, 2)})
            if rank == 0 and ((cfg.save_every and done % cfg.save_every == 0) or final):
                extra = {"stats": stats, "run": run_id, "train_s": train_s}
                save_checkpoint(checkpoint_dir, model, optimizer, sampler, done, extra)
            if out_of_time:
                break
        bar.close()
    if world > 1:  # evidence that data parallelism kept every rank's weights identical
        digests = _gather(_weights_digest(params), world)
        last["weights_sha256_by_rank"] = digests
    if rank == 0 and cfg.save_final:
        _save_final(model, tokenizer, run_dir / "final")
    return last if rank == 0 else {}


def _weights_digest(params: list[torch.nn.Parameter]) -> str:
    digest = hashlib.sha256()
    for p in params:
        digest.update(p.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _update(
    cfg: TrainConfig,
    model: Any,
    optimizer: torch.optim.Optimizer,
    params: list[torch.nn.Parameter],
    rollouts: list[Rollout],
    advantages: torch.Tensor,
    pad_id: int,
    loss_spec: Any,
    world: int,
) -> dict[str, float]:
    """``updates_per_step`` epochs of ``minibatches`` optimizer steps; mean loss and stats."""
    logs: dict[str, list[float]] = {}
    order = list(range(len(rollouts)))
    for _ in range(cfg.updates_per_step):
        random.shuffle(order)
        for m in range(cfg.minibatches):
            mini = order[m :: cfg.minibatches]
            optimizer.zero_grad(set_to_none=True)
            tokens = sum(len(rollouts[k].response_ids) for k in mini)
            for start in range(0, len(mini), cfg.micro_batch_size):
                micro = mini[start : start + cfg.micro_batch_size]
                batch = pack([rollouts[k] for k in micro], pad_id)
                logp = token_logprobs(model, batch, cfg.temperature)
                loss, stats = _loss(cfg, model, loss_spec, logp, batch, advantages[micro])
                weight = (
                    batch["mask"].sum().item() / tokens if loss_spec.per_token else len(micro) / len(mini)
                )
                (loss * weight).backward()
                for key, value in {"loss": loss.item(), **stats}.items():
                    logs.setdefault(key, []).append(value)
            if world > 1:
                _all_reduce_grads(params, world)
            if any(p.grad is not None for p in params):
                norm = torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
                logs.setdefault("grad_norm", []).append(float(norm))
                optimizer.step()
    return {key: sum(v) / len(v) for key, v in logs.items()}


def _loss(cfg, model, loss_spec, logp, batch, advantages) -> tuple[torch.Tensor, dict[str, float]]:
    """The chosen loss with its own settings (only the ones it takes)."""
    old, mask = batch["old_logp"].to(logp.device), batch["mask"].to(logp.device)
    adv = advantages.to(logp.device)
    if cfg.loss == "kimi":
        return loss_spec.fn(logp, old, mask, adv, tau=cfg.tau)
    if cfg.loss == "grpo":
        ref = _reference_logprobs(model, batch, cfg.temperature) if cfg.kl_beta else None
        return loss_spec.fn(logp, old, mask, adv, ref_logp=ref, eps=cfg.clip_eps, beta=cfg.kl_beta)
    if cfg.loss == "drgrpo":
        return loss_spec.fn(logp, old, mask, adv, eps=cfg.clip_eps, normaliser=cfg.max_new_tokens)
    return loss_spec.fn(logp, old, mask, adv, eps_low=cfg.clip_eps, eps_high=cfg.clip_eps_high)


@torch.no_grad()
def _reference_logprobs(model: Any, batch: dict[str, torch.Tensor], temperature: float) -> torch.Tensor:
    """log π_ref: the initial policy, which under LoRA is the model with its adapters off."""
    if not hasattr(model, "disable_adapter"):
        raise ValueError("--kl-beta needs --lora-rank > 0 (the reference is the model without adapters)")
    with model.disable_adapter():
        return token_logprobs(model, batch, temperature)


def _step_stats(mine, results, group_ids, world) -> StepStats:
    """Per problem index: (correct, scored) this step, gathered from every rank."""
    local: dict[int, list[int]] = {}
    for result, g in zip(results, group_ids, strict=True):
        if result.status in NO_SIGNAL:
            continue
        entry = local.setdefault(mine[g], [0, 0])
        entry[0] += int(result.correct)
        entry[1] += 1
    merged: StepStats = {}
    for part in _gather(local, world):
        for i, (c, n) in part.items():
            old = merged.get(i, (0, 0))
            merged[i] = (old[0] + c, old[1] + n)
    return merged


def _step_metrics(step, results, rollouts, keep, failed, update, world) -> dict[str, Any]:
    valid = [results[k] for k in keep]
    components: dict[str, list[float]] = {}
    for r in valid:
        for name, value in (r.details.get("reward", {}) or {}).get("components", {}).items():
            components.setdefault(name, []).append(float(value))
    local = {
        "n": len(valid),
        "reward": sum(r.reward for r in valid),
        "correct": sum(r.correct for r in valid),
        "tokens": sum(len(rollouts[k].response_ids) for k in keep),
        "truncated": sum(rollouts[k].truncated for k in keep),
        "failed": len(failed),
        "components": {k: (sum(v), len(v)) for k, v in components.items()},
    }
    parts = _gather(local, world)
    n = max(1, sum(p["n"] for p in parts))
    row: dict[str, Any] = {
        "step": step + 1,
        "reward_mean": sum(p["reward"] for p in parts) / n,
        "accuracy": sum(p["correct"] for p in parts) / n,
        "response_tokens": sum(p["tokens"] for p in parts) / n,
        "truncated_fraction": sum(p["truncated"] for p in parts) / n,
        "failed_samples": sum(p["failed"] for p in parts),
        "scored_samples": sum(p["n"] for p in parts),
    }
    names = {k for p in parts for k in p["components"]}
    for name in sorted(names):
        total = sum(p["components"].get(name, (0, 0))[0] for p in parts)
        count = sum(p["components"].get(name, (0, 0))[1] for p in parts)
        row[f"reward_{name}"] = total / max(1, count)
    row.update({k: round(v, 6) for k, v in update.items()})
    return row


def _eval_metrics(model, tokenizer, heldout, channel, cfg, step, run_dir) -> dict[str, Any]:
    t0 = time.perf_counter()
    report = evaluate(
        model,
        tokenizer,
        heldout,
        channel,
        cfg.eval_samples,
        cfg.max_new_tokens,
        cfg.temperature,
        cfg.gen_batch_size,
    )
    with open(run_dir / f"eval_step{step}.jsonl", "w", encoding="utf-8") as stream:
        for row in report["problems"]:
            stream.write(json.dumps(row) + "\n")
    row = {k: v for k, v in report.items() if k != "problems"}
    return {"step": step, "eval": True, "eval_s": round(time.perf_counter() - t0, 2), **row}


def _log(path: Path, row: dict[str, Any]) -> None:
    row = {"time": round(time.time(), 3), **row}
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(row) + "\n")


def _progress(cfg: TrainConfig, start: int, rank: int):
    from tqdm import tqdm

    return tqdm(total=cfg.steps, initial=start, unit="step", disable=rank != 0 or None, file=sys.stderr)


def _save_final(model: Any, tokenizer: Any, path: Path) -> None:
    """A plain model (LoRA merged in) that ``verirl train``, ``eval`` and ``serve`` accept."""
    plain = model.merge_and_unload() if hasattr(model, "merge_and_unload") else model
    plain.save_pretrained(path)
    tokenizer.save_pretrained(path)


def run(cfg: TrainConfig) -> int:
    """``verirl train``: train, print the last step's metrics; 1 with a message on a bad run."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        last = train(cfg)
    except (ValueError, RuntimeError, FileNotFoundError) as error:
        print(f"verirl train: {error}", file=sys.stderr)
        return 1
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if last:
        print(json.dumps({k: v for k, v in last.items() if not isinstance(v, float) or math.isfinite(v)}))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(parse(TrainConfig, argv, description="RL with verifiable rewards from a verirl server"))


if __name__ == "__main__":
    raise SystemExit(main())
