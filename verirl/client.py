"""Clients of the reward server, sync and asyncio.

Both split a list of samples into batches (by count and by bytes: a batch stays under
half of ``max_message_bytes``, leaving room for the echoes in the response; both limits
are lowered to the server's own, which the client asks for once), send the
batches concurrently, retry a batch only when the server never ran it (:func:`retryable`,
with backoff), set a deadline
on every call, and return one result per sample in order. The server validates; the
client only turns each sample into a message, and a sample that cannot be put in one
(unknown fields, wrong types, text that is not UTF-8) gets its ``invalid_input`` result
locally and is never sent. ``target`` is any gRPC target: ``host:port``, several
servers as ``ipv4:10.0.0.1:50051,10.0.0.2:50051``, or ``dns:///name:50051``; load is
spread with ``round_robin`` (gRPC's default, ``pick_first``, does no balancing).

``spec`` composes the rewards (:class:`rewards.compose.RewardSpec`; a dict overrides only
its keys of the server's defaults) and ``step`` is the training step. Batching never
splits a ``group``: a batch grows past ``batch_size`` rather than cut one, because group
terms (the length penalty) must see the whole group in one request.

Example (needs a running server, so the doctest is skipped):
    >>> from verirl.client import RewardClient
    >>> with RewardClient("127.0.0.1:50051") as client:  # doctest: +SKIP
    ...     [r.reward for r in client.score([{"id": "1", "kind": "math",
    ...         "response": "\\\\boxed{4}", "reference": {"answer": "4"}}])]
    [1.0]
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import grpc

from rewards.compose import RewardSpec
from rewards.schema import JSON, MAX_MESSAGE_CHARS, ContractError, Result, Sample, decode_sample
from verirl.convert import dict_to_proto, result_from_proto, sample_to_proto, spec_to_proto
from verirl.v1 import reward_pb2 as pb
from verirl.v1 import reward_pb2_grpc as pb_grpc

SpecLike = RewardSpec | dict[str, JSON] | None

_SERVICE_CONFIG = json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})


@dataclass(frozen=True)
class ClientOptions:
    token: str | None = None
    tls_ca: str | None = None  # PEM CA to verify the server; turns TLS on
    tls_cert: str | None = None  # client certificate and key, for mutual TLS
    tls_key: str | None = None
    batch_size: int = 1024
    concurrency: int = 8  # batches in flight at once
    timeout_s: float = 600.0  # deadline of each call
    retries: int = 3  # only where retryable() says the server never ran the call
    max_message_bytes: int = 256 << 20

    def channel_args(self) -> list[tuple[str, Any]]:
        return [
            ("grpc.max_receive_message_length", self.max_message_bytes),
            ("grpc.max_send_message_length", self.max_message_bytes),
            ("grpc.service_config", _SERVICE_CONFIG),
            ("grpc.enable_retries", 0),  # we retry ourselves, see retryable()
        ]

    def credentials(self) -> grpc.ChannelCredentials | None:
        if not self.tls_ca:
            return None

        def read(path: str | None) -> bytes | None:
            if path is None:
                return None
            with open(path, "rb") as handle:
                return handle.read()

        return grpc.ssl_channel_credentials(read(self.tls_ca), read(self.tls_key), read(self.tls_cert))

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()


Batch = list[tuple[int, pb.Sample]]


def _prepare(
    samples: Sequence[Sample | dict[str, JSON]],
) -> tuple[list[Result | None], Batch]:
    """Messages to send, with their positions; local results for what cannot be sent."""
    results: list[Result | None] = [None] * len(samples)
    to_send: Batch = []
    for i, item in enumerate(samples):
        try:
            # text that is not UTF-8 fails on assignment
            message = sample_to_proto(item) if isinstance(item, Sample) else dict_to_proto(item)
        except Exception as error:  # anything a message cannot carry: say why, locally
            results[i] = _unsendable(item, i, error)
            continue
        to_send.append((i, message))
    return results, to_send


def _unsendable(item: Sample | dict[str, JSON], i: int, error: Exception) -> Result:
    decoded = item if isinstance(item, Sample) else decode_sample(item, fallback_id=str(i))
    if isinstance(decoded, Result):
        result = decoded  # the contract's own message, naming the field
    else:
        problem = f"cannot be sent to the server: {type(error).__name__}: {error}"
        result = Result.invalid(decoded.id, ContractError("sample", problem))
    if len(result.message) > MAX_MESSAGE_CHARS:  # as long as the server's, no longer
        result.message = result.message[:MAX_MESSAGE_CHARS] + "…[cut]"
    return result


def _batches(to_send: Batch, size: int, max_bytes: int = 128 << 20) -> list[Batch]:
    """Batches of about ``size`` samples and under ``max_bytes``, each group whole (a
    batch grows past the limits rather than cut one), groups in first-seen order."""
    units: dict[object, Batch] = {}
    for i, message in to_send:
        key = message.group if message.HasField("group") else (i,)
        units.setdefault(key, []).append((i, message))
    batches: list[Batch] = []
    current: Batch = []
    current_bytes = 0
    for unit in units.values():
        unit_bytes = sum(m.ByteSize() + 8 for _, m in unit)
        if current and (len(current) + len(unit) > size or current_bytes + unit_bytes > max_bytes):
            batches.append(current)
            current, current_bytes = [], 0
        current.extend(unit)
        current_bytes += unit_bytes
    if current:
        batches.append(current)
    return batches


def _spec(spec: SpecLike) -> pb.RewardSpec | None:
    return None if spec is None else spec_to_proto(spec)


def _request(batch: Batch, spec: pb.RewardSpec | None, step: int | None) -> pb.ScoreRequest:
    request = pb.ScoreRequest(samples=[m for _, m in batch])
    if spec is not None:
        request.spec.CopyFrom(spec)
    if step is not None:
        request.step = step
    return request


def _place(
    results: list[Result | None], batches: list[Batch], responses: Sequence[pb.ScoreResponse]
) -> list[Result]:
    for batch, response in zip(batches, responses, strict=True):
        for (i, _), message in zip(batch, response.results, strict=True):
            results[i] = result_from_proto(message)
    return [r for r in results if r is not None]


def _sizes(options: ClientOptions, limits: pb.Limits | None) -> tuple[int, int]:
    """Samples and bytes per batch: the options', lowered to what the server accepts (a
    batch stays under half of a message, leaving room for the echoes in the response)."""
    size, message_bytes = options.batch_size, options.max_message_bytes
    if limits is not None and limits.max_batch_samples > 0:
        size = min(size, limits.max_batch_samples)
    if limits is not None and limits.max_message_bytes > 0:
        message_bytes = min(message_bytes, limits.max_message_bytes)
    return size, message_bytes // 2


def _limits_after(error: grpc.RpcError) -> pb.Limits | None:
    """What to remember when ServerInfo failed: no limits for a server that has no such
    call; nothing (ask again on the next score) after a passing fault, which the Score
    call itself will meet."""
    return pb.Limits() if error.code() == grpc.StatusCode.UNIMPLEMENTED else None


def retryable(error: grpc.RpcError) -> bool:
    """Whether a failed call is safe and useful to send again: the server never ran it.

    ``UNAVAILABLE`` is the server refusing or going away. ``CANCELLED`` is here because our
    clients never cancel a call themselves (an asyncio cancellation raises ``CancelledError``,
    not an RPC error), and gRPC answers a call still queued for a handler when a server
    shuts down with ``CANCELLED`` rather than ``UNAVAILABLE`` (grpc/grpc#41785). Scoring
    is a pure function of the request, so running a call twice cannot change a reward.
    """
    return error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)


def backoff(attempt: int) -> float:
    """Seconds to wait before retry ``attempt + 1``: 0.2 s doubling, at most 5 s."""
    return min(0.2 * 2**attempt, 5.0)


class RewardClient:
    """Blocking client; thread-safe."""

    def __init__(
        self, target: str = "127.0.0.1:50051", options: ClientOptions | None = None, **kw: Any
    ) -> None:
        self.options = options or ClientOptions(**kw)
        credentials = self.options.credentials()
        args = self.options.channel_args()
        self.channel = (
            grpc.secure_channel(target, credentials, args)
            if credentials
            else grpc.insecure_channel(target, args)
        )
        self.stub = pb_grpc.RewardServiceStub(self.channel)
        self._threads = ThreadPoolExecutor(self.options.concurrency, thread_name_prefix="verirl-client")
        self._limits: pb.Limits | None = None  # the server's, read on the first score

    def score(
        self, samples: Sequence[Sample | dict[str, JSON]], spec: SpecLike = None, step: int | None = None
    ) -> list[Result]:
        results, to_send = _prepare(samples)
        batches = _batches(to_send, *_sizes(self.options, self._server_limits()))
        message = _spec(spec)
        requests = [_request(b, message, step) for b in batches]
        if len(requests) == 1:  # no thread hand-off for the common case
            return _place(results, batches, [self._call(requests[0])])
        return _place(results, batches, list(self._threads.map(self._call, requests)))

    def _call(self, request: pb.ScoreRequest) -> pb.ScoreResponse:
        for attempt in range(self.options.retries + 1):
            try:
                return self.stub.Score(
                    request, timeout=self.options.timeout_s, metadata=self.options.metadata()
                )
            except grpc.RpcError as error:
                if not retryable(error) or attempt == self.options.retries:
                    raise
                time.sleep(backoff(attempt))
        raise AssertionError("unreachable")

    def info(self) -> pb.ServerInfoResponse:
        return self.stub.ServerInfo(pb.ServerInfoRequest(), timeout=30, metadata=self.options.metadata())

    def _server_limits(self) -> pb.Limits | None:
        """The server's limits, asked once; None (the options alone) while it cannot say."""
        if self._limits is None:
            try:
                self._limits = self.info().limits
            except grpc.RpcError as error:
                self._limits = _limits_after(error)
        return self._limits

    def close(self) -> None:
        self._threads.shutdown(wait=False)
        self.channel.close()

    def __enter__(self) -> RewardClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRewardClient:
    """asyncio client; create it inside the event loop that uses it."""

    def __init__(
        self, target: str = "127.0.0.1:50051", options: ClientOptions | None = None, **kw: Any
    ) -> None:
        self.options = options or ClientOptions(**kw)
        credentials = self.options.credentials()
        args = self.options.channel_args()
        self.channel = (
            grpc.aio.secure_channel(target, credentials, args)
            if credentials
            else grpc.aio.insecure_channel(target, args)
        )
        self.stub = pb_grpc.RewardServiceStub(self.channel)
        self._slots = asyncio.Semaphore(self.options.concurrency)
        self._limits: pb.Limits | None = None  # the server's, read on the first score

    async def score(
        self, samples: Sequence[Sample | dict[str, JSON]], spec: SpecLike = None, step: int | None = None
    ) -> list[Result]:
        results, to_send = _prepare(samples)
        batches = _batches(to_send, *_sizes(self.options, await self._server_limits()))
        message = _spec(spec)
        responses = await asyncio.gather(*(self._call(_request(b, message, step)) for b in batches))
        return _place(results, batches, responses)

    async def _call(self, request: pb.ScoreRequest) -> pb.ScoreResponse:
        async with self._slots:
            for attempt in range(self.options.retries + 1):
                try:
                    return await self.stub.Score(
                        request, timeout=self.options.timeout_s, metadata=self.options.metadata()
                    )
                except grpc.aio.AioRpcError as error:
                    if not retryable(error) or attempt == self.options.retries:
                        raise
                    await asyncio.sleep(backoff(attempt))
        raise AssertionError("unreachable")

    async def info(self) -> pb.ServerInfoResponse:
        return await self.stub.ServerInfo(
            pb.ServerInfoRequest(), timeout=30, metadata=self.options.metadata()
        )

    async def _server_limits(self) -> pb.Limits | None:
        if self._limits is None:
            try:
                self._limits = (await self.info()).limits
            except grpc.aio.AioRpcError as error:
                self._limits = _limits_after(error)
        return self._limits

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> AsyncRewardClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
