"""Dynamic batching, as Triton does it: requests from any number of threads are queued,
gathered for at most ``max_queue_delay_s`` or until ``max_batch_size`` are waiting, sorted
by length so that sequences of similar length share a batch (less padding), and run by
one thread that owns the model. Knows nothing about torch or transformers.

Example:
    >>> from rewards.batching import DynamicBatcher
    >>> batcher = DynamicBatcher(lambda batch: [float(len(x)) for x in batch], max_batch_size=4)
    >>> [batcher.submit(list(range(n))).result() for n in (3, 1)]
    [3.0, 1.0]
    >>> batcher.close()
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

log = logging.getLogger(__name__)

Forward = Callable[[Sequence[Sequence[int]]], Sequence[float]]
"""Scores a batch of token-id sequences, one float each, in order."""

# When more than a batch is already waiting, look this many batches ahead so that sorting
# by length can group similar lengths (a big request is bucketed, not cut in arrival order).
_LOOKAHEAD_BATCHES = 8


@dataclass(slots=True)
class _Job:
    ids: Sequence[int]
    future: Future[float]


class DynamicBatcher:
    """Runs ``forward`` on batches gathered from concurrent :meth:`submit` calls.

    ``max_batch_tokens`` caps a batch's padded size (rows × longest row), so a few long
    sequences do not exhaust memory. Thread-safe; ``forward`` only ever runs on the
    batcher's own thread. Counters ``batches`` and ``items`` say how well it batched.
    """

    def __init__(
        self,
        forward: Forward,
        max_batch_size: int = 32,
        max_queue_delay_s: float = 0.005,
        max_batch_tokens: int = 1 << 16,
        name: str = "verirl-batcher",
    ) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        self.forward = forward
        self.max_batch_size = max_batch_size
        self.max_queue_delay_s = max_queue_delay_s
        self.max_batch_tokens = max_batch_tokens
        self.batches = 0
        self.items = 0
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, ids: Sequence[int]) -> Future[float]:
        """Queue one sequence; cancel the future to drop it while it is still queued."""
        job = _Job(ids, Future())
        self._queue.put(job)
        return job.future

    def pending(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            jobs, closing = self._gather()
            for chunk in self._chunks(jobs):
                self._run(chunk)
            if closing:
                return

    def _gather(self) -> tuple[list[_Job], bool]:
        """Block for a first job, then wait up to the delay for a full batch, and take
        whatever else is already waiting (up to the look-ahead). Drops cancelled jobs."""
        first = self._queue.get()
        if first is None:
            return [], True
        jobs, closing = [first], False
        deadline = time.monotonic() + self.max_queue_delay_s
        while len(jobs) < self.max_batch_size * _LOOKAHEAD_BATCHES:
            wait = 0.0 if len(jobs) >= self.max_batch_size else deadline - time.monotonic()
            try:
                job = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                closing = True
                break
            jobs.append(job)
        return [j for j in jobs if j.future.set_running_or_notify_cancel()], closing

    def _chunks(self, jobs: list[_Job]) -> list[list[_Job]]:
        jobs.sort(key=lambda j: len(j.ids))
        chunks: list[list[_Job]] = []
        current: list[_Job] = []
        for job in jobs:
            padded = (len(current) + 1) * max(len(job.ids), 1)  # sorted: this one is the longest
            if current and (len(current) >= self.max_batch_size or padded > self.max_batch_tokens):
                chunks.append(current)
                current = []
            current.append(job)
        if current:
            chunks.append(current)
        return chunks

    def _run(self, chunk: list[_Job]) -> None:
        try:
            scores = self.forward([j.ids for j in chunk])
            if len(scores) != len(chunk):
                raise RuntimeError(f"forward returned {len(scores)} scores for {len(chunk)} sequences")
        except Exception as error:  # one failed batch fails its own jobs, not the batcher
            log.exception("reward-model batch of %d failed", len(chunk))
            for job in chunk:
                job.future.set_exception(error)
            return
        self.batches += 1
        self.items += len(chunk)
        for job, score in zip(chunk, scores, strict=True):
            job.future.set_result(float(score))
