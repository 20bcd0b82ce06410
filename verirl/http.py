"""The HTTP endpoint (OpenRLHF's remote reward protocol), under the same limits as gRPC.

Why an asyncio server of our own and not ``http.server`` or a framework: it runs on the
gRPC server's event loop, so it shares the admission, the batch threads, the deadline
handling and the drain with gRPC by construction rather than by copying; it adds no
dependency; and the protocol needed is a small, strict subset of HTTP/1.1 — one
``POST`` with a ``Content-Length`` body per connection — which fits in this file and is
easy to bound. ``http.server`` (the first version) spent a thread per connection with no
timeouts and trusted ``Content-Length``.

Every limit of the gRPC path holds here:

- the body: ``Content-Length`` is required (chunked bodies get 411/501) and at most
  ``max_message_bytes`` (413); the head is at most 64 KiB (431); head and body must arrive
  within ``http_read_timeout_s`` (408);
- admission: the body's bytes, then its samples, count against ``max_queued_bytes`` and
  ``max_queued_samples`` (429 with ``Retry-After``), and ``max_batch_samples`` (400);
- the deadline: the ``X-Verirl-Timeout`` header (seconds) or ``default_deadline_s``; when it
  passes the work stops and the reply is 504;
- a client that disconnects cancels its work, as a cancelled gRPC call does;
- bad input is a 4xx with ``{"error": message}``; the listen backlog is
  ``http_backlog``; on SIGTERM the listener closes (new connections are refused) and
  requests in flight finish within the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import math
import time
import uuid
from typing import TYPE_CHECKING

import grpc

from rewards.scoring import Budget
from verirl.adapters import openrlhf
from verirl.server import Refused, Ticket, count_call, log

if TYPE_CHECKING:
    from verirl.server import RewardService

MAX_HEAD = 64 * 1024
TIMEOUT_HEADER = "x-verirl-timeout"
REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Content Too Large",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_CODE_OF = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    429: "RESOURCE_EXHAUSTED",
    504: "DEADLINE_EXCEEDED",
}


class _Reply(Exception):
    def __init__(
        self, status: int, message: str, headers: dict[str, str] | None = None, counted: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.counted = counted  # already counted and logged where it happened


class HttpEndpoint:
    def __init__(self, service: RewardService, token: str | None) -> None:
        self.service = service
        self.cfg = service.cfg
        self.expected = f"Bearer {token}".encode() if token else None
        self.server: asyncio.base_events.Server | None = None
        self.port: int | None = None
        self.draining = False
        self._connections: set[asyncio.Task] = set()

    async def start(self, host: str, port: int) -> None:
        self.server = await asyncio.start_server(
            self._connection, host, port, backlog=self.cfg.http_backlog, limit=MAX_HEAD
        )
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self, grace_s: float) -> None:
        """Stop listening (new connections are refused), let requests in flight finish
        within ``grace_s``, then cut the rest."""
        self.draining = True
        if self.server is not None:
            self.server.close()
        pending = [task for task in self._connections if not task.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace_s)
            for task in late:
                task.cancel()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        request_id = uuid.uuid4().hex[:12]
        try:
            status, payload, headers = await self._handle(reader, writer, request_id)
            if status is not None:
                await self._send(writer, status, payload, {**headers, "X-Request-Id": request_id})
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass  # the client left or stopped reading; its work, if any, was cancelled
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 5)

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request_id: str
    ) -> tuple[int | None, bytes, dict[str, str]]:
        try:
            return 200, await self._score(reader, request_id), {}
        except _Reply as reply:
            if not reply.counted:
                code = _CODE_OF.get(reply.status, f"HTTP_{reply.status}")
                count_call(code, request_id, "refused", http_status=reply.status, message=reply.message[:300])
            return reply.status, json.dumps({"error": reply.message}).encode(), reply.headers
        except _Gone:
            return None, b"", {}
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            raise
        except Exception:
            log.exception("HTTP request failed (request_id %s)", request_id)
            count_call("INTERNAL", request_id, "failed", via="http")
            message = f"internal error (request_id {request_id}); see the server log"
            return 500, json.dumps({"error": message}).encode(), {}

    async def _score(self, reader: asyncio.StreamReader, request_id: str) -> bytes:
        timeout = self.cfg.http_read_timeout_s
        head = await _read_head(reader, timeout)
        method, headers = _parse_head(head)
        if method != "POST":
            raise _Reply(405, f"only POST is served here, got {method}", {"Allow": "POST"})
        if self.expected is not None:
            given = headers.get("authorization", "").encode("latin-1")
            if not hmac.compare_digest(given, self.expected):
                raise _Reply(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
        if self.draining:
            raise _Reply(503, "the server is shutting down", {"Retry-After": "1"})
        length = _content_length(headers, self.cfg.max_message_bytes)
        # the deadline runs from the request's head, as a gRPC deadline runs from the call's
        # start: a slow body uses it up
        budget = Budget(self.service.deadline(_timeout_header(headers)))
        ticket = Ticket(self.service.admission)
        if not ticket.admit(0, length):
            raise _Reply(429, self.service.admission.full(0, length), {"Retry-After": "1"})
        try:
            body = await asyncio.wait_for(reader.readexactly(length), timeout)
        except TimeoutError:
            ticket.release()
            raise _Reply(408, f"the body did not arrive within {timeout:g}s") from None
        except BaseException:
            ticket.release()
            raise
        # from here the work owns the ticket: it is released when the work has stopped
        return await self._run(reader, body, budget, ticket, request_id)

    async def _run(
        self, reader: asyncio.StreamReader, body: bytes, budget: Budget, ticket: Ticket, request_id: str
    ) -> bytes:
        queued = time.perf_counter()
        samples = {"n": 0}
        expired = False

        def work() -> bytes:
            try:
                obj = json.loads(body)
                n = samples["n"] = openrlhf.query_count(obj)
                self.service.admit_samples(ticket, n)
                items = openrlhf.to_samples(obj)
            except ValueError as error:  # json's errors and UnicodeDecodeError are ValueErrors
                raise Refused(grpc.StatusCode.INVALID_ARGUMENT, str(error)) from None
            spec = self.service.spec(b"", dict)
            results = self.service.run(items, budget, ticket, queued, spec, None)
            return json.dumps(openrlhf.reply(results)).encode()

        def gone() -> None:
            code, event = ("DEADLINE_EXCEEDED", "expired") if expired else ("CANCELLED", "cancelled")
            count_call(code, request_id, event, samples=samples["n"], via="http")

        job = asyncio.ensure_future(self.service.call(ticket, budget, work, gone))
        watch: asyncio.Future | None = None
        try:
            while not job.done():
                # a read that ends (EOF) while the work runs means the client left
                if watch is None or watch.done():
                    watch = asyncio.ensure_future(reader.read(65536))
                timeout = max(budget.remaining(), 0)
                first = asyncio.FIRST_COMPLETED
                done, _ = await asyncio.wait({job, watch}, timeout=timeout, return_when=first)
                if not done:
                    # The deadline passed. Answer now, as gRPC does, not when the work has
                    # wound down: cancelling the job cancels the budget (the scorers drop what
                    # is queued and stop at their next check) and releases the admission once
                    # the work has stopped.
                    expired = True
                    job.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await job
                    message = "the call's deadline passed before its results were ready; its work was stopped"
                    raise _Reply(504, message, counted=True)
                if job not in done and (watch.exception() is not None or not watch.result()):
                    job.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await job
                    raise _Gone()
            data = job.result()
            self.service.engine.ledger.commit(ticket.holder)  # delivered now (no step: nothing held)
        except Refused as refused:
            if refused.code == grpc.StatusCode.DEADLINE_EXCEEDED:  # the work saw the deadline first
                count_call("DEADLINE_EXCEEDED", request_id, "expired", samples=samples["n"], via="http")
                raise _Reply(504, refused.message, counted=True) from None
            raise _Reply(refused.http_status, refused.message) from None
        finally:
            if watch is not None:
                watch.cancel()
            if not job.done():
                job.cancel()
        count_call("OK", request_id)
        seconds = round(time.perf_counter() - queued, 4)
        event = {"event": "scored", "request_id": request_id, "samples": samples["n"], "seconds": seconds}
        log.info(json.dumps({**event, "via": "http"}))
        return data

    async def _send(
        self, writer: asyncio.StreamWriter, status: int, data: bytes, headers: dict[str, str]
    ) -> None:
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}"]
        headers = {
            "Content-Type": "application/json",
            "Content-Length": str(len(data)),
            "Connection": "close",
            **headers,
        }
        lines += [f"{name}: {value}" for name, value in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)
        await asyncio.wait_for(writer.drain(), self.cfg.http_read_timeout_s)


class _Gone(Exception):
    """The client disconnected: nobody to answer."""


async def _read_head(reader: asyncio.StreamReader, timeout: float) -> bytes:
    try:
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except TimeoutError:
        raise _Reply(408, f"the request head did not arrive within {timeout:g}s") from None
    except asyncio.LimitOverrunError:
        raise _Reply(431, f"the request head exceeds {MAX_HEAD} bytes") from None
    except asyncio.IncompleteReadError:
        raise _Gone() from None


def _parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _Reply(400, f"not an HTTP/1.x request line: {lines[0][:100]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise _Reply(400, f"malformed header line: {line[:100]!r}")
        key = name.lower()
        if key in headers and key in ("content-length", "transfer-encoding", "authorization"):
            raise _Reply(400, f"header {name} given twice")
        headers[key] = value.strip()
    return parts[0], headers


def _content_length(headers: dict[str, str], limit: int) -> int:
    if "transfer-encoding" in headers:
        raise _Reply(501, "chunked or encoded bodies are not supported; send a Content-Length body")
    value = headers.get("content-length")
    if value is None:
        raise _Reply(411, "a Content-Length header is required")
    if not value.isdigit() or len(value) > 19:
        raise _Reply(400, f"Content-Length must be a non-negative integer, got {value[:40]!r}")
    length = int(value)
    if length > limit:
        message = f"the body ({length} bytes) exceeds max_message_bytes={limit}; send smaller batches"
        raise _Reply(413, message)
    return length


def _timeout_header(headers: dict[str, str]) -> float | None:
    value = headers.get(TIMEOUT_HEADER)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise _Reply(400, f"{TIMEOUT_HEADER} must be a positive number of seconds, got {value[:40]!r}")
    return seconds
