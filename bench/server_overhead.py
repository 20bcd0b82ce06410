"""The cost of the gRPC hop: batched gRPC against the in-process engine, same work.

    python -m bench.server_overhead [--workers 2] [--containers 4] [--repeat 3] [--runs 1]
                                    [--only math|code|latency|conversion]

1. 1,000 math samples (the labelled set, repeated) scored by an in-process engine and by
   a ``server.py`` subprocess with the same pools, in one batch each: ``--repeat`` paired
   rounds after a warm-up, the median of the per-round overheads (see :func:`compare`).
   Both sides start from the same contract dictionaries and end with the same
   :class:`~rewards.schema.Result` list: in-process that is ``decode_sample`` then
   ``engine.score``, through gRPC ``client.score``. Target: overhead ≤ 10%.
2. The 164 HumanEval canonical solutions, the same way. Target: overhead ≤ 5%.
3. Latency p50/p99 of small requests (8 math samples) at 1, 8 and 64 concurrent clients.
4. The gRPC path's own CPU cost for 1,000 math samples without scoring: client encode,
   server decode and validation, server encode, client decode (best of 15). It is the
   part of the overhead this code controls, and far less noisy than 1.

``--runs N`` repeats 1 and 2 N times (fresh engine and server each time) and prints each
run, so noise on a shared machine shows; the overhead in milliseconds is printed beside
the ratio because the in-process time moves with the scorers, the gRPC cost does not.
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from bench.humaneval import problems, sample
from bench.math_cases import labelled
from bench.server_process import Server


def math_samples(n: int) -> list[dict]:
    cases = labelled()
    return [
        {"id": str(i), "kind": "math", "response": c.response, "reference": {"answer": c.answer}}
        | ({"prompt": c.prompt} if c.prompt else {})
        for i, c in ((i, cases[i % len(cases)]) for i in range(n))
    ]


def code_samples() -> list[dict]:
    return [sample(p, p["canonical_solution"]) for p in problems()]


def _seconds(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def compare(name: str, items: list[dict], workers: int, repeat: int) -> float:
    """Median overhead of ``repeat`` paired rounds, in percent.

    The engine and the server are both up for the whole comparison and each round times
    one in-process call and one gRPC call back to back, their order alternating, so a
    slow moment of a shared machine lands on both sides of a pair instead of on all of
    one side; the median of the per-round ratios then ignores the odd disturbed round.
    (Timing all in-process rounds first and all gRPC rounds after, best of each, spread
    the same code over 30-50 points.) The in-process call's decoding is timed apart too,
    and the overhead against ``engine.score`` alone is printed beside the target's."""
    from rewards.engine import build_engine
    from rewards.schema import decode_sample
    from verirl.client import RewardClient

    server = Server(f"workers = {workers}\n")
    try:
        with (
            build_engine(workers=workers, math_processes=min(workers, 4)) as engine,
            RewardClient(f"127.0.0.1:{server.port}", batch_size=len(items)) as client,
        ):

            def local_run() -> tuple[float, float]:
                # the same input as the client's: decoding is the in-process path's share
                # of the conversion that the client and the server do (`verirl score` on a
                # JSONL file decodes too)
                start = time.perf_counter()
                decoded = [decode_sample(s) for s in items]
                middle = time.perf_counter()
                engine.score(decoded)
                return middle - start, time.perf_counter() - middle

            remote_run = lambda: client.score(items)  # noqa: E731
            local_run(), remote_run()  # warm-up: caches, lazily started pools
            rounds = []
            for i in range(repeat):
                if i % 2:
                    remote = _seconds(remote_run)
                    decode, score = local_run()
                else:
                    decode, score = local_run()
                    remote = _seconds(remote_run)
                rounds.append((decode, score, remote))
    finally:
        server.stop()
    overhead = 100 * statistics.median(r / (d + s) - 1 for d, s, r in rounds)
    scoring_only = 100 * statistics.median(r / s - 1 for _, s, r in rounds)
    extra_ms = 1000 * statistics.median(r - d - s for d, s, r in rounds)
    local = statistics.median(d + s for d, s, _ in rounds)
    decode_ms = 1000 * statistics.median(d for d, _, _ in rounds)
    remote = statistics.median(r for _, _, r in rounds)
    print(
        f"{name:28} in-process {local:7.3f}s   gRPC {remote:7.3f}s   overhead {overhead:+6.1f}%"
        f"  ({extra_ms:+.0f} ms; medians of {repeat} paired rounds; in-process decoding"
        f" {decode_ms:.1f} ms, against engine.score alone {scoring_only:+.1f}%)",
        flush=True,
    )
    return overhead


def _timed_calls(client, items: list[dict], level: int, requests: int) -> list[float]:
    """Seconds per call, ``requests`` calls made by ``level`` threads at once."""

    def one(_: int) -> float:
        start = time.perf_counter()
        client.score(items)
        return time.perf_counter() - start

    with ThreadPoolExecutor(level) as pool:
        return list(pool.map(one, range(requests)))


def latency(workers: int, levels: tuple[int, ...] = (1, 8, 64), requests: int = 256) -> None:
    from verirl.client import RewardClient

    server = Server(f"workers = {workers}\n")
    items = math_samples(8)
    try:
        with RewardClient(f"127.0.0.1:{server.port}") as client:
            client.score(items)
            for level in levels:
                ordered = sorted(_timed_calls(client, items, level, requests))
                p99 = ordered[int(0.99 * (len(ordered) - 1))]
                print(
                    f"{level:3d} concurrent clients: p50 {1000 * statistics.median(ordered):7.2f} ms  "
                    f"p99 {1000 * p99:7.2f} ms  ({requests} requests of 8 math samples)"
                )
    finally:
        server.stop()


def conversion(repeat: int = 15) -> float:
    from rewards.engine import _bounded  # the engine's last step, run on every result
    from rewards.schema import Result, Status
    from verirl.client import _prepare, _request
    from verirl.convert import result_from_proto, result_into, sample_from_proto
    from verirl.v1 import reward_pb2 as pb

    items = math_samples(1000)
    details = {"extracted": "2", "gold": "2", "method": "identical"}

    def once() -> None:
        _, to_send = _prepare(items)
        data = _request(to_send, None, None).SerializeToString()
        request = pb.ScoreRequest.FromString(data)
        samples = [sample_from_proto(s, str(i)) for i, s in enumerate(request.samples)]
        results = [
            _bounded(s, Result(s.id, 1.0, True, Status.OK, "answer '2' matches '2'", dict(details)))
            for s in samples
        ]
        response = pb.ScoreResponse(request_id="x")
        for result in results:
            result_into(response.results.add(), result)
        back = pb.ScoreResponse.FromString(response.SerializeToString())
        assert len([result_from_proto(m) for m in back.results]) == len(items)

    once()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        once()
        best = min(best, time.perf_counter() - start)
    print(f"conversion round trip, 1,000 math samples: {1000 * best:.1f} ms", flush=True)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="math processes (math comparison)")
    parser.add_argument("--containers", type=int, default=4, help="sandbox containers (code comparison)")
    parser.add_argument("--repeat", type=int, default=9, help="paired rounds per comparison")
    parser.add_argument("--runs", type=int, default=1, help="repeat the comparisons, printing each run")
    parser.add_argument("--only", choices=("math", "code", "latency", "conversion"), help="run one part")
    args = parser.parse_args()
    for _ in range(args.runs):
        if args.only in (None, "math"):
            compare("1,000 math samples", math_samples(1000), args.workers, args.repeat)
        if args.only in (None, "code"):
            compare("164 HumanEval (code)", code_samples(), args.containers, args.repeat)
    if args.only in (None, "latency"):
        latency(args.workers)
    if args.only in (None, "conversion"):
        conversion()


if __name__ == "__main__":
    main()
