"""What every scorer shares: the :class:`Scorer` protocol and the primitives it uses.

A leaf module (it imports only the data contract), so the scorers, the engine that
dispatches to them and the server that reports on them all depend on it and on nothing
of each other: ``engine → scorers → scoring → schema``.

Example:
    >>> from rewards.scoring import Budget
    >>> budget = Budget(deadline_s=60)
    >>> budget.stopped, budget.cancel(), budget.stopped, budget.why()
    (False, None, True, 'the request was cancelled')
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rewards.schema import Result, Sample

Progress = Callable[[int], None]
"""Called with the number of samples just finished; used for progress bars and metrics."""


class Budget:
    """A batch's deadline and cancellation, shared by every scorer working on it.

    The server makes one from the RPC's remaining deadline and cancels it when the call
    is cancelled; scorers cap per-sample time by :meth:`remaining` and skip queued work
    once :attr:`stopped`.
    """

    def __init__(self, deadline_s: float | None = None) -> None:
        self.deadline = None if deadline_s is None else time.monotonic() + deadline_s
        self._cancelled = threading.Event()

    def remaining(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def stopped(self) -> bool:
        return self.cancelled or self.remaining() <= 0

    def why(self) -> str:
        return "the request was cancelled" if self.cancelled else "the request deadline passed"


UNLIMITED = Budget()


class StartupError(RuntimeError):
    """A configured scorer cannot start (e.g. a missing reward model); the message says why."""


@dataclass(frozen=True, slots=True)
class ScorerStats:
    """What a scorer's pool reports for the server's gauges."""

    workers: int = 0  # processes, containers or model replicas running now
    replaced: int = 0  # workers killed or lost and replaced since start
    # per device (the reward model's dynamic batcher): forward passes and sequences scored
    forwards: Mapping[str, int] = field(default_factory=dict)
    items: Mapping[str, int] = field(default_factory=dict)


class Scorer(Protocol):
    """Scores samples of one kind: one result per sample, in order, whatever happens.

    ``score`` skips work once ``budget`` has stopped (the call expired or was cancelled);
    ``ready`` says whether the scorer can take work now and, if not, why (the server's
    health and ``ServerInfo``); ``stats`` feeds the server's pool gauges.
    """

    def score(
        self, samples: Sequence[Sample], progress: Progress | None = None, budget: Budget = UNLIMITED
    ) -> list[Result]: ...

    def ready(self) -> tuple[bool, str]: ...

    def stats(self) -> ScorerStats: ...

    def close(self) -> None: ...
