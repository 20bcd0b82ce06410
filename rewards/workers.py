"""A process pool where every task has a hard wall-clock budget.

``signal.alarm`` only works in the main thread and cannot interrupt C code; a thread
cannot be killed at all. So each task runs in a worker process, and the pool kills the
process when the task overruns its budget and starts a replacement; the caller gets a
``timeout`` outcome and the pool lives on. A worker that dies (a crash, the OOM killer, a
``kill -9``) costs its task an ``crashed`` outcome, never a hung call.

Workers fork from a ``forkserver`` that has already imported the heavy modules, so a
replacement is ready in milliseconds and the pool is safe to create in a process that
runs gRPC (nothing forks the gRPC process itself).

Workers never import the caller's main module. ``multiprocessing`` normally re-runs the
parent's script (as ``__mp_main__``) in every child it starts, so a plain script that
loads a model and calls :func:`rewards.math.grade` at its top level, with no
``if __name__ == "__main__":``, would load and run again in each worker; a script read
from standard input could not start one at all. A worker needs nothing from that script
(it runs a ``"module:function"`` target on plain arguments), so each is started with the
script's path hidden (:func:`_main_hidden`).

Example:
    >>> from rewards.workers import WorkerPool
    >>> with WorkerPool("math:factorial", processes=1) as pool:
    ...     pool.run((5,), budget_s=5.0).value
    120
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import queue
import resource
import sys
import threading
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one task ended. Exactly one of: a value, ``timed_out``, or an ``error``."""

    value: Any = None
    timed_out: bool = False
    error: str | None = None  # an exception in the task, or the worker's death
    crashed: bool = False  # the worker process died (error says how)
    out_of_memory: bool = False


def _resolve(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _serve(conn: Connection, target: str, memory_limit_mb: int | None) -> None:
    """Worker process main loop: receive argument tuples, send back outcomes."""
    if memory_limit_mb:
        limit = memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    function = _resolve(target)
    while True:
        try:
            args = conn.recv()
        except (EOFError, OSError):  # the parent went away
            return
        if args is None:
            return
        try:
            outcome = Outcome(value=function(*args))
        except MemoryError:
            outcome = Outcome(error="the task ran out of memory", out_of_memory=True)
        except RecursionError:
            outcome = Outcome(error="the task exceeded the recursion limit")
        except Exception as error:
            outcome = Outcome(error=f"{type(error).__name__}: {error}")
        conn.send(outcome)


class _MainWithoutPath(types.ModuleType):
    """Stands in for ``__main__`` while a worker starts: everything of the real module but
    its path and import spec, the two things that would make the child import it again."""

    def __init__(self, real: types.ModuleType) -> None:
        super().__init__("__main__")
        self._real = real

    def __getattr__(self, name: str) -> Any:
        if name == "__file__":
            raise AttributeError(name)
        return getattr(self._real, name)  # pickling an object of the script still works


_starting = threading.Lock()


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """While a child is started, ``multiprocessing`` reads ``sys.modules["__main__"]`` to
    decide what the child must import first; show it a main with nothing to import."""
    with _starting:
        real = sys.modules["__main__"]
        sys.modules["__main__"] = _MainWithoutPath(real)
        try:
            yield
        finally:
            sys.modules["__main__"] = real


class _Worker:
    """One worker process and its pipe; owned by exactly one slot thread."""

    def __init__(self, context: Any, target: str, memory_limit_mb: int | None) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child, target, memory_limit_mb), daemon=True, name="verirl-worker"
        )
        with _main_hidden():
            self.process.start()
        child.close()

    def call(self, args: tuple[Any, ...], budget_s: float) -> Outcome:
        try:
            self.conn.send(args)
            if not self.conn.poll(budget_s):
                return Outcome(timed_out=True, error=f"exceeded its {budget_s:g}s budget")
            return self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self.process.join(0.1)
            return Outcome(crashed=True, error=f"worker process died (exit code {self.process.exitcode})")

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(1)
        self.kill()


_Task = tuple[tuple[Any, ...], float, "Future[Outcome]", Callable[[], bool] | None]


class WorkerPool:
    """``processes`` workers each running ``target`` ("module:function") on argument tuples.

    Thread-safe: any number of threads may submit; tasks run in submission order.
    """

    def __init__(
        self,
        target: str,
        processes: int,
        *,
        memory_limit_mb: int | None = 4096,
        preload: Sequence[str] = (),
    ) -> None:
        if processes < 1:
            raise ValueError(f"processes must be >= 1, got {processes}")
        self.target = target
        self.memory_limit_mb = memory_limit_mb
        self._context = multiprocessing.get_context("forkserver")
        module = target.partition(":")[0]
        self._context.set_forkserver_preload([module, *preload])
        self._tasks: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self.replaced = 0  # workers killed or lost and replaced (for metrics and tests)
        self._lock = threading.Lock()
        self._workers: list[_Worker | None] = [None] * processes
        self._threads = [
            threading.Thread(target=self._slot, args=(i,), daemon=True, name=f"verirl-slot-{i}")
            for i in range(processes)
        ]
        self._started = threading.Barrier(processes + 1)
        for thread in self._threads:
            thread.start()
        self._started.wait()  # warm: every worker process is running when this returns

    @property
    def processes(self) -> int:
        return len(self._threads)

    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w is not None and w.process.pid]

    def _slot(self, index: int) -> None:
        worker = _Worker(self._context, self.target, self.memory_limit_mb)
        self._workers[index] = worker
        self._started.wait()
        while (task := self._tasks.get()) is not None:
            args, budget_s, future, skip = task
            if skip is not None and skip():
                future.cancel()  # its caller has given up: never start it
            if not future.set_running_or_notify_cancel():
                continue
            outcome = worker.call(args, budget_s)
            if outcome.timed_out or outcome.crashed or outcome.out_of_memory:
                worker.kill()
                worker = _Worker(self._context, self.target, self.memory_limit_mb)
                self._workers[index] = worker
                with self._lock:
                    self.replaced += 1
            future.set_result(outcome)
        worker.stop()

    def submit(
        self, args: tuple[Any, ...], budget_s: float, skip: Callable[[], bool] | None = None
    ) -> Future[Outcome]:
        """Queue a task. ``skip`` is asked when a worker is free to start it: if it answers
        true (say, the request it belongs to has expired) the task is cancelled unrun, so a
        stopped call's queue drains at once instead of item by item."""
        future: Future[Outcome] = Future()
        self._tasks.put((args, budget_s, future, skip))
        return future

    def run(self, args: tuple[Any, ...], budget_s: float) -> Outcome:
        return self.submit(args, budget_s).result()

    def map(self, args: Iterable[tuple[Any, ...]], budget_s: float) -> list[Outcome]:
        futures = [self.submit(a, budget_s) for a in args]
        return [f.result() for f in futures]

    def close(self) -> None:
        for _ in self._threads:
            self._tasks.put(None)
        for thread in self._threads:
            thread.join(10)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cpu_count() -> int:
    """CPUs this process may use (respects affinity and cgroup pinning via sched_getaffinity)."""
    return len(os.sched_getaffinity(0))
