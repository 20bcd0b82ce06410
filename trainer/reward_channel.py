"""How the trainer gets rewards: batched RPCs to a verirl server, overlapped with generation.

``RewardChannel`` runs an :class:`~verirl.client.AsyncRewardClient` on an event loop of its
own thread, so the training loop can hand over each group as soon as it is generated
(``submit`` returns at once) and go on generating while the server scores; ``wait`` then
collects the results and reports how long the loop really waited for them.

``local_server`` starts ``verirl serve`` on a free loopback port for runs without
``--server`` and stops it at the end.

Example (needs a running server, so the doctest is skipped):
    >>> from trainer.reward_channel import RewardChannel
    >>> with RewardChannel("127.0.0.1:50051") as channel:  # doctest: +SKIP
    ...     pending = channel.submit([{"id": "a", "kind": "math", "response": "\\\\boxed{4}",
    ...                                "reference": {"answer": "4"}}], step=0)
    ...     [r.reward for r in channel.wait([pending])[0][0]]
    [1.0]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from typing import Any

from rewards.schema import JSON, Result
from verirl.client import AsyncRewardClient, ClientOptions, SpecLike


class RewardChannel:
    """Scores sample batches on a background event loop; thread-safe ``submit``."""

    def __init__(self, target: str, spec: SpecLike = None, **options: Any) -> None:
        self.spec = spec
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="verirl-rewards", daemon=True)
        self._thread.start()
        opts = ClientOptions(**options)
        self._client: AsyncRewardClient = self._run(self._make_client(target, opts)).result()

    async def _make_client(self, target: str, options: ClientOptions) -> AsyncRewardClient:
        return AsyncRewardClient(target, options)

    def _run(self, coroutine: Any) -> Future:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def submit(
        self, samples: Sequence[dict[str, JSON]], step: int | None, spec: SpecLike | str = "channel"
    ) -> Future[list[Result]]:
        """Send ``samples`` (whole groups) now; the future holds one result per sample.
        ``spec`` overrides the channel's (None: the server's defaults)."""
        chosen = self.spec if spec == "channel" else spec
        return self._run(self._client.score(list(samples), spec=chosen, step=step))

    def wait(self, pending: Sequence[Future[list[Result]]]) -> tuple[list[list[Result]], float]:
        """Every pending batch's results, and the seconds spent waiting for them here."""
        started = time.perf_counter()
        results = [future.result() for future in pending]
        return results, time.perf_counter() - started

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._run(self._client.close()).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> RewardChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def local_server(
    config: str | None = None, workers: int = 1, sandbox: bool = True, timeout_s: float = 300
) -> Iterator[str]:
    """A reward server on a free loopback port for the duration of the block; yields its target.

    The server runs as its own process (its worker pools must not be forked from a trainer
    that holds a model and threads). ``config`` is a server settings file (TOML);
    ``sandbox=False`` starts no containers (for runs without code problems)."""
    args = [sys.executable, "-m", "verirl.cli", "serve", "--port", "0", "--workers", str(workers)]
    if config:
        args += ["--config", config]
    if not sandbox:
        args.append("--no-sandbox")
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=os.environ
    )
    lines: list[str] = []
    port: list[int] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            match = re.search(r"verirl serving on .*:(\d+)$", line.strip())
            if match:
                port.append(int(match.group(1)))
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(timeout_s) or not port:
            raise RuntimeError("the local reward server did not start:\n" + "".join(lines[-20:]))
        yield f"127.0.0.1:{port[0]}"
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
