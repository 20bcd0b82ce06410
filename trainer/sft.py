"""Supervised fine-tuning before RL: ``verirl sft``.

    verirl sft --model smollm2 --data sft.jsonl --epochs 2 --output runs/sft
    verirl train --model runs/sft ...          # the saved model is a plain causal LM

ReFT and Kimi k1.5 warm the policy up with SFT on verified solutions (``verirl sample``)
before RL. Each ``{prompt, response}`` pair is laid out as the policy sees it in training —
the chat template's user turn and opened assistant turn, then the response and the end-of-turn
token — and the loss is the mean cross-entropy over the response tokens only (the prompt's
labels are masked). Batches group pairs of similar length (less padding), in a shuffled
order each epoch; the learning rate warms up linearly, then follows a cosine to zero.
The held-out loss (``--heldout``, or ``--heldout-fraction`` of the data) is measured
before and after; ``OUTPUT/sft_metrics.jsonl`` has every step's loss.
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path
from typing import Any

from trainer.recipe_config import SFTConfig


def read_pairs(path: str | Path) -> list[dict[str, str]]:
    pairs = []
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row.get("prompt"), str) or not isinstance(row.get("response"), str):
                raise ValueError(f"{path}:{number}: a pair needs string 'prompt' and 'response'")
            pairs.append({"prompt": row["prompt"], "response": row["response"]})
    if not pairs:
        raise ValueError(f"{path}: no pairs")
    return pairs


def encode(tokenizer: Any, pair: dict[str, str], max_length: int) -> tuple[list[int], int] | None:
    """(token ids, prompt length), the response ending in the end-of-turn token; None when
    the prompt alone leaves no room for a response token."""
    from trainer.policy import render_prompt

    prompt = render_prompt(tokenizer, pair["prompt"])
    response = tokenizer(pair["response"], add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    if len(prompt) >= max_length:
        return None
    return (prompt + response)[:max_length], len(prompt)


def length_grouped(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of indices of similar length, the batches in a random order."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random()))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def warmup_cosine(step: int, total: int, warmup: int) -> float:
    """The learning-rate factor at ``step`` (0-based): linear warm-up, then cosine to 0."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def collate(examples: list[tuple[list[int], int]], pad_id: int):
    """Right-padded ids, attention mask and labels (-100 on the prompt and the padding)."""
    import torch

    width = max(len(ids) for ids, _ in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    labels = torch.full_like(ids, -100)
    for row, (tokens, prompt_len) in enumerate(examples):
        ids[row, : len(tokens)] = torch.tensor(tokens)
        mask[row, : len(tokens)] = 1
        labels[row, prompt_len : len(tokens)] = torch.tensor(tokens[prompt_len:])
    return ids, mask, labels


def batch_loss(model: Any, examples: list[tuple[list[int], int]], pad_id: int):
    """(summed cross-entropy over response tokens, how many response tokens)."""
    import torch.nn.functional as F

    device = next(model.parameters()).device
    ids, mask, labels = (t.to(device) for t in collate(examples, pad_id))
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    targets = labels[:, 1:]
    loss = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100, reduction="sum"
    )
    return loss, int((targets != -100).sum())


def heldout_loss(
    model: Any, examples: list[tuple[list[int], int]], pad_id: int, batch_size: int
) -> float | None:
    """Mean cross-entropy per response token over ``examples`` (no gradients)."""
    import torch

    if not examples:
        return None
    was_training = model.training
    model.eval()
    total, tokens = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            loss, n = batch_loss(model, examples[start : start + batch_size], pad_id)
            total, tokens = total + loss.item(), tokens + n
    model.train(was_training)
    return total / max(1, tokens)


def sft(cfg: SFTConfig) -> dict[str, Any]:
    import torch

    from trainer.policy import load_policy

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    pairs = read_pairs(cfg.data)
    if cfg.heldout:
        train_pairs, held_pairs = pairs, read_pairs(cfg.heldout)
    else:
        shuffled = pairs[:]
        rng.shuffle(shuffled)
        cut = round(len(shuffled) * cfg.heldout_fraction)
        held_pairs, train_pairs = shuffled[:cut], shuffled[cut:]
    device = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model, tokenizer = load_policy(cfg.model, device=device)
    pad = tokenizer.pad_token_id
    train_set = [e for e in (encode(tokenizer, p, cfg.max_length) for p in train_pairs) if e]
    held_set = [e for e in (encode(tokenizer, p, cfg.max_length) for p in held_pairs) if e]
    if not train_set:
        raise ValueError("no training pair fits --max-length")
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(train_set) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    warmup = max(1, round(cfg.warmup_fraction * total)) if cfg.warmup_fraction > 0 else 0
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: warmup_cosine(s, total, warmup))
    before = heldout_loss(model, held_set, pad, cfg.batch_size)
    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    model.train()
    step = 0
    with open(out / "sft_metrics.jsonl", "w", encoding="utf-8") as log:
        for epoch in range(cfg.epochs):
            for batch in length_grouped([len(ids) for ids, _ in train_set], cfg.batch_size, rng):
                optimizer.zero_grad(set_to_none=True)
                loss, tokens = batch_loss(model, [train_set[i] for i in batch], pad)
                (loss / max(1, tokens)).backward()
                norm = torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
                optimizer.step()
                schedule.step()
                step += 1
                row = {
                    "step": step,
                    "epoch": epoch,
                    "loss": round(loss.item() / max(1, tokens), 6),
                    "lr": schedule.get_last_lr()[0],
                    "grad_norm": round(float(norm), 4),
                    "tokens": tokens,
                }
                log.write(json.dumps(row) + "\n")
    after = heldout_loss(model, held_set, pad, cfg.batch_size)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return {
        "output": str(out),
        "train_pairs": len(train_set),
        "heldout_pairs": len(held_set),
        "steps": step,
        "heldout_loss_before": before,
        "heldout_loss_after": after,
    }


def run(cfg: SFTConfig) -> int:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if not cfg.data:
        raise SystemExit("verirl sft: --data is required")
    summary = sft(cfg)
    Path(cfg.output, "sft_summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))
    return 0


def main(argv: list[str] | None = None) -> int:
    from trainer.settings import parse

    return run(parse(SFTConfig, argv, description="supervised fine-tuning on response tokens only"))


if __name__ == "__main__":
    sys.exit(main())
