"""The load generator: ``grpc.aio`` calls to ``Score`` in a closed or an open loop.

* **Closed loop** — ``concurrency`` callers, each sending a request of ``batch`` samples
  as soon as its previous one is answered: the throughput a trainer with that many
  requests in flight gets.
* **Open loop** — requests arrive at ``rate`` per second (Poisson: exponential gaps
  from a seeded generator) whether or not earlier ones were answered, as independent
  rollout workers would send them. When the server cannot keep up, requests pile up;
  past ``max_outstanding`` new arrivals are skipped and counted, which bounds the run and
  is reported as the server falling behind.

Every call carries a deadline and is retried only where :func:`verirl.client.retryable`
says the server never ran it, with the backoff of :mod:`verirl.client` (the same
``round_robin`` channel settings too, from :class:`verirl.client.ClientOptions`), so a
replica that goes away costs a retry on another, never a sample.
Soak runs add random client cancellations and short deadlines.

Every sample sent gets a unique id ``<call>.<position>``; the :class:`Ledger` checks that
each ends with exactly one outcome: one result, or the error of its call (cancelled,
deadline exceeded). A result missing from an answered call is *lost*, a second result for
the same id *duplicated*, a result for an id never sent *unexpected*.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from bench.workloads import Workload
from rewards.schema import Result, decode_sample
from verirl.client import ClientOptions, backoff, retryable
from verirl.convert import sample_to_proto
from verirl.v1 import reward_pb2 as pb
from verirl.v1 import reward_pb2_grpc as pb_grpc

STATUS_NAMES = {value: pb.Status.Name(value).lower() for value in pb.Status.values()}


@dataclass
class LoadSpec:
    concurrency: int = 1  # closed loop: callers; open loop: ignored
    batch: int = 8  # samples per request (whole groups: may be a little more)
    duration_s: float | None = 10.0  # measured phase length (or ``requests``)
    requests: int | None = None  # measured phase: this many requests instead
    rate: float | None = None  # open loop: requests per second
    warmup_s: float = 1.0  # a phase before the measured one, excluded from every figure
    timeout_s: float = 120.0  # deadline of each call
    retries: int = 3  # where verirl.client.retryable, as verirl.client
    max_outstanding: int = 512  # open loop: requests in flight before arrivals are skipped
    cancel_fraction: float = 0.0  # share of calls the client cancels at a random moment
    cancel_within_s: float = 1.0  # ... within this long after sending
    deadline_fraction: float = 0.0  # share of calls with a short random deadline
    deadline_range_s: tuple[float, float] = (0.05, 1.0)
    seed: int = 0
    drain_s: float = 300.0  # how long the end of a phase waits for calls still in flight

    def check(self) -> None:
        if (self.duration_s is None) == (self.requests is None):
            raise ValueError("give exactly one of a duration or a request count")
        if self.rate is not None and self.rate <= 0:
            raise ValueError(f"rate must be > 0, got {self.rate}")
        if self.concurrency < 1 or self.batch < 1:
            raise ValueError("concurrency and batch must be >= 1")


class Pool:
    """The workload as ready messages; requests take whole units round the pool."""

    def __init__(self, workload: Workload) -> None:
        self.units: list[list[tuple[pb.Sample, str]]] = []
        for unit in workload.units:
            messages = []
            for item in unit:
                sample = decode_sample(item)
                if isinstance(sample, Result):
                    raise ValueError(f"sample {sample.id!r} breaks the data contract: {sample.message}")
                messages.append((sample_to_proto(sample), sample.kind.value))
            self.units.append(messages)
        self.cursor = 0

    def take(self, seq: int, batch: int) -> tuple[pb.ScoreRequest, list[str]]:
        request = pb.ScoreRequest(request_id=f"bench-{seq}")
        kinds: list[str] = []
        while len(kinds) < batch:
            for template, kind in self.units[self.cursor % len(self.units)]:
                message = request.samples.add()
                message.CopyFrom(template)
                message.id = f"{seq}.{len(kinds)}"
                if template.HasField("group"):
                    message.group = f"{seq}.{template.group}"  # groups stay within their request
                kinds.append(kind)
            self.cursor += 1
        return request, kinds


class Ledger:
    """Exactly one outcome per sample id, counted per call (compact for long soaks)."""

    def __init__(self) -> None:
        self.calls: dict[int, bytearray] = {}  # seq -> outcomes per position
        self.unexpected: list[str] = []
        self.errors: Counter[str] = Counter()  # samples whose call failed, by code

    def opened(self, seq: int, n: int) -> None:
        self.calls[seq] = bytearray(n)

    def results(self, seq: int, ids: list[str]) -> None:
        for id_ in ids:
            call, _, position = id_.partition(".")
            counts = self.calls.get(int(call)) if call.isdigit() else None
            if counts is None or not position.isdigit() or int(position) >= len(counts):
                self.unexpected.append(id_)
                continue
            counts[int(position)] = min(255, counts[int(position)] + 1)

    def failed(self, seq: int, code: str) -> None:
        counts = self.calls[seq]
        self.errors[code] += len(counts)
        for i in range(len(counts)):
            counts[i] = min(255, counts[i] + 1)

    def verify(self, examples: int = 5) -> dict:
        lost, duplicated = [], []
        n_lost = n_dup = sent = 0
        for seq, counts in self.calls.items():
            sent += len(counts)
            for position, count in enumerate(counts):
                if count == 0:
                    n_lost += 1
                    if len(lost) < examples:
                        lost.append(f"{seq}.{position}")
                elif count > 1:
                    n_dup += 1
                    if len(duplicated) < examples:
                        duplicated.append(f"{seq}.{position}")
        return {
            "samples_sent": sent,
            "lost": n_lost,
            "duplicated": n_dup,
            "unexpected": len(self.unexpected),
            "examples": {"lost": lost, "duplicated": duplicated, "unexpected": self.unexpected[:examples]},
            "call_errors": dict(self.errors),
            "exactly_one_each": n_lost == 0 and n_dup == 0 and not self.unexpected,
        }


@dataclass
class Phase:
    """What one phase measured (raw; :mod:`bench.report` summarises)."""

    started: float = 0.0
    ended: float = 0.0
    rpc_latency: list[float] = field(default_factory=list)  # answered calls only
    rpc_samples: list[int] = field(default_factory=list)
    scorer_s: list[float] = field(default_factory=list)  # per sample, the scorer's own timing
    statuses: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[tuple[str, str]] = field(default_factory=Counter)
    call_codes: Counter[str] = field(default_factory=Counter)  # every call's final code
    error_examples: dict[str, str] = field(default_factory=dict)  # first message per failure code
    retries: int = 0
    skipped: int = 0  # open loop: arrivals skipped because max_outstanding were in flight
    max_outstanding: int = 0
    send_lag: list[float] = field(default_factory=list)  # open loop: sent - scheduled
    sent_at: list[float] = field(default_factory=list)  # open loop: send times
    timeline: list[tuple[float, int, int]] = field(default_factory=list)  # (t, samples, 1 if ok)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU ms per sample answered, by side


Tamper = Callable[[int, list[pb.Result]], list[pb.Result] | None]


class Generator:
    """Drives one target (any gRPC target; several servers balance round robin)."""

    def __init__(
        self,
        target: str,
        workload: Workload,
        spec: LoadSpec,
        *,
        token: str | None = None,
        tamper: Tamper | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        spec.check()
        self.target = target
        self.spec = spec
        self.pool = Pool(workload)
        self.options = ClientOptions(token=token, timeout_s=spec.timeout_s, retries=spec.retries)
        self.ledger = Ledger()
        self.tamper = tamper  # tests only: corrupts answers to prove the ledger notices
        self.progress = progress
        self.rng = random.Random(spec.seed)
        self.seq = 0
        self.outstanding = 0
        self.tasks: set[asyncio.Task] = set()

    async def __aenter__(self) -> Generator:
        self.channel = grpc.aio.insecure_channel(self.target, self.options.channel_args())
        self.stub = pb_grpc.RewardServiceStub(self.channel)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.channel.close()

    async def info(self) -> pb.ServerInfoResponse:
        return await self.stub.ServerInfo(
            pb.ServerInfoRequest(), timeout=30, metadata=self.options.metadata()
        )

    # ------------------------------------------------------------------ one call

    def _reserve(self, phase: Phase) -> None:
        """Counts a call in flight from the moment it is decided (the open loop's cap must
        see calls whose tasks have not started yet); :meth:`_call` releases it."""
        self.outstanding += 1
        phase.max_outstanding = max(phase.max_outstanding, self.outstanding)

    async def _call(self, phase: Phase | None) -> None:
        seq = self.seq
        self.seq += 1
        request, kinds = self.pool.take(seq, self.spec.batch)
        self.ledger.opened(seq, len(kinds))
        timeout = self.spec.timeout_s
        if self.rng.random() < self.spec.deadline_fraction:
            timeout = self.rng.uniform(*self.spec.deadline_range_s)
        cancel_after = None
        if self.rng.random() < self.spec.cancel_fraction:
            cancel_after = self.rng.uniform(0, self.spec.cancel_within_s)
        start = time.perf_counter()
        deadline = start + timeout
        code, response, retries, detail = "OK", None, 0, ""
        try:
            for attempt in range(self.spec.retries + 1):
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    code = "DEADLINE_EXCEEDED"
                    break
                call = self.stub.Score(request, timeout=remaining, metadata=self.options.metadata())
                timer, fired = None, []
                if cancel_after is not None:
                    wait = max(0.0, cancel_after - (time.perf_counter() - start))

                    def cancel(call=call, fired=fired) -> None:
                        fired.append(True)
                        call.cancel()

                    timer = asyncio.get_running_loop().call_later(wait, cancel)
                try:
                    response = await call
                    code = "OK"
                    break
                except asyncio.CancelledError:
                    if not fired:
                        raise  # the task itself was cancelled, not only this call
                    code = "CANCELLED"
                    break
                except grpc.aio.AioRpcError as error:
                    code, detail = error.code().name, error.details() or ""
                    if not retryable(error) or attempt == self.spec.retries:
                        break
                    retries += 1
                    await asyncio.sleep(backoff(attempt))
                finally:
                    if timer is not None:
                        timer.cancel()
        finally:
            self.outstanding -= 1
        latency = time.perf_counter() - start
        results = list(response.results) if response is not None else None
        if results is not None and self.tamper is not None:
            results = self.tamper(seq, results)
            if results is None:
                return  # a lost answer: the ledger will find its samples without an outcome
        if results is not None:
            self.ledger.results(seq, [r.id for r in results])
        else:
            self.ledger.failed(seq, code)
        if phase is None:
            return
        phase.call_codes[code] += 1
        phase.retries += retries
        if results is None:
            phase.error_examples.setdefault(code, detail)
            phase.timeline.append((time.perf_counter(), 0, 0))
            return
        phase.rpc_latency.append(latency)
        phase.rpc_samples.append(len(kinds))
        phase.timeline.append((time.perf_counter(), len(results), 1))
        by_id = {f"{seq}.{i}": kind for i, kind in enumerate(kinds)}
        for result in results:
            status = STATUS_NAMES.get(result.status, str(result.status))
            phase.statuses[status] += 1
            phase.by_kind[(by_id.get(result.id, "?"), status)] += 1
            own = [v for k, v in result.timings.items() if k != "batch_s"]
            if own:
                phase.scorer_s.append(max(own))
        if self.progress is not None:
            self.progress(len(results))

    # ------------------------------------------------------------------ phases

    async def run_phase(self, *, measured: bool, duration_s: float | None, requests: int | None) -> Phase:
        phase = Phase(started=time.perf_counter())
        record = phase if measured else None
        end = None if duration_s is None else phase.started + duration_s
        if self.spec.rate is None:
            await self._closed(record, end, requests)
        else:
            await self._open(phase, record, end, requests)
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=self.spec.drain_s)
            for task in pending:
                task.cancel()
        phase.ended = max([phase.started] + [t for t, _, _ in phase.timeline])
        return phase

    async def _closed(self, phase: Phase | None, end: float | None, requests: int | None) -> None:
        issued = 0
        counted = phase or Phase()

        async def caller() -> None:
            nonlocal issued
            while (end is None or time.perf_counter() < end) and (requests is None or issued < requests):
                issued += 1
                self._reserve(counted)
                await self._call(phase)

        await asyncio.gather(*(caller() for _ in range(self.spec.concurrency)))

    async def _open(
        self, phase: Phase, record: Phase | None, end: float | None, requests: int | None
    ) -> None:
        assert self.spec.rate is not None
        scheduled = time.perf_counter()
        arrivals = 0
        while requests is None or arrivals < requests:
            scheduled += self.rng.expovariate(self.spec.rate)
            if end is not None and scheduled >= end:
                break
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            arrivals += 1
            if self.outstanding >= self.spec.max_outstanding:
                phase.skipped += 1
                continue
            self._reserve(phase)
            now = time.perf_counter()
            phase.send_lag.append(now - scheduled)
            phase.sent_at.append(now)
            task = asyncio.create_task(self._call(record))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def run(self, on_measured_start: Callable[[], object] | None = None) -> tuple[Phase, dict]:
        """Warm-up (if any), then the measured phase; returns it and the ledger's check."""
        if self.spec.warmup_s > 0:
            await self.run_phase(measured=False, duration_s=self.spec.warmup_s, requests=None)
        if on_measured_start is not None:
            result = on_measured_start()
            if asyncio.iscoroutine(result):
                await result
        phase = await self.run_phase(
            measured=True, duration_s=self.spec.duration_s, requests=self.spec.requests
        )
        return phase, self.ledger.verify()
