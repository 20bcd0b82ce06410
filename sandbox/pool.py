"""A pool of long-lived sandbox containers.

On start and on close the pool removes every container carrying its label (no orphans
after a crash). A box is recycled after ``recycle_after`` submissions, whenever its reset
finds it not back at its starting state (a survivor, a file or IPC object it cannot
remove, memory still held, a broken process template), whenever its submission damaged
it, and whenever its channel fails; a replacement is started in the background so the
pool keeps its size.

Example:
    >>> from sandbox.guest import wire
    >>> from sandbox.pool import SandboxPool
    >>> with SandboxPool(size=2) as pool, pool.box() as box:
    ...     box.request(wire.Hello(), timeout_s=5).uid
    20000
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import docker
import docker.errors

from sandbox.box import LABEL, Box, BoxError, BoxSpec
from sandbox.guest import wire
from sandbox.image import ensure_image

log = logging.getLogger(__name__)


class SandboxUnavailable(Exception):
    """Docker is unreachable or no container could be started."""


class SandboxPool:
    def __init__(
        self,
        size: int,
        *,
        image: str | None = None,
        recycle_after: int = 500,
        uid_base: int = 20000,
        spec_overrides: dict | None = None,
    ) -> None:
        try:
            self.client = docker.from_env(timeout=120)
            self.client.ping()
        except (docker.errors.DockerException, OSError) as error:
            raise SandboxUnavailable(f"the Docker Engine is not reachable: {error}") from error
        self.image = image or ensure_image(self.client)
        self.size = size
        self.recycle_after = recycle_after
        self.owner = owner_label()
        self._overrides = spec_overrides or {}
        self._uids = queue.SimpleQueue()
        for i in range(size):
            self._uids.put(uid_base + i)
        self._idle: queue.Queue[Box] = queue.Queue()
        self._closed = False
        self.recycled = 0
        self.live = 0  # boxes started and not yet removed
        self.last_error = ""
        self.last_failed = False
        self._lock = threading.Lock()
        self._starter = ThreadPoolExecutor(max(1, min(size, 8)), thread_name_prefix="verirl-box")
        remove_labelled(self.client)
        boxes = list(self._starter.map(lambda _: self._start_box(), range(size)))
        for box in boxes:
            if box is not None:
                self._idle.put(box)
        if self._idle.qsize() == 0:
            raise SandboxUnavailable(f"no sandbox container could be started: {self.last_error}")

    def _start_box(self) -> Box | None:
        """A new box, or None: when the pool is at full size (counting boxes being started)
        or when Docker refused (then ``last_failed`` is set)."""
        try:
            uid = self._uids.get_nowait()
        except queue.Empty:
            self.last_failed = False
            return None
        try:
            box = Box(self.client, BoxSpec(self.image, uid, owner=self.owner, **self._overrides))
        except (docker.errors.DockerException, BoxError, OSError) as error:
            self.last_error, self.last_failed = str(error), True
            log.error("could not start a sandbox container: %s", error)
            self._uids.put(uid)
            return None
        with self._lock:
            self.live += 1
        self.last_failed = False
        return box

    def _replace(self, box: Box) -> None:
        with self._lock:
            self.recycled += 1
            self.live -= 1
        box.remove()
        self._uids.put(box.spec.uid)
        if self._closed:
            return

        def start() -> None:
            new = self._start_box()
            if new is not None and not self._closed:
                self._idle.put(new)
            elif new is not None:
                new.remove()

        self._starter.submit(start)

    @contextlib.contextmanager
    def box(self, timeout_s: float = 600) -> Iterator[Box]:
        """Borrow a box for one submission; it is reset (or replaced) on return."""
        box = self._take(timeout_s)
        healthy = False
        try:
            try:
                yield box
            except BoxError as error:
                log.warning("recycling container %s: %s", box.id[:12], error)
                raise
            box.uses += 1
            if box.broken:  # damaged by its submission: never reset, always replaced
                log.warning("replacing container %s: %s", box.id[:12], box.broken)
                return
            try:
                reset = box.request(wire.Reset(), timeout_s=30)
            except BoxError as error:  # the submission's verdict stands; only the box goes
                log.warning("replacing container %s, its reset failed: %s", box.id[:12], error)
                return
            healthy = reset.clean and box.uses < self.recycle_after
            if not reset.clean:
                log.warning("recycling container %s: %s", box.id[:12], reset.problems)
        finally:
            if healthy and not self._closed:
                self._idle.put(box)
            else:
                self._replace(box)

    def _take(self, timeout_s: float) -> Box:
        """An idle box; when boxes were lost (a Docker restart, failed replacements) and
        none is idle, start one here, so the pool heals itself once Docker is back and
        fails fast, with the reason, while it is not."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self._idle.get(timeout=max(0.0, min(0.2, deadline - time.monotonic())))
            except queue.Empty:
                pass
            if self.live < self.size and not self._closed:
                box = self._start_box()
                if box is not None:
                    return box
                if self.last_failed and self.live == 0:  # Docker refused, and nothing else runs
                    raise SandboxUnavailable(f"no sandbox container can be started: {self.last_error}")
            if time.monotonic() >= deadline:
                raise SandboxUnavailable(f"no sandbox container became free in {timeout_s:g}s")

    def close(self) -> None:
        self._closed = True
        self._starter.shutdown(wait=True)
        while True:
            try:
                self._idle.get_nowait().remove()
            except queue.Empty:
                break
        remove_labelled(self.client, owner=self.owner)

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def remove_labelled(client: docker.DockerClient, owner: str | None = None) -> int:
    """Remove sandbox containers: one pool's (``owner``), or, with no owner, every one whose
    pool process is gone (the orphans of a crashed run). Returns how many were removed."""
    label = LABEL if owner is None else f"{LABEL}={owner}"
    removed = 0
    for container in client.containers.list(all=True, filters={"label": label}):
        if owner is None and _owner_alive(container.labels.get(LABEL, ""), client):
            continue
        with contextlib.suppress(docker.errors.DockerException, OSError):
            container.remove(force=True)
            removed += 1
    return removed


def owner_label() -> str:
    """``pool-<host>-<pid>-<random>``: which process owns a container. The host name is
    needed because servers run in containers of their own (deploy/), where every one is
    pid 1 of its namespace, all sharing one Docker Engine."""
    return f"{owner_prefix(os.getpid())}{uuid.uuid4().hex[:8]}"


def owner_prefix(pid: int) -> str:
    """What the labels of every pool of process ``pid`` on this host start with."""
    return f"pool-{socket.gethostname()}-{pid}-"


def _owner_alive(owner: str, client: docker.DockerClient) -> bool:
    """Whether the owner may still be running; only a provably dead owner's containers
    are orphans. A process of this host is checked by pid. Another host name is another
    server's container on this engine (checked by its state) or another machine (kept)."""
    try:
        host, pid, _ = owner.removeprefix("pool-").rsplit("-", 2)
    except ValueError:
        return False  # not a label this code writes (an older format): nobody owns it now
    if host != socket.gethostname():
        try:
            return client.containers.get(host).status in ("running", "restarting", "paused")
        except docker.errors.NotFound:
            return True  # not a container here: another machine's, not ours to judge
        except (docker.errors.DockerException, OSError):
            return True
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
