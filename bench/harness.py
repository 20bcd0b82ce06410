"""``verirl bench``: reward latency and throughput under RL load, soak runs, scale-out.

    verirl bench --workload math|code|model|mixed [--server HOST:PORT[,HOST:PORT...]] [--input F]
                 --concurrency C --batch B (--duration S | --requests N) [--rate R]
                 [--sweep 1,2,4,...] [--soak MIN] [--replicas N] [--baselines]
                 --json REPORT.json [--plots DIR]

Without ``--server`` it starts its own servers (``--replicas``, ``--workers`` each) on
loopback with Prometheus metrics, and stops them at the end. A workload needs its kinds
served: ``code`` a reachable Docker Engine, ``model`` a reward model (a tiny one is built
from a config when the bench starts the server and ``--model`` is not given).

Modes: closed loop by default (``--concurrency`` requests in flight, ``--batch`` samples
each); ``--rate`` switches to an open loop (Poisson arrivals, ``--rate-unit rpc|samples``);
``--sweep`` repeats the run at each concurrency; ``--soak MIN`` runs an open loop for MIN
minutes with a mixed workload, random cancellations and deadlines, checks every sample's
outcome and samples the server's memory, threads, descriptors and containers.
``--stop-replica-after S`` stops the first replica S seconds into the measured phase
(scale-out: nothing may be lost). Traffic goes to the given targets only; the bench's
own servers listen on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import report, scrape, workloads
from bench.load import Generator, LoadSpec, Phase

ROOT = Path(__file__).resolve().parents[1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--workload", choices=workloads.WORKLOADS, default="math", help="bundled samples (default math)")
    add("--input", help="your samples instead: a JSON Lines file of the data contract")
    add("--server", help="HOST:PORT[,HOST:PORT...] or any gRPC target (default: start servers here)")
    add("--metrics", help="the servers' Prometheus URLs, comma separated (with --server)")
    add("--token-file", help="bearer token for --server (default: $VERIRL_TOKEN)")
    add("--concurrency", "-c", type=int, default=4, help="closed loop: requests in flight (default 4)")
    add("--batch", "-b", type=int, default=8, help="samples per request (default 8)")
    add("--duration", type=float, help="seconds of measured load (default 10 unless --requests)")
    add("--requests", type=int, help="measured requests instead of a duration")
    add("--rate", type=float, help="open loop: requests (or samples, --rate-unit) per second")
    add("--rate-unit", choices=("rpc", "samples"), default="rpc")
    add("--warmup", type=float, default=2.0, help="seconds of unmeasured load first (default 2)")
    add("--timeout", type=float, default=120.0, help="deadline of each call, seconds")
    add("--max-outstanding", type=int, default=512, help="open loop: calls in flight before skipping")
    add("--sweep", help="concurrency levels, e.g. 1,2,4,8: one run each, plotted")
    add("--soak", type=float, metavar="MINUTES", help="soak run of this many minutes (needs --rate)")
    add("--cancel-fraction", type=float, help="share of calls cancelled by the client (soak: 0.05)")
    add("--deadline-fraction", type=float, help="share of calls with a short deadline (soak: 0.05)")
    add("--probe-interval", type=float, default=5.0, help="soak: seconds between server samples")
    add("--replicas", type=int, default=1, help="servers to start here, balanced round robin")
    add("--workers", type=int, default=2, help="--workers of each server started here (default 2)")
    add("--model", help="reward model for servers started here (default: a tiny one for model/mixed)")
    add(
        "--pin-replicas",
        action="store_true",
        help="pin replica i (and its workers) to CPU i: each replica as a one-core machine",
    )
    add("--stop-replica-after", type=float, help="stop the first replica this many seconds in")
    add(
        "--stop-signal",
        choices=("term", "kill"),
        default="term",
        help="term: a graceful drain; kill: SIGKILL to its process group (a machine lost)",
    )
    add("--baselines", action="store_true", help="also run the baselines, reported as ratios")
    add("--json", dest="json_path", help="write the report here")
    add("--plots", help="write PNG plots into this directory")
    add("--seed", type=int, default=0)


# --------------------------------------------------------------------------- servers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """``server.py --config`` on loopback, started here; its stderr is kept for errors."""

    def __init__(self, config: str, cpus: str | None = None, start_timeout_s: float = 300) -> None:
        # Kept open (and so on disk) while the server runs; closing it deletes it.
        self.config = tempfile.NamedTemporaryFile("w", suffix=".toml", prefix="verirl-bench-")  # noqa: SIM115
        self.config.write(config)
        self.config.flush()
        # taskset before exec: the server and every worker it forks inherit the CPU set.
        pin = ["taskset", "-c", cpus] if cpus is not None else []
        self.proc = subprocess.Popen(
            [*pin, sys.executable, "server.py", "--port", "0", "--config", self.config.name],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: kill() takes its workers with it
        )
        self.lines: list[str] = []
        self.port: int | None = None
        ready = threading.Event()

        def read() -> None:
            for line in self.proc.stderr:  # type: ignore[union-attr]
                self.lines.append(line)
                del self.lines[:-200]
                match = re.search(r"serving on .*:(\d+)$", line.strip())
                if match:
                    self.port = int(match.group(1))
                    ready.set()
            ready.set()  # it exited

        threading.Thread(target=read, daemon=True).start()
        try:
            started = ready.wait(start_timeout_s) and self.port is not None
        except BaseException:  # interrupted while waiting: never leave it running
            self.kill()
            raise
        if not started:
            self.stop()
            raise RuntimeError("a server did not start:\n" + "".join(self.lines[-20:]))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # drains in-flight calls, removes its containers
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.config.close()

    def kill(self) -> None:
        """A machine dying: SIGKILL to the server and its worker processes, no drain."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@dataclass
class Replica:
    target: str
    metrics_url: str | None = None
    server: LocalServer | None = None  # set when this process started it
    stopped_at: float | None = None
    last_scrape: scrape.Scrape | None = None  # taken just before it was stopped

    @property
    def pid(self) -> int | None:
        return self.server.proc.pid if self.server else None

    def stop(self, kill: bool = False) -> None:
        if self.server is not None:
            self.server.kill() if kill else self.server.stop()


@dataclass
class Fleet:
    replicas: list[Replica] = field(default_factory=list)
    target: str = ""
    model_dir: tempfile.TemporaryDirectory | None = None

    def close(self) -> None:
        for replica in self.replicas:
            replica.stop()
        if self.model_dir is not None:
            self.model_dir.cleanup()


def target_of(addresses: list[str]) -> str:
    """One gRPC target for a list of HOST:PORT (round robin over IP literals)."""
    if len(addresses) == 1:
        return addresses[0]
    for address in addresses:
        host = address.rsplit(":", 1)[0].strip("[]")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(
                f"{address}: several servers must be IP:PORT; for names use one dns:///NAME:PORT target"
            ) from None
    scheme = "ipv6" if ":" in addresses[0].rsplit(":", 1)[0] else "ipv4"
    return f"{scheme}:" + ",".join(addresses)


def start_fleet(args: argparse.Namespace, kinds: set[str]) -> Fleet:
    fleet = Fleet()
    if args.server:
        addresses = [a.strip() for a in args.server.split(",") if a.strip()]
        urls = [u.strip() for u in (args.metrics or "").split(",") if u.strip()]
        if urls and len(urls) != len(addresses):
            raise ValueError("--metrics needs one URL per server in --server")
        fleet.replicas = [Replica(a, urls[i] if urls else None) for i, a in enumerate(addresses)]
        fleet.target = addresses[0] if "://" in addresses[0] or len(addresses) == 1 else target_of(addresses)
        return fleet
    model_table = ""
    if "model" in kinds:
        path = args.model
        if path is None:
            from rewards.tiny_model import save_tiny_reward_model

            fleet.model_dir = tempfile.TemporaryDirectory(prefix="verirl-bench-rm-")
            path = str(save_tiny_reward_model(fleet.model_dir.name))
        model_table = f"\n[model]\npath = {json.dumps(path)}\n"
    sandbox = "code" in kinds
    try:
        for i in range(args.replicas):
            cpus = str(i % (os.cpu_count() or 1)) if args.pin_replicas else None
            port = _free_port()
            config = f"workers = {args.workers}\nmetrics_port = {port}\nsandbox = {str(sandbox).lower()}\n"
            server = LocalServer(config + model_table, cpus)
            target = f"127.0.0.1:{server.port}"
            fleet.replicas.append(Replica(target, f"http://127.0.0.1:{port}/metrics", server))
    except BaseException:
        fleet.close()
        raise
    fleet.target = target_of([r.target for r in fleet.replicas])
    return fleet


def _scrape_all(fleet: Fleet) -> list[scrape.Scrape | None]:
    out: list[scrape.Scrape | None] = []
    for replica in fleet.replicas:
        try:
            out.append(scrape.scrape(replica.metrics_url) if replica.metrics_url else None)
        except OSError:
            out.append(None)  # a stopped replica: its last scrape stands
    return out


def server_report(fleet: Fleet, before: list, after: list) -> dict:
    """The servers' own view: summed, and per replica (spread of the load)."""
    per = []
    for replica, b, a in zip(fleet.replicas, before, after, strict=True):
        entry: dict = {"target": replica.target}
        if b is not None and a is not None:
            entry.update(scrape.server_side(b, a))
        elif b is not None:
            entry["metrics"] = "unreachable after the run (stopped)"
        per.append(entry)
    total: dict = {"replicas": per}
    seen = [p for p in per if "samples" in p]
    if seen:
        total["samples"] = sum(p["samples"] for p in seen)
        calls: dict[str, int] = {}
        for p in seen:
            for code, n in p["calls_by_code"].items():
                calls[code] = calls.get(code, 0) + n
        total["calls_by_code"] = calls
        for key in ("queue", "scoring"):
            parts = [p[key] for p in seen if key in p]
            if parts:
                count = sum(h["count"] for h in parts)
                mean = sum(h["mean_ms"] * h["count"] for h in parts) / count
                total[key] = {
                    "count": count,
                    "mean_ms": mean,
                    "p99_le_ms": max(h["p99_le_ms"] for h in parts),
                }
    return total


# --------------------------------------------------------------------------- runs


def _server_cpu(fleet: Fleet) -> float:
    return sum(scrape.cpu_seconds(r.pid) for r in fleet.replicas if r.pid and r.stopped_at is None)


def _progress(label: str, total: int | None):
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit="sample", file=sys.stderr, disable=None, leave=False)


async def _one_run(
    fleet: Fleet, workload: workloads.Workload, spec: LoadSpec, label: str, args: argparse.Namespace
) -> tuple[Phase, dict, dict]:
    total = spec.requests * spec.batch if spec.requests else None
    with _progress(label, total) as bar:
        generator = Generator(fleet.target, workload, spec, token=_token(args), progress=bar.update)
        async with generator:
            before: list = []
            stopper: list[asyncio.Task] = []
            cpu: dict[str, float] = {}

            async def measured_start() -> None:
                before.extend(await asyncio.to_thread(_scrape_all, fleet))
                cpu["client"] = time.process_time()
                cpu["servers"] = _server_cpu(fleet)
                if args.stop_replica_after is not None and fleet.replicas[0].server is not None:
                    stopper.append(
                        asyncio.create_task(
                            _stop_later(
                                fleet.replicas[0], args.stop_replica_after, args.stop_signal == "kill"
                            )
                        )
                    )

            phase, ledger = await generator.run(measured_start)
            client_cpu = time.process_time() - cpu["client"]
            server_cpu = _server_cpu(fleet) - cpu["servers"]
            if stopper:
                await stopper[0]
    after = await asyncio.to_thread(_scrape_all, fleet)
    samples = max(1, sum(phase.rpc_samples))
    phase.cpu = {"client_ms_per_sample": 1000 * client_cpu / samples}
    if all(r.pid for r in fleet.replicas) and fleet.replicas[0].stopped_at is None:
        # The servers' own processes and math workers; sandbox containers are not in it.
        phase.cpu["server_ms_per_sample"] = 1000 * server_cpu / samples
    for i, replica in enumerate(fleet.replicas):
        if after[i] is None and replica.stopped_at is not None:
            after[i] = replica.last_scrape
    return phase, ledger, server_report(fleet, before, after)


async def _stop_later(replica: Replica, delay_s: float, kill: bool) -> None:
    """SIGTERM the replica, scraping its metrics until they go away: the last scrape holds
    everything it answered, the calls it finished while draining included."""
    await asyncio.sleep(delay_s)
    replica.stopped_at = time.time()
    if replica.metrics_url:
        # what it answered until now: for a kill, all there will be; for a SIGTERM, a floor
        # in case the drain ends before the first scrape below
        with contextlib.suppress(OSError):
            replica.last_scrape = await asyncio.to_thread(scrape.scrape, replica.metrics_url, 2)
    stopping = asyncio.create_task(asyncio.to_thread(replica.stop, kill))
    while not stopping.done() and replica.metrics_url and not kill:
        try:
            replica.last_scrape = await asyncio.to_thread(scrape.scrape, replica.metrics_url, 2)
        except OSError:
            break
        await asyncio.sleep(0.05)
    await stopping


def _token(args: argparse.Namespace) -> str | None:
    if getattr(args, "token_file", None):
        return Path(args.token_file).read_text().strip() or None
    return os.environ.get("VERIRL_TOKEN") or None


def _spec(args: argparse.Namespace, concurrency: int, soak: bool) -> LoadSpec:
    rate = args.rate
    if rate is not None and args.rate_unit == "samples":
        rate = rate / args.batch
    duration = args.duration
    if soak:
        duration = args.soak * 60
    elif duration is None and args.requests is None:
        duration = 10.0
    return LoadSpec(
        concurrency=concurrency,
        batch=args.batch,
        duration_s=duration if args.requests is None or soak else None,
        requests=None if soak else args.requests,
        rate=rate,
        warmup_s=args.warmup,
        timeout_s=args.timeout,
        max_outstanding=args.max_outstanding,
        cancel_fraction=args.cancel_fraction if args.cancel_fraction is not None else (0.05 if soak else 0.0),
        deadline_fraction=(
            args.deadline_fraction if args.deadline_fraction is not None else (0.05 if soak else 0.0)
        ),
        seed=args.seed,
    )


def _load_label(spec: LoadSpec) -> str:
    if spec.rate is not None:
        return f"open loop {spec.rate:g} RPC/s × {spec.batch}"
    return f"closed loop {spec.concurrency} × {spec.batch}"


async def _soak(fleet: Fleet, workload, spec: LoadSpec, args: argparse.Namespace) -> dict:
    """The open-loop run with a probe sampling the servers every ``probe_interval``."""
    rows: list[list[dict]] = [[] for _ in fleet.replicas]
    docker_client = None
    if any(r.pid for r in fleet.replicas):
        try:
            import docker

            docker_client = docker.from_env(timeout=10)
        except Exception:
            docker_client = None  # no container count without Docker; the rest still runs
    probes = [scrape.ProcessProbe(r.pid, docker_client) if r.pid else None for r in fleet.replicas]
    stop = asyncio.Event()

    async def sample_loop() -> None:
        while not stop.is_set():
            for i, (replica, probe) in enumerate(zip(fleet.replicas, probes, strict=True)):
                try:
                    if probe is not None:
                        rows[i].append(await asyncio.to_thread(probe.sample))
                    elif replica.metrics_url:
                        rows[i].append(await asyncio.to_thread(scrape.metrics_probe, replica.metrics_url))
                except OSError:
                    pass
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), args.probe_interval)

    sampler = asyncio.create_task(sample_loop())
    try:
        phase, ledger, server = await _one_run(fleet, workload, spec, "soak", args)
    finally:
        stop.set()
        await sampler
    summary = report.summarise(phase, rate=spec.rate)
    # Growth allowed between the second and the last quarter of the run. Thread pools grow
    # lazily to their caps (the server's batch pool: max(64, 2 x workers)) when a burst
    # queues calls, and never shrink: that is a high-water mark, not a leak; a thread or a
    # descriptor per call would pass these bounds within a minute at any useful rate.
    tolerances = {"rss_mb": 100.0, "threads": 32, "fds": 16, "containers": 0, "processes": 0}
    flatness = [
        {
            key: scrape.flat(series, key, tol)
            for key, tol in tolerances.items()
            if scrape.flat(series, key, tol)
        }
        for series in rows
    ]
    cleared = await asyncio.to_thread(_in_flight_cleared, fleet)
    verdict = {
        "exactly_one_outcome_each": ledger["exactly_one_each"],
        "resources_flat": all(v["flat"] for f in flatness for v in f.values()),
        # Admission is released when abandoned work has really stopped, which under a
        # backlog takes a while after the last client call ended.
        "in_flight_released": all(c is not None for c in cleared),
    }
    server["in_flight_cleared_after_s"] = cleared
    return {
        **summary,
        "workload": workload.name,
        "load": _load_label(spec) + f", {spec.cancel_fraction:.0%} cancelled, "
        f"{spec.deadline_fraction:.0%} short deadlines",
        "accounting": ledger,
        "server": server,
        "resources": [
            {"target": r.target, "samples": s, "flat": f}
            for r, s, f in zip(fleet.replicas, rows, flatness, strict=True)
        ],
        "verdict": verdict,
        "timeline": _timeline(phase),
    }


def _in_flight_cleared(fleet: Fleet, timeout_s: float = 120.0) -> list[float | None]:
    """Per replica with metrics: seconds until its in-flight gauge read 0 (None: not
    within ``timeout_s``)."""
    out: list[float | None] = []
    start = time.monotonic()
    for replica in fleet.replicas:
        if not replica.metrics_url or replica.stopped_at is not None:
            continue
        waited: float | None = None
        while time.monotonic() - start < timeout_s:
            try:
                value = scrape.scrape(replica.metrics_url).get(("verirl_samples_in_flight", ()))
            except OSError:
                break
            if value is None or value == 0:
                waited = time.monotonic() - start
                break
            time.sleep(0.5)
        out.append(waited)
    return out


def _timeline(phase: Phase, step_s: float = 1.0) -> list[list[float]]:
    """Samples answered and calls failed per ``step_s``, from the start of the phase."""
    buckets: dict[int, list[float]] = {}
    for t, samples, ok in phase.timeline:
        row = buckets.setdefault(int((t - phase.started) / step_s), [0.0, 0.0])
        row[0] += samples
        row[1] += 0 if ok else 1
    return [[k * step_s, v[0] / step_s, v[1]] for k, v in sorted(buckets.items())]


async def _runs(fleet: Fleet, workload, args: argparse.Namespace) -> dict:
    spec = LoadSpec(duration_s=None, requests=1, warmup_s=0)
    async with Generator(fleet.target, workload, spec, token=_token(args)) as probe:
        info = await probe.info()
    ready = {k.kind: (k.ready, k.reason) for k in info.kinds}
    for kind in sorted(workload.kinds):
        ok, reason = ready.get(kind, (False, "unknown kind"))
        if not ok:
            raise ValueError(f"the server cannot score the {kind} kind now: {reason or 'not ready'}")
    out: dict = {
        "server": {
            "target": fleet.target,
            "replicas": [r.target for r in fleet.replicas],
            "version": info.version,
            "math_processes": info.math_processes,
            "sandbox_containers": info.sandbox_containers,
            "started_here": any(r.server for r in fleet.replicas),
            "workers": args.workers if any(r.server for r in fleet.replicas) else None,
        },
        "runs": [],
    }
    if args.soak:
        out["soak"] = await _soak(fleet, workload, _spec(args, args.concurrency, True), args)
        return out
    levels = [int(x) for x in args.sweep.split(",")] if args.sweep else [args.concurrency]
    for level in levels:
        spec = _spec(args, level, False)
        label = _load_label(spec)
        phase, ledger, server = await _one_run(fleet, workload, spec, label, args)
        run = {
            "workload": workload.name,
            "load": label,
            "concurrency": level,
            "batch": spec.batch,
            **report.summarise(phase, rate=spec.rate),
            "accounting": ledger,
            "server": server,
            "_phase": phase,
        }
        if args.stop_replica_after is not None:
            run["stopped_replica"] = {
                "target": fleet.replicas[0].target,
                "after_s": args.stop_replica_after,
                "signal": args.stop_signal,
                # Calls it answered after its last scrape are in the client's count only.
                "unattributed_samples": run["samples"] - server.get("samples", 0),
            }
        out["runs"].append(run)
    return out


def _baselines(args: argparse.Namespace, runs: list[dict], workload_name: str) -> list[dict]:
    """Baselines in a child process (it builds its own pools; forking here, after gRPC
    started, is unsafe), each as a ratio to the best verirl run."""
    best = max(runs, key=lambda r: r["samples_per_s"])
    command = [
        sys.executable, "-m", "bench.baselines", "--workload", workload_name,
        "--concurrency", str(best["concurrency"]), "--batch", str(best["batch"]),
        "--workers", str(args.workers), "--seconds", str(min(args.duration or 10.0, 20.0)),
    ]  # fmt: skip
    if args.model:
        command += ["--model", args.model]
    try:
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=1800)
    except subprocess.TimeoutExpired:
        # Seen once on a saturated machine: the child had exited but its pipes stayed open.
        raise RuntimeError("the baselines did not finish within 30 minutes") from None
    if done.returncode != 0:
        raise RuntimeError(f"the baselines failed:\n{done.stderr[-2000:]}")
    out = []
    for baseline in json.loads(done.stdout):
        ratio = best["samples_per_s"] / baseline["samples_per_s"] if baseline["samples_per_s"] else 0.0
        out.append(
            {**baseline, "run": best["load"], "verirl_samples_per_s": best["samples_per_s"], "ratio": ratio}
        )
    return out


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


def run_bench(args: argparse.Namespace, command: str | None = None) -> dict:
    """Runs everything the arguments ask for and returns the report (also written/plotted)."""
    if args.soak and args.rate is None:
        raise ValueError("--soak needs --rate (a soak is an open loop at a fixed rate)")
    if args.soak and args.input is None and args.workload != "mixed":
        print("verirl bench: a soak uses the mixed workload", file=sys.stderr)
        args.workload = "mixed"
    if args.duration is not None and args.requests is not None:
        raise ValueError("give --duration or --requests, not both")
    if args.input:
        workload = workloads.from_jsonl(args.input)
    else:
        with_model = args.workload == "model" or bool(args.server) or _model_extra()
        workload = workloads.build(args.workload, with_model=with_model, seed=args.seed)
    fleet = start_fleet(args, workload.kinds)
    try:
        result = asyncio.run(_runs(fleet, workload, args))
    finally:
        fleet.close()
    result["machine"] = machine()
    result["command"] = command or " ".join(sys.argv)
    result["workload"] = {
        "name": workload.name,
        "pool_samples": workload.samples,
        "kinds": sorted(workload.kinds),
    }
    if args.baselines and result["runs"]:
        result["baselines"] = _baselines(args, result["runs"], workload.name)
    phases = [r.pop("_phase") for r in result["runs"]]
    if args.plots:
        from bench import plots

        result["plots"] = plots.draw(result, phases, args.plots)
    if args.json_path:
        report.write_json(result, args.json_path)
    return result


def _model_extra() -> bool:
    import importlib.util

    return (
        importlib.util.find_spec("torch") is not None and importlib.util.find_spec("transformers") is not None
    )


def run(args: argparse.Namespace) -> int:
    try:
        result = run_bench(args)
    except RuntimeError as error:  # a server that would not start, failed baselines
        print(f"verirl bench: {error}", file=sys.stderr)
        return 2
    if result["runs"]:
        print(report.markdown(result["runs"]))
    if result.get("baselines"):
        print()
        print(report.baseline_markdown(result["baselines"]))
    failed = False
    for run_ in result["runs"]:
        if not run_["accounting"]["exactly_one_each"]:
            failed = True
            print(f"accounting failed: {run_['accounting']}", file=sys.stderr)
    if "soak" in result:
        soak = result["soak"]
        print(report.markdown([soak]))
        print(f"soak verdict: {soak['verdict']}")
        failed = failed or not all(soak["verdict"].values())
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.harness", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
