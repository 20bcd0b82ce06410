"""Reward-model throughput through the server: dynamic batching against one request at a time.

    python -m bench.reward_model_batching [--clients 32] [--samples 1024] [--model DIR]

Two ``server.py`` processes serve the same reward model, one after the other, in one run
(``--in-process``: two :class:`~rewards.model.ModelScorer` objects in this process, which
isolates the batcher from the gRPC and client costs that share the same cores):
one with dynamic batching (``--max-batch-size``, ``--delay-ms``) and one with
``max_batch_size = 1`` (every request its own forward pass). ``--clients`` threads each
send one sample per ``Score`` call, as many trainer workers would, until ``--samples``
are scored; throughput, per-call latency and the mean batch the batcher achieved are
reported, and the two servers' scores are checked to agree. Without ``--model`` a tiny
Llama is built from a config (``--hidden``, ``--layers``); on a GPU machine pass a real
reward model. Target: ≥ 3× on the tiny model on CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from bench.server_process import Server
from trainer.arithmetic_pairs import make_pairs
from verirl.client import RewardClient


def samples(n: int) -> list[dict]:
    pairs = make_pairs(n // 2 + 1, seed=7)
    out = []
    for i in range(n):
        pair = pairs[i // 2]
        response = pair["chosen" if i % 2 else "rejected"] + " Let me explain." * (i % 5)
        out.append({"id": str(i), "kind": "model", "prompt": pair["prompt"], "response": response})
    return out


def drive(target: str, work: list[dict], clients: int) -> tuple[float, list[float], dict[str, float]]:
    """Seconds for all samples, per-call latencies, scores by id."""
    latencies: list[float] = []
    scores: dict[str, float] = {}
    lock = threading.Lock()
    with RewardClient(target, concurrency=clients) as client:

        def call(sample: dict) -> None:
            start = time.perf_counter()
            result = client.score([sample])[0]
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                scores[result.id] = result.reward

        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(call, work))
        return time.perf_counter() - start, latencies, scores


def drive_in_process(
    settings: dict, work: list[dict], clients: int
) -> tuple[float, list[float], dict, float]:
    """As :func:`drive`, on a scorer in this process; also returns the mean batch."""
    from rewards.model import ModelConfig, ModelScorer
    from rewards.schema import decode_sample

    decoded = [decode_sample(s) for s in work]
    latencies: list[float] = []
    scores: dict[str, float] = {}
    with ModelScorer(ModelConfig(**settings)) as scorer:

        def call(sample) -> None:
            start = time.perf_counter()
            result = scorer.score([sample])[0]
            latencies.append(time.perf_counter() - start)
            scores[result.id] = result.reward

        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(call, decoded[: clients * 2]))  # warm-up
            latencies.clear()
            batcher = scorer.replicas[0].batcher
            batches, items = batcher.batches, batcher.items
            start = time.perf_counter()
            list(pool.map(call, decoded))
            seconds = time.perf_counter() - start
        mean_batch = (batcher.items - items) / max(1, batcher.batches - batches)
    return seconds, latencies, scores, mean_batch


def _forward_passes(metrics_url: str) -> tuple[float, float]:
    text = urllib.request.urlopen(metrics_url, timeout=10).read().decode()

    def total(name: str) -> float:
        return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))

    return total("verirl_model_forward_passes"), total("verirl_model_sequences")


def measure(
    settings: dict, work: list[dict], clients: int, label: str, in_process: bool
) -> tuple[float, dict[str, float]]:
    if in_process:
        seconds, latencies, scores, mean_batch = drive_in_process(settings, work, clients)
    else:
        seconds, latencies, scores, mean_batch = _through_server(settings, work, clients)
    latencies.sort()
    rate = len(work) / seconds
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(0.99 * (len(latencies) - 1))] * 1000
    print(f"| {label} | {rate:.1f} | {p50:.1f} | {p99:.1f} | {mean_batch:.1f} |", flush=True)
    return rate, scores


def _through_server(settings: dict, work: list[dict], clients: int) -> tuple[float, list[float], dict, float]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        metrics_port = s.getsockname()[1]
    table = "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items() if v is not None)
    server = Server(f"workers = 1\nsandbox = false\nmetrics_port = {metrics_port}\n\n[model]\n{table}")
    try:
        drive(server.target, work[: clients * 2], clients)  # warm-up
        seconds, latencies, scores = drive(server.target, work, clients)
        time.sleep(6)  # the server refreshes its model gauges every 5 s
        forwards, sequences = _forward_passes(f"http://127.0.0.1:{metrics_port}/metrics")
    finally:
        server.stop()
    return seconds, latencies, scores, sequences / max(forwards, 1)


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
    parser.add_argument(
        "--in-process", action="store_true", help="drive scorers in this process, not servers"
    )
    args = parser.parse_args(argv)

    path = args.model
    if path is None:
        from rewards.tiny_model import save_tiny_reward_model

        path = str(save_tiny_reward_model(tempfile.mkdtemp(), hidden_size=args.hidden, layers=args.layers))
    work = samples(args.samples)
    where = "scorer in this process" if args.in_process else "Score call"
    print(f"{args.samples} samples, {args.clients} concurrent clients, one sample per {where}; model {path}")
    print("| scoring | samples/s | p50 ms | p99 ms | mean batch |\n|---|---|---|---|---|")
    common = {"path": path, "device": args.device}
    batched, scores_b = measure(
        {**common, "max_batch_size": args.max_batch_size, "max_queue_delay_ms": args.delay_ms},
        work,
        args.clients,
        f"dynamic batching (max {args.max_batch_size}, {args.delay_ms:g} ms)",
        args.in_process,
    )
    single, scores_s = measure(
        {**common, "max_batch_size": 1, "max_queue_delay_ms": 0.0},
        work,
        args.clients,
        "one request at a time",
        args.in_process,
    )
    worst = max(abs(scores_b[k] - scores_s[k]) for k in scores_b)
    print(f"\ndynamic batching / one at a time: {batched / single:.2f}x (target >= 3x)")
    print(f"largest score difference between the two: {worst:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
