"""Train a reward model on preference pairs with the Bradley–Terry loss.

    verirl train-rm --data pairs.jsonl --base MODEL --out DIR

Each line of ``--data`` is ``{"prompt", "chosen", "rejected"}`` (optionally a
``reference`` shown to the model, as the scorer shows it). The model is the base with a
one-logit score head (``AutoModelForSequenceClassification``); the loss is
``−log σ(r_chosen − r_rejected)``. Pairs are rendered by the same
:class:`~rewards.model.ConversationEncoder` the scorer uses, so ``DIR`` serves exactly as
trained: ``verirl serve --model DIR``. Held-out pairwise accuracy is measured before and
after training and written, with the loss curve, to ``DIR/train_rm.json``.

Example (a few seconds on a tiny model built from a config):
    >>> import tempfile, json
    >>> from rewards.tiny_model import save_tiny_reward_model
    >>> from trainer.arithmetic_pairs import make_pairs
    >>> from trainer.reward_model import TrainConfig, train_reward_model
    >>> base, out = save_tiny_reward_model(tempfile.mkdtemp()), tempfile.mkdtemp()
    >>> data = f"{out}/pairs.jsonl"
    >>> _ = open(data, "w").write("".join(json.dumps(p) + "\\n" for p in make_pairs(40)))
    >>> report = train_reward_model(TrainConfig(data=data, base=str(base), out=out, batch_size=8, log=None))
    >>> sorted(report)[:3]
    ['accuracy_after', 'accuracy_before', 'base']
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from rewards.model import ConversationEncoder, Encoded, ModelLoadError, model_limit, model_source


@dataclass
class TrainConfig:
    data: str
    base: str  # a saved model directory, a .gguf file, or a hub id where a hub is reachable
    out: str
    eval_data: str | None = None  # held-out pairs; default: eval_fraction of data
    eval_fraction: float = 0.1
    epochs: int = 1
    max_steps: int | None = None
    batch_size: int = 8  # pairs per step
    lr: float = 2e-5
    warmup_fraction: float = 0.1
    weight_decay: float = 0.0
    max_length: int = 512
    seed: int = 0
    device: str | None = None  # default: cuda when available
    log: Callable[[str], None] | None = print


@dataclass(frozen=True, slots=True)
class Pair:
    chosen: list[int]
    rejected: list[int]


# --------------------------------------------------------------------------- data


def read_pairs(path: str) -> list[dict[str, str]]:
    """The pairs of a JSON Lines file; a malformed line is an error naming its number."""
    pairs = []
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not valid JSON ({error})") from None
            missing = [k for k in ("prompt", "chosen", "rejected") if not isinstance(obj.get(k), str)]
            unknown = sorted(set(obj) - {"prompt", "chosen", "rejected", "reference"})
            if missing or unknown:
                problem = f"missing or non-string {missing}" if missing else f"unknown fields {unknown}"
                raise ValueError(f"{path}:{number}: {problem}; a pair is {{prompt, chosen, rejected}}")
            pairs.append(obj)
    if not pairs:
        raise ValueError(f"{path}: no pairs")
    return pairs


def encode_pairs(encoder: ConversationEncoder, pairs: list[dict[str, str]]) -> tuple[list[Pair], int]:
    """Encoded pairs, and how many were dropped because a response alone does not fit."""
    out, dropped = [], 0
    for pair in pairs:
        chosen = encoder.encode(pair["prompt"], pair["chosen"], pair.get("reference"))
        rejected = encoder.encode(pair["prompt"], pair["rejected"], pair.get("reference"))
        if isinstance(chosen, Encoded) and isinstance(rejected, Encoded):
            out.append(Pair(chosen.ids, rejected.ids))
        else:
            dropped += 1
    return out, dropped


# --------------------------------------------------------------------------- model


def load_base(base: str, device: torch.device) -> tuple[Any, Any]:
    """The base model with a one-logit score head (new, when the base has none)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    source, extra = model_source(base)
    load_extra: dict[str, Any] = dict(extra)
    if "gguf_file" in extra:  # train (and save) a plain dense model, not packed GGUF blocks
        from transformers.utils.quantization_config import GgufConfig

        load_extra["quantization_config"] = GgufConfig(dequantize=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **extra)
        model = AutoModelForSequenceClassification.from_pretrained(
            source, num_labels=1, dtype=torch.float32, **load_extra
        )
    except Exception as error:  # transformers raises many types for a broken model
        raise ModelLoadError(
            f"base model {base} could not be loaded: {type(error).__name__}: {error}"
        ) from error
    if getattr(model, "hf_quantizer", None) is not None:  # dequantized: nothing left to keep packed
        model.hf_quantizer = None
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    return model.to(device), tokenizer


def scores(model: Any, sequences: list[list[int]], pad_id: int, device: torch.device) -> torch.Tensor:
    """One score per sequence (right padding; transformers pools the last non-pad token)."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
    return model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits[:, 0].float()


def bradley_terry_loss(chosen: torch.Tensor, rejected: torch.Tensor) -> torch.Tensor:
    return -F.logsigmoid(chosen - rejected).mean()


@torch.inference_mode()
def pairwise_accuracy(
    model: Any, pairs: list[Pair], pad_id: int, device: torch.device, batch: int = 32
) -> float:
    model.eval()
    wins = 0
    for i in range(0, len(pairs), batch):
        chunk = pairs[i : i + batch]
        s = scores(model, [p.chosen for p in chunk] + [p.rejected for p in chunk], pad_id, device)
        wins += int((s[: len(chunk)] > s[len(chunk) :]).sum())
    return wins / len(pairs)


# --------------------------------------------------------------------------- training


def _split(cfg: TrainConfig) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    pairs = read_pairs(cfg.data)
    if cfg.eval_data:
        return pairs, read_pairs(cfg.eval_data)
    random.Random(cfg.seed).shuffle(pairs)
    n_eval = max(1, int(len(pairs) * cfg.eval_fraction))
    if n_eval >= len(pairs):
        raise ValueError(f"{cfg.data}: {len(pairs)} pairs leave nothing to train on after the held-out split")
    return pairs[n_eval:], pairs[:n_eval]


def _schedule(total: int, warmup: int) -> Callable[[int], float]:
    def factor(step: int) -> float:  # linear warm-up, then cosine decay to 0
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    return factor


def train_reward_model(cfg: TrainConfig) -> dict[str, Any]:
    """Train, save the model and tokenizer to ``cfg.out``, and return the report."""
    say = cfg.log or (lambda _: None)
    started = time.perf_counter()
    torch.manual_seed(cfg.seed)
    device = torch.device(cfg.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    train_raw, eval_raw = _split(cfg)
    model, tokenizer = load_base(cfg.base, device)
    encoder = ConversationEncoder(tokenizer, min(cfg.max_length, model_limit(model, tokenizer)))
    train, dropped = encode_pairs(encoder, train_raw)
    held_out, dropped_eval = encode_pairs(encoder, eval_raw)
    pad = tokenizer.pad_token_id
    before = pairwise_accuracy(model, held_out, pad, device)
    say(f"train-rm: {len(train)} training pairs, {len(held_out)} held out; accuracy before {before:.3f}")

    steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
    total = min(cfg.max_steps or steps_per_epoch * cfg.epochs, steps_per_epoch * cfg.epochs)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _schedule(total, int(total * cfg.warmup_fraction))
    )
    rng = random.Random(cfg.seed)
    losses: list[float] = []
    model.train()
    for step in range(total):
        if step % steps_per_epoch == 0:
            rng.shuffle(train)
        batch = train[(step % steps_per_epoch) * cfg.batch_size :][: cfg.batch_size]
        s = scores(model, [p.chosen for p in batch] + [p.rejected for p in batch], pad, device)
        loss = bradley_terry_loss(s[: len(batch)], s[len(batch) :])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(round(loss.item(), 5))
        if (step + 1) % max(1, total // 10) == 0 or step + 1 == total:
            recent = losses[-max(1, total // 10) :]
            say(f"train-rm: step {step + 1}/{total} loss {sum(recent) / len(recent):.4f}")

    out = Path(cfg.out)
    model.save_pretrained(out)  # first: an evaluation failure must not lose the training
    tokenizer.save_pretrained(out)
    after = pairwise_accuracy(model, held_out, pad, device)
    report = {
        "base": cfg.base,
        "train_pairs": len(train),
        "held_out_pairs": len(held_out),
        "dropped_too_long": dropped + dropped_eval,
        "steps": total,
        "accuracy_before": before,
        "accuracy_after": after,
        "loss": losses,
        "seconds": round(time.perf_counter() - started, 1),
        "device": str(device),
        "config": {k: v for k, v in asdict(cfg).items() if k != "log"},
    }
    (out / "train_rm.json").write_text(json.dumps(report, indent=1))
    say(f"train-rm: accuracy {before:.3f} -> {after:.3f} on {len(held_out)} held-out pairs; saved to {out}")
    return report


def evaluate(model_dir: str, data: str, max_length: int = 512, device: str | None = None) -> float:
    """Pairwise accuracy of a saved reward model on a pairs file (chosen scored above rejected)."""
    target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model, tokenizer = load_base(model_dir, target)
    encoder = ConversationEncoder(tokenizer, min(max_length, model_limit(model, tokenizer)))
    pairs, _ = encode_pairs(encoder, read_pairs(data))
    return pairwise_accuracy(model, pairs, tokenizer.pad_token_id, target)


def main(argv: list[str] | None = None) -> int:
    """``python -m trainer.reward_model --model DIR --data FILE...``: held-out accuracy."""
    import argparse

    parser = argparse.ArgumentParser(description="pairwise accuracy of a reward model on pair files")
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True, nargs="+")
    parser.add_argument("--max-length", type=int, default=512)
    args = parser.parse_args(argv)
    for data in args.data:
        print(
            json.dumps(
                {"model": args.model, "data": data, "accuracy": evaluate(args.model, data, args.max_length)}
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
