"""The gRPC reward server: ``python server.py --workers 64`` (or ``verirl serve``).

Start-up order matters: the engine — math worker processes (forkserver) and sandbox
containers — is built before gRPC is initialised, so nothing ever forks a process that
runs gRPC. Batches are scored on a thread pool, never on the event loop; the kinds of
one batch run concurrently inside the engine.

Health (``grpc.health.v1``, service "" and "verirl.v1.RewardService"): NOT_SERVING
while starting, SERVING once the pools are warm, NOT_SERVING again while draining.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import faulthandler
import hmac
import json
import logging
import signal
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from rewards.compose import RewardSpec
from rewards.engine import Budget, Engine, StartupError, build_engine
from rewards.schema import ContractError, Kind, Sample, decode_sample
from sandbox.languages import LANGUAGES
from verirl import __version__, config, metrics
from verirl.convert import result_to_proto, sample_to_dict, spec_to_dict, spec_to_proto
from verirl.v1 import reward_pb2 as pb
from verirl.v1 import reward_pb2_grpc as pb_grpc

log = logging.getLogger("verirl.server")
SERVICE = pb.DESCRIPTOR.services_by_name["RewardService"].full_name


class Admission:
    """A bounded count of samples admitted and not yet answered."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    def try_admit(self, n: int) -> bool:
        if self.count + n > self.limit:
            return False
        self.count += n
        metrics.IN_FLIGHT.set(self.count)
        return True

    def release(self, n: int) -> None:
        self.count -= n
        metrics.IN_FLIGHT.set(self.count)


class RewardService(pb_grpc.RewardServiceServicer):
    def __init__(self, engine: Engine, cfg: config.ServerConfig) -> None:
        self.engine = engine
        self.cfg = cfg
        self.admission = Admission(cfg.max_queued_samples)
        # Batches wait here for a thread; each thread runs one batch through the engine and
        # mostly waits (on worker processes, containers, the reward model's batcher), so there
        # are many: the batcher can only merge requests that have reached it.
        self.executor = ThreadPoolExecutor(max(64, 2 * cfg.workers), thread_name_prefix="verirl-batch")

    async def Score(self, request: pb.ScoreRequest, context: grpc.aio.ServicerContext) -> pb.ScoreResponse:
        request_id = request.request_id or uuid.uuid4().hex[:12]
        n = len(request.samples)
        if n > self.cfg.max_batch_samples:
            metrics.REQUESTS.labels("INVALID_ARGUMENT").inc()
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"a batch of {n} samples exceeds max_batch_samples={self.cfg.max_batch_samples}; "
                "split it (verirl.client does)",
            )
        try:
            spec = self.cfg.spec_for(spec_to_dict(request.spec) if request.HasField("spec") else {})
        except ContractError as error:
            metrics.REQUESTS.labels("INVALID_ARGUMENT").inc()
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid reward spec: {error}")
        step = request.step if request.HasField("step") else None
        if not self.admission.try_admit(n):
            metrics.REQUESTS.labels("RESOURCE_EXHAUSTED").inc()
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"the queue is full: {self.admission.count} samples are queued or running and this "
                f"batch adds {n} (max_queued_samples={self.cfg.max_queued_samples}); retry later",
            )
        remaining = context.time_remaining()
        budget = Budget(remaining)
        items = [decode_sample(sample_to_dict(s), fallback_id=str(i)) for i, s in enumerate(request.samples)]
        metrics.BATCH_SIZE.observe(n)
        queued = time.perf_counter()
        try:
            results = await asyncio.get_running_loop().run_in_executor(
                self.executor, self._score, items, budget, queued, spec, step
            )
        except asyncio.CancelledError:
            budget.cancel()  # frees queued work; running tests stop at their next boundary
            log.info(json.dumps({"event": "cancelled", "request_id": request_id, "samples": n}))
            raise
        finally:
            self.admission.release(n)
        for item, result in zip(items, results, strict=True):
            kind = item.kind.value if isinstance(item, Sample) else "invalid"
            metrics.SAMPLES.labels(kind, result.status.value).inc()
        metrics.REQUESTS.labels("OK").inc()
        log.info(
            json.dumps(
                {
                    "event": "scored",
                    "request_id": request_id,
                    "samples": n,
                    "seconds": round(time.perf_counter() - queued, 4),
                    "deadline_s": None if remaining is None else round(remaining, 3),
                }
            )
        )
        return pb.ScoreResponse(results=[result_to_proto(r) for r in results], request_id=request_id)

    def _score(
        self, items: list, budget: Budget, queued: float, spec: RewardSpec | None, step: int | None
    ) -> list:
        started = time.perf_counter()
        metrics.QUEUE_SECONDS.observe(started - queued)
        results = self.engine.score(items, budget=budget, spec=spec, step=step)
        metrics.SCORE_SECONDS.observe(time.perf_counter() - started)
        return results

    async def ServerInfo(
        self, request: pb.ServerInfoRequest, context: grpc.aio.ServicerContext
    ) -> pb.ServerInfoResponse:
        readiness = await asyncio.get_running_loop().run_in_executor(None, self.engine.readiness)
        from rewards.code import Maxima
        from sandbox.judge import Limits

        defaults, maxima = Limits(), Maxima()
        return pb.ServerInfoResponse(
            version=__version__,
            kinds=[
                pb.KindInfo(kind=kind.value, available=available, ready=ready, reason=reason)
                for kind, (available, ready, reason) in readiness.items()
            ],
            languages=sorted(LANGUAGES) if Kind.CODE in self.engine.scorers else [],
            math_processes=self.cfg.math_processes,
            sandbox_containers=self.cfg.workers if Kind.CODE in self.engine.scorers else 0,
            math_budget_s=self.cfg.math_budget_s,
            default_time_limit_s=defaults.time_s,
            default_memory_limit_mb=defaults.memory_mb,
            max_time_limit_s=maxima.time_s,
            max_memory_limit_mb=maxima.memory_mb,
            max_message_bytes=self.cfg.max_message_bytes,
            max_queued_samples=self.cfg.max_queued_samples,
            default_spec=spec_to_proto(self.cfg.default_spec) if self.cfg.reward is not None else None,
            reward_model=(self.cfg.model or {}).get("path", ""),
        )


# --------------------------------------------------------------------------- auth


class TokenAuth(grpc.aio.ServerInterceptor):
    """Requires ``authorization: Bearer <token>`` on every call but health checks;
    compares in constant time."""

    def __init__(self, token: str) -> None:
        self.expected = f"Bearer {token}".encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        if details.method.startswith("/grpc.health.v1.Health/"):
            return await continuation(details)
        given = dict(details.invocation_metadata or ()).get("authorization", "")
        if hmac.compare_digest(given.encode() if isinstance(given, str) else given, self.expected):
            return await continuation(details)
        return _deny_handler()


def _deny_handler() -> grpc.RpcMethodHandler:
    async def deny(request: object, context: grpc.aio.ServicerContext) -> None:
        metrics.REQUESTS.labels("UNAUTHENTICATED").inc()
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")

    return grpc.unary_unary_rpc_method_handler(deny)


# --------------------------------------------------------------------------- running


@dataclass
class Running:
    server: grpc.aio.Server
    health: health.aio.HealthServicer
    service: RewardService
    port: int


def _credentials(cfg: config.ServerConfig) -> grpc.ServerCredentials | None:
    if not cfg.tls_cert:
        return None
    with open(cfg.tls_cert, "rb") as cert, open(cfg.tls_key or "", "rb") as key:
        pair = (key.read(), cert.read())
    client_ca = None
    if cfg.tls_client_ca:
        with open(cfg.tls_client_ca, "rb") as handle:
            client_ca = handle.read()
    return grpc.ssl_server_credentials(
        [pair], root_certificates=client_ca, require_client_auth=bool(client_ca)
    )


async def start(engine: Engine, cfg: config.ServerConfig) -> Running:
    """Start serving ``engine``; health is SERVING when this returns."""
    token = cfg.resolved_token()
    options = [
        ("grpc.max_receive_message_length", cfg.max_message_bytes),
        ("grpc.max_send_message_length", cfg.max_message_bytes),
    ]
    server = grpc.aio.server(interceptors=[TokenAuth(token)] if token else [], options=options)
    service = RewardService(engine, cfg)
    pb_grpc.add_RewardServiceServicer_to_server(service, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", SERVICE):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    if cfg.reflection:
        reflection.enable_server_reflection([SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    address = f"{cfg.host}:{cfg.port}"
    credentials = _credentials(cfg)
    port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    await server.start()
    for name in ("", SERVICE):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return Running(server, health_servicer, service, port)


async def stop(running: Running, grace_s: float, notice_s: float = 0.0) -> None:
    """Drain: NOT_SERVING (for ``notice_s``, while still answering), then refuse new
    calls and let in-flight ones finish within ``grace_s``."""
    for name in ("", SERVICE):
        await running.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    await asyncio.sleep(notice_s)
    await running.server.stop(grace_s)
    running.service.executor.shutdown(wait=False, cancel_futures=True)


def _update_pool_metrics(engine: Engine) -> None:
    math_scorer = engine.scorers.get(Kind.MATH)
    if math_scorer is not None:
        metrics.POOL_SIZE.labels("math").set(math_scorer.pool.processes)
        metrics.RECYCLED.labels("math").set(math_scorer.pool.replaced)
    for replica in getattr(engine.scorers.get(Kind.MODEL), "replicas", ()):
        # sequences / forward passes is the mean batch the dynamic batcher achieved
        metrics.MODEL_FORWARDS.labels(str(replica.device)).set(replica.batcher.batches)
        metrics.MODEL_ITEMS.labels(str(replica.device)).set(replica.batcher.items)
    code_scorer = engine.scorers.get(Kind.CODE)
    pool = getattr(code_scorer, "_pool", None)
    if pool is not None:
        metrics.POOL_SIZE.labels("sandbox").set(pool.live)
        metrics.RECYCLED.labels("sandbox").set(pool.recycled)


async def serve(cfg: config.ServerConfig) -> int:
    cfg.check()
    log.info(json.dumps({"event": "starting", "workers": cfg.workers, "math_processes": cfg.math_processes}))
    # Pools first, gRPC second: never fork after gRPC is initialised.
    engine = build_engine(
        cfg.workers,
        math_processes=cfg.math_processes,
        math_budget_s=cfg.math_budget_s,
        sandbox=cfg.sandbox,
        warm=True,
        model=cfg.model,
    )
    if cfg.metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(cfg.metrics_port, addr=cfg.host)
    http = None
    if cfg.http_port is not None:
        from verirl.adapters.openrlhf import start_http

        http = start_http(engine, cfg.host, cfg.http_port, cfg.resolved_token(), cfg.default_spec)
    running = await start(engine, cfg)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    log.info(json.dumps({"event": "serving", "address": f"{cfg.host}:{running.port}"}))
    print(f"verirl serving on {cfg.host}:{running.port}", file=sys.stderr, flush=True)
    while not stopping.is_set():
        _update_pool_metrics(engine)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=5)
    log.info(json.dumps({"event": "draining", "grace_s": cfg.grace_s}))
    await stop(running, cfg.grace_s, cfg.drain_notice_s)
    if http is not None:
        http.shutdown()
    await loop.run_in_executor(None, engine.close)  # removes the containers
    log.info(json.dumps({"event": "stopped"}))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="TOML file with any ServerConfig setting")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="gRPC port (default 50051; 0 picks a free one)")
    parser.add_argument(
        "--workers", type=int, help="sandbox containers; math processes = min(this, 2 x CPUs)"
    )
    parser.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    parser.add_argument("--http-port", type=int, help="serve the OpenRLHF-compatible HTTP endpoint here")
    parser.add_argument("--token-file", help="file holding the bearer token (else $VERIRL_TOKEN)")
    parser.add_argument("--tls-cert", help="PEM certificate chain (turns TLS on)")
    parser.add_argument("--tls-key", help="PEM private key")
    parser.add_argument("--tls-client-ca", help="PEM CA that client certificates must chain to (mTLS)")
    parser.add_argument("--no-reflection", dest="reflection", action="store_const", const=False)
    parser.add_argument("--no-sandbox", dest="sandbox", action="store_const", const=False)
    parser.add_argument(
        "--model",
        dest="model_path",
        help="serve this reward model (directory or .gguf); [model] sets the rest",
    )


def run(args: argparse.Namespace) -> int:
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    overrides = {k: v for k, v in vars(args).items() if k not in ("config", "run", "command")}
    try:
        cfg = config.load(args.config, overrides)
        cfg.check()
    except (ValueError, OSError) as error:
        print(f"verirl serve: {error}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(serve(cfg))
    except StartupError as error:
        print(f"verirl serve: {error}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="server.py", description="verirl gRPC reward server")
    add_arguments(parser)
    return run(parser.parse_args(argv))
