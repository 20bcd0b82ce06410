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
import collections
import contextlib
import faulthandler
import functools
import hmac
import json
import logging
import logging.handlers
import os
import queue
import signal
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import grpc
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from rewards.compose import GroupLedger, Reservation, RewardSpec
from rewards.engine import Engine, build_engine
from rewards.schema import (
    MAX_ECHO_CHARS,
    MAX_MESSAGE_CHARS,
    ContractError,
    Kind,
    MathReference,
    Result,
    Sample,
)
from rewards.scoring import Budget, StartupError
from sandbox.languages import LANGUAGES
from verirl import __version__, config, metrics
from verirl.convert import details_text, result_into, sample_from_proto, spec_to_dict, spec_to_proto
from verirl.v1 import reward_pb2 as pb

if TYPE_CHECKING:
    from verirl.http import HttpEndpoint

log = logging.getLogger("verirl.server")
SERVICE = pb.DESCRIPTOR.services_by_name["RewardService"].full_name
RESULT_BYTES = 64  # the least a result adds to a response beyond its id and echoes


class Admission:
    """Samples and request bytes admitted and not yet answered, gRPC and HTTP together.

    Thread-safe: calls are admitted on the event loop and released by the thread that
    ran their work, once it has stopped.
    """

    def __init__(self, max_samples: int, max_bytes: int) -> None:
        self.max_samples = max_samples
        self.max_bytes = max_bytes
        self.samples = 0
        self.bytes = 0
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        return self.samples

    def try_admit(self, samples: int, nbytes: int = 0) -> bool:
        with self._lock:
            if self.samples + samples > self.max_samples or self.bytes + nbytes > self.max_bytes:
                return False
            self.samples += samples
            self.bytes += nbytes
            self._publish()
            return True

    def release(self, samples: int, nbytes: int = 0) -> None:
        with self._lock:
            self.samples -= samples
            self.bytes -= nbytes
            self._publish()

    def _publish(self) -> None:
        metrics.IN_FLIGHT.set(self.samples)
        metrics.IN_FLIGHT_BYTES.set(self.bytes)

    def full(self, samples: int, nbytes: int) -> str:
        return (
            f"the queue is full: {self.samples} samples and {self.bytes} request bytes are queued or "
            f"running and this call adds {samples} samples and {nbytes} bytes "
            f"(max_queued_samples={self.max_samples}, max_queued_bytes={self.max_bytes}); retry later"
        )


class Ticket:
    """One call's share of the admission and its hold on the step ledger. Released once,
    by whatever finishes last: the work (normally) or the queue (a call dropped before
    its work started)."""

    def __init__(self, admission: Admission) -> None:
        self.admission = admission
        self.holder = Reservation()
        self.samples = 0
        self.bytes = 0
        self._released = False
        self._lock = threading.Lock()

    def admit(self, samples: int, nbytes: int) -> bool:
        with self._lock:
            if self._released or not self.admission.try_admit(samples, nbytes):
                return False
            self.samples += samples
            self.bytes += nbytes
            return True

    def release(self) -> None:
        with self._lock:
            if self._released:
                return
            self._released = True
            samples, nbytes, self.samples, self.bytes = self.samples, self.bytes, 0, 0
        self.admission.release(samples, nbytes)


class Refused(Exception):
    """A call refused as a whole, with the gRPC code (and HTTP status) that says why."""

    HTTP: ClassVar[dict[grpc.StatusCode, int]] = {
        grpc.StatusCode.INVALID_ARGUMENT: 400,
        grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
        grpc.StatusCode.DEADLINE_EXCEEDED: 504,
        grpc.StatusCode.CANCELLED: 499,
        grpc.StatusCode.UNAVAILABLE: 503,
        grpc.StatusCode.INTERNAL: 500,
    }

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return self.HTTP.get(self.code, 500)


def count_call(code: str, request_id: str, event: str | None = None, **fields: object) -> None:
    """Every call that ends is counted by its gRPC code; those that did not score are logged."""
    metrics.REQUESTS.labels(code).inc()
    if event is not None:
        log.info(json.dumps({"event": event, "request_id": request_id, "code": code, **fields}))


class RewardService:
    """The Score and ServerInfo calls. Requests arrive as bytes and are decoded on a batch
    thread inside the admission's guard, so decoding neither blocks the event loop nor can
    leak an admitted count, and a malformed message is INVALID_ARGUMENT."""

    def __init__(self, engine: Engine, cfg: config.ServerConfig) -> None:
        self.engine = engine
        self.cfg = cfg
        self.admission = Admission(cfg.max_queued_samples, cfg.max_queued_bytes)
        engine.ledger = GroupLedger(max_entries=cfg.ledger_max_groups)
        # Batches wait here for a thread; each thread runs one batch through the engine and
        # mostly waits (on worker processes, containers, the reward model's batcher), so there
        # are many: the batcher can only merge requests that have reached it.
        self.executor = ThreadPoolExecutor(max(64, 2 * cfg.workers), thread_name_prefix="verirl-batch")
        self._specs: dict[bytes, RewardSpec | None] = {}
        self._specs_lock = threading.Lock()

    # ------------------------------------------------------------------ shared with HTTP

    def deadline(self, requested_s: float | None) -> float:
        return self.cfg.default_deadline_s if requested_s is None else requested_s

    def spec(self, key: bytes, overrides: Callable[[], dict]) -> RewardSpec | None:
        """The request's spec over the server's defaults, validated and built once per
        distinct spec (a trainer sends the same one with every call)."""
        with self._specs_lock:
            if key in self._specs:
                return self._specs[key]
        try:
            spec = self.cfg.spec_for(overrides())
        except ContractError as error:
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, f"invalid reward spec: {error}") from None
        with self._specs_lock:
            if len(self._specs) >= 64:
                self._specs.clear()
            self._specs[key] = spec
        return spec

    def admit_samples(self, ticket: Ticket, n: int) -> None:
        if n > self.cfg.max_batch_samples:
            raise Refused(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"a batch of {n} samples exceeds max_batch_samples={self.cfg.max_batch_samples}; "
                "split it (verirl.client does)",
            )
        if not ticket.admit(n, 0):
            raise Refused(grpc.StatusCode.RESOURCE_EXHAUSTED, self.admission.full(n, 0))

    def run(
        self,
        items: list[Sample | Result],
        budget: Budget,
        ticket: Ticket,
        queued: float,
        spec: RewardSpec | None,
        step: int | None,
    ) -> list[Result]:
        """Score on a batch thread; a call that stopped before or during scoring is refused
        (its client is gone or will get DEADLINE_EXCEEDED), never answered with partial work."""
        started = time.perf_counter()
        metrics.QUEUE_SECONDS.observe(started - queued)
        metrics.BATCH_SIZE.observe(len(items))
        if budget.stopped:
            raise _stopped(budget, "before scoring began")
        results = self.engine.score(items, budget=budget, spec=spec, step=step, holder=ticket.holder)
        metrics.SCORE_SECONDS.observe(time.perf_counter() - started)
        if budget.stopped:
            raise _stopped(budget, "while scoring")
        counts = collections.Counter(
            (item.kind.value if isinstance(item, Sample) else "invalid", result.status.value)
            for item, result in zip(items, results, strict=True)
        )
        for (kind, status), count in counts.items():  # one labels() lookup per pair, not per sample
            metrics.SAMPLES.labels(kind, status).inc(count)
        return results

    async def call(
        self,
        ticket: Ticket,
        budget: Budget,
        work: Callable[[], Any],
        on_stop: Callable[[], None] | None = None,
    ) -> Any:
        """Run ``work`` on a batch thread. The ticket is released when the work has stopped
        (or was dropped from the queue); if the caller goes away first, the budget is
        cancelled so the work stops at its next chunk."""
        try:
            future = self.executor.submit(work)
        except RuntimeError:  # the executor is shut down: the server is stopping
            ticket.release()
            raise Refused(grpc.StatusCode.UNAVAILABLE, "the server is shutting down; retry") from None
        future.add_done_callback(lambda _: ticket.release())
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            budget.cancel()
            self.engine.ledger.abort(ticket.holder)
            if on_stop is not None:
                on_stop()
            raise
        except BaseException:
            self.engine.ledger.abort(ticket.holder)
            raise

    # ------------------------------------------------------------------ gRPC

    async def Score(self, raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        request_id = _metadata_request_id(context)
        ticket = Ticket(self.admission)
        if not ticket.admit(0, len(raw)):
            count_call("RESOURCE_EXHAUSTED", request_id, "rejected", bytes=len(raw))
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, self.admission.full(0, len(raw)))
        remaining = context.time_remaining()
        budget = Budget(self.deadline(remaining))
        queued = time.perf_counter()
        box: dict[str, Any] = {"request_id": request_id, "samples": 0}

        def stopped() -> None:
            # gRPC may cancel an expired call a moment before our clock reaches its deadline
            code = "DEADLINE_EXCEEDED" if budget.remaining() <= 0.1 else "CANCELLED"
            event = "expired" if code == "DEADLINE_EXCEEDED" else "cancelled"
            count_call(code, box["request_id"], event, samples=box["samples"])

        # A client's deadline is gRPC's to enforce (it cancels this handler when it passes);
        # the default one is ours, and the answer is due when it passes, not when the work
        # has wound down (cancelling here cancels the budget, as gRPC's cancel does).
        timer = asyncio.timeout(None if remaining is not None else budget.remaining())
        try:
            async with timer:
                response = await self.call(
                    ticket, budget, lambda: self._score(raw, budget, ticket, queued, box), stopped
                )
        except Refused as refused:
            # the work can see the deadline a moment before gRPC cancels this handler
            event = "expired" if refused.code == grpc.StatusCode.DEADLINE_EXCEEDED else "refused"
            count_call(refused.code.name, box["request_id"], event, message=refused.message[:300])
            await context.abort(refused.code, refused.message)
        except Exception as error:
            if isinstance(error, TimeoutError) and timer.expired():  # counted by stopped()
                message = (
                    f"the call set no deadline and the server's default_deadline_s="
                    f"{self.cfg.default_deadline_s:g} passed; its work was stopped"
                )
                await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, message)
            log.exception("Score failed (request_id %s)", box["request_id"])
            count_call("INTERNAL", box["request_id"], "failed")
            message = f"internal error (request_id {box['request_id']}); see the server log"
            await context.abort(grpc.StatusCode.INTERNAL, message)
        holder = ticket.holder
        ledger = self.engine.ledger
        context.add_done_callback(
            lambda ctx: ledger.abort(holder) if ctx.cancelled() else ledger.commit(holder)
        )
        count_call("OK", box["request_id"])
        log.info(
            json.dumps(
                {
                    "event": "scored",
                    "request_id": box["request_id"],
                    "samples": box["samples"],
                    "seconds": round(time.perf_counter() - queued, 4),
                    "deadline_s": None if remaining is None else round(remaining, 3),
                }
            )
        )
        return response

    def _score(self, raw: bytes, budget: Budget, ticket: Ticket, queued: float, box: dict) -> bytes:
        """Decode, admit, score, encode: all on the batch thread."""
        try:
            request = pb.ScoreRequest.FromString(raw)
        except DecodeError as error:
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, f"malformed ScoreRequest: {error}") from None
        if request.request_id:
            box["request_id"] = request.request_id[:200]
        n = box["samples"] = len(request.samples)
        self.admit_samples(ticket, n)
        given = request.spec if request.HasField("spec") else None
        key = b"" if given is None else given.SerializeToString(deterministic=True)
        spec = self.spec(key, dict if given is None else functools.partial(spec_to_dict, given))
        step = request.step if request.HasField("step") else None
        items = [sample_from_proto(s, str(i)) for i, s in enumerate(request.samples)]
        self._check_response_fits(items, request)
        del request, given  # the dataclasses hold what is needed
        results = self.run(items, budget, ticket, queued, spec, step)
        return self._encode(results, box["request_id"])

    def _check_response_fits(self, items: list[Sample | Result], request: pb.ScoreRequest) -> None:
        """Refuse before scoring a batch whose response could not be sent: ids and
        metadata come back whole, golds up to MAX_ECHO_CHARS."""
        floor = 0
        for item, message in zip(items, request.samples, strict=True):
            floor += RESULT_BYTES + len(item.id)
            if isinstance(item, Sample):
                if item.metadata is not None:
                    floor += message.metadata.ByteSize()
                if isinstance(item.reference, MathReference):
                    floor += min(len(item.reference.answer), MAX_ECHO_CHARS)
        if floor > self.cfg.max_message_bytes:
            n = len(items)
            fit = max(1, n * self.cfg.max_message_bytes // floor // 2)
            raise Refused(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"the response to these {n} samples would take at least {floor} bytes, over "
                f"max_message_bytes={self.cfg.max_message_bytes}; send at most about {fit} per call",
            )

    def _encode(self, results: list[Result], request_id: str) -> bytes:
        response = pb.ScoreResponse(request_id=request_id)
        add = response.results.add
        for result in results:
            result_into(add(), result)
        data = response.SerializeToString()
        if len(data) <= self.cfg.max_message_bytes:
            return data
        # Too big to send: keep every reward and status, drop the details, say so.
        note = f"details dropped: the response exceeded max_message_bytes={self.cfg.max_message_bytes}"
        dropped = details_text({"details_dropped": note})
        for message in response.results:
            message.details_json = dropped
        data = response.SerializeToString()
        if len(data) <= self.cfg.max_message_bytes:
            return data
        raise Refused(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"the response ({len(data)} bytes even without details) exceeds max_message_bytes="
            f"{self.cfg.max_message_bytes}; send fewer samples per call",
        )

    async def ServerInfo(self, raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        try:
            pb.ServerInfoRequest.FromString(raw)
        except DecodeError as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"malformed ServerInfoRequest: {error}")
        readiness = await asyncio.get_running_loop().run_in_executor(None, self.engine.readiness)
        from rewards.code import Maxima
        from rewards.code.judge import Limits

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
            limits=self._limits(),
        ).SerializeToString()

    def _limits(self) -> pb.Limits:
        cfg = self.cfg
        return pb.Limits(
            max_batch_samples=cfg.max_batch_samples,
            max_queued_samples=cfg.max_queued_samples,
            max_queued_bytes=cfg.max_queued_bytes,
            max_message_bytes=cfg.max_message_bytes,
            default_deadline_s=cfg.default_deadline_s,
            math_budget_s=cfg.math_budget_s,
            http_read_timeout_s=cfg.http_read_timeout_s,
            grace_s=cfg.grace_s,
            drain_notice_s=cfg.drain_notice_s,
            ledger_max_groups=cfg.ledger_max_groups,
            max_message_chars=MAX_MESSAGE_CHARS,
            max_echo_chars=MAX_ECHO_CHARS,
        )

    def handler(self) -> grpc.GenericRpcHandler:
        """Both methods take and return bytes: (de)serialising is the service's own work."""
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "Score": grpc.unary_unary_rpc_method_handler(self.Score),
                "ServerInfo": grpc.unary_unary_rpc_method_handler(self.ServerInfo),
            },
        )


def _stopped(budget: Budget, when: str) -> Refused:
    if budget.remaining() <= 0:
        return Refused(grpc.StatusCode.DEADLINE_EXCEEDED, f"the call's deadline passed {when}")
    return Refused(grpc.StatusCode.CANCELLED, f"the call was cancelled {when}")


def _metadata_request_id(context: grpc.aio.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "x-request-id" and isinstance(value, str) and value:
            return value[:200]
    return uuid.uuid4().hex[:12]


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
        return _deny_handler(details.method)


def _deny_handler(method: str) -> grpc.RpcMethodHandler:
    async def deny(request: object, context: grpc.aio.ServicerContext) -> None:
        count_call("UNAUTHENTICATED", _metadata_request_id(context), "unauthenticated", method=method)
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")

    return grpc.unary_unary_rpc_method_handler(deny)


# --------------------------------------------------------------------------- running


@dataclass
class Running:
    server: grpc.aio.Server
    health: health.aio.HealthServicer
    service: RewardService
    port: int
    http: HttpEndpoint | None = None


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
    if cfg.max_connection_age_s is not None:
        options += [
            ("grpc.max_connection_age_ms", int(cfg.max_connection_age_s * 1000)),
            ("grpc.max_connection_age_grace_ms", int(cfg.default_deadline_s * 1000)),
        ]
    server = grpc.aio.server(interceptors=[TokenAuth(token)] if token else [], options=options)
    service = RewardService(engine, cfg)
    server.add_generic_rpc_handlers((service.handler(),))
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
    http = None
    if cfg.http_port is not None:
        from verirl.http import HttpEndpoint

        http = HttpEndpoint(service, token)
        await http.start(cfg.host, cfg.http_port)
    for name in ("", SERVICE):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return Running(server, health_servicer, service, port, http)


async def stop(running: Running, grace_s: float, notice_s: float = 0.0) -> None:
    """Drain: NOT_SERVING (for ``notice_s``, while still answering), then refuse new
    calls and let in-flight ones finish within ``grace_s``."""
    for name in ("", SERVICE):
        await running.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    await asyncio.sleep(notice_s)
    http_drained = running.http.stop(grace_s) if running.http else asyncio.sleep(0)
    await asyncio.gather(running.server.stop(grace_s), http_drained)
    running.service.executor.shutdown(wait=False, cancel_futures=True)


_POOL_NAMES = {Kind.MATH: "math", Kind.CODE: "sandbox", Kind.MODEL: "model"}  # metric labels


def _update_pool_metrics(engine: Engine) -> None:
    for kind, scorer in engine.scorers.items():
        stats = scorer.stats()
        metrics.POOL_SIZE.labels(_POOL_NAMES[kind]).set(stats.workers)
        metrics.RECYCLED.labels(_POOL_NAMES[kind]).set(stats.replaced)
        for device, forwards in stats.forwards.items():
            metrics.MODEL_FORWARDS.labels(device).set(forwards)
            metrics.MODEL_ITEMS.labels(device).set(stats.items.get(device, 0))


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
    running = await start(engine, cfg)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    log.info(json.dumps({"event": "serving", "address": f"{cfg.host}:{running.port}"}))
    if running.http is not None:
        _announce(f"verirl HTTP (OpenRLHF) on {cfg.host}:{running.http.port}")
    _announce(f"verirl serving on {cfg.host}:{running.port}")
    while not stopping.is_set():
        _update_pool_metrics(engine)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=5)
    log.info(json.dumps({"event": "draining", "grace_s": cfg.grace_s}))
    await stop(running, cfg.grace_s, cfg.drain_notice_s)
    await loop.run_in_executor(None, engine.close)  # removes the containers
    log.info(json.dumps({"event": "stopped"}))
    return 0


def _announce(line: str) -> None:
    """A line for people and scripts that wait for the port. One write: ``print`` writes
    the text and the newline separately, and the logging thread's line could land between."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


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


class _DroppingQueueHandler(logging.handlers.QueueHandler):
    """Drops a record when the queue is full rather than block or raise."""

    def enqueue(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(record)


def _write_stderr(text: str) -> None:
    """``os.write`` on descriptor 2: a write that blocks holds no lock (not ``sys.stderr``'s,
    not a logging handler's), so a writer stuck on a full pipe cannot wedge the exit. A
    line under 4 KiB reaches a pipe whole."""
    data = text.encode("utf-8", "backslashreplace")
    while data:
        data = data[os.write(2, data) :]


@contextlib.contextmanager
def _logging_off_the_loop(max_queued: int = 10_000, exit_wait_s: float = 5.0) -> Iterator[None]:
    """Log records are written to stderr by a thread of their own. A write blocks while
    the reader of stderr (a pipe, a container's log driver) is behind, and on the event
    loop that stalls every call and health check. Records beyond ``max_queued`` unwritten
    ones are dropped, and at exit the writer gets ``exit_wait_s`` to finish."""
    records: queue.Queue[logging.LogRecord | None] = queue.Queue(max_queued)
    line = logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")

    def write() -> None:
        while (record := records.get()) is not None:
            with contextlib.suppress(OSError):  # stderr closed: the lines are lost, not the server
                _write_stderr(line.format(record) + "\n")

    thread = threading.Thread(target=write, name="verirl-log", daemon=True)
    handler = _DroppingQueueHandler(records)
    handler.setFormatter(logging.Formatter("%(message)s"))  # the writer adds the rest
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    thread.start()
    try:
        yield
    finally:
        with contextlib.suppress(queue.Full):
            records.put(None, timeout=1.0)
        thread.join(exit_wait_s)


def run(args: argparse.Namespace) -> int:
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack
    overrides = {k: v for k, v in vars(args).items() if k not in ("config", "run", "command")}
    try:
        cfg = config.load(args.config, overrides)
        cfg.check()
    except (ValueError, OSError) as error:
        print(f"verirl serve: {error}", file=sys.stderr)
        return 2
    try:
        with _logging_off_the_loop():
            return asyncio.run(serve(cfg))
    except StartupError as error:
        print(f"verirl serve: {error}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="server.py", description="verirl gRPC reward server")
    add_arguments(parser)
    return run(parser.parse_args(argv))
