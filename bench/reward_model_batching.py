"""Reward-model throughput: dynamic batching against one request at a time.

    python -m bench.reward_model_batching [--clients 32] [--samples 1024] [--model DIR]

``--clients`` threads each send one sample per call (as many trainer workers would) to
one :class:`~rewards.model.ModelScorer`, in one process run, twice: with dynamic
batching (``--max-batch-size``, ``--delay-ms``) and with ``max_batch_size = 1`` (every
request its own forward pass). Both score the same samples; the scores are checked to
agree. Without ``--model`` a tiny Llama is built from a config (``--hidden``,
``--layers``); on a GPU machine pass a real reward model. Target: ≥ 3× on the tiny
model on CPU.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from rewards.model import ModelConfig, ModelScorer
from rewards.schema import Sample, decode_sample
from trainer.arithmetic_pairs import make_pairs


def samples(n: int) -> list[Sample]:
    pairs = make_pairs(n // 2 + 1, seed=7)
    out = []
    for i in range(n):
        pair = pairs[i // 2]
        response = pair["chosen" if i % 2 else "rejected"] + " Let me explain." * (i % 5)
        out.append(
            decode_sample({"id": str(i), "kind": "model", "prompt": pair["prompt"], "response": response})
        )
    return out  # type: ignore[return-value]


def run(scorer: ModelScorer, work: list[Sample], clients: int) -> tuple[float, list[float], dict[str, float]]:
    """Seconds for all samples, per-call latencies, scores by id."""
    latencies: list[float] = []
    scores: dict[str, float] = {}
    lock = threading.Lock()

    def call(sample: Sample) -> None:
        start = time.perf_counter()
        result = scorer.score([sample])[0]
        elapsed = time.perf_counter() - start
        with lock:
            latencies.append(elapsed)
            scores[result.id] = result.reward

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(call, work))
    return time.perf_counter() - start, latencies, scores


def measure(cfg: ModelConfig, work: list[Sample], clients: int, label: str) -> tuple[float, dict[str, float]]:
    with ModelScorer(cfg) as scorer:
        run(scorer, work[: clients * 2], clients)  # warm-up
        batcher = scorer.replicas[0].batcher
        batches0, items0 = batcher.batches, batcher.items
        seconds, latencies, scores = run(scorer, work, clients)
        batches, items = batcher.batches - batches0, batcher.items - items0
    latencies.sort()
    rate = len(work) / seconds
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(0.99 * (len(latencies) - 1))] * 1000
    mean_batch = items / max(1, batches)
    print(f"| {label} | {rate:.1f} | {p50:.1f} | {p99:.1f} | {mean_batch:.1f} |", flush=True)
    return rate, scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="a reward-model directory (default: a tiny Llama from a config)")
    parser.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--delay-ms", type=float, default=5.0)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    args = parser.parse_args(argv)

    path = args.model
    if path is None:
        from rewards.tiny_model import save_tiny_reward_model

        path = str(save_tiny_reward_model(tempfile.mkdtemp(), hidden_size=args.hidden, layers=args.layers))
    work = samples(args.samples)
    print(f"{args.samples} samples, {args.clients} concurrent clients, one sample per call; model {path}")
    print("| scoring | samples/s | p50 ms | p99 ms | mean batch |\n|---|---|---|---|---|")
    common = {"path": path, "device": args.device}
    batched, scores_b = measure(
        ModelConfig(**common, max_batch_size=args.max_batch_size, max_queue_delay_ms=args.delay_ms),
        work,
        args.clients,
        f"dynamic batching (max {args.max_batch_size}, {args.delay_ms:g} ms)",
    )
    single, scores_s = measure(
        ModelConfig(**common, max_batch_size=1, max_queue_delay_ms=0), work, args.clients, "one at a time"
    )
    worst = max(abs(scores_b[k] - scores_s[k]) for k in scores_b)
    print(f"\ndynamic batching / one at a time: {batched / single:.2f}x (target >= 3x)")
    print(f"largest score difference between the two: {worst:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
