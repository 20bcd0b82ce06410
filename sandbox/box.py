"""One locked-down container and the persistent channel to its supervisor.

The container runs ``supervisor.py`` as PID 1 with its stdin/stdout attached through the
Docker Engine API once, at start; every job after that is a frame on that stream, so
the hot path makes no Docker API call (``docker exec`` costs ~75 ms here and collapses
past ~20 concurrent calls).
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors

from sandbox.guest import wire

GUEST_DIR = Path(__file__).resolve().parent / "guest"
LABEL = "verirl.sandbox"


_ABANDON_POLL_S = 0.05  # how often a waiting request checks whether its caller gave up
R = TypeVar("R", bound=wire.Message)


class BoxError(Exception):
    """The container or its channel failed (died, stopped answering, broke the protocol)."""


class NoAnswer(BoxError):
    """The supervisor did not answer within the job's limit plus slack."""


class Fault(BoxError):
    """The supervisor caught an exception of its own while handling a request."""


class Abandoned(BoxError):
    """The caller gave up waiting (its request was cancelled); the box still runs the job,
    so it must be replaced, which kills whatever the job started."""


@dataclass(frozen=True, slots=True)
class BoxSpec:
    """Everything a container is created with; each field is a documented limit."""

    image: str
    uid: int  # a distinct uid per container keeps RLIMIT_NPROC per container
    memory_mb: int = 2560  # the container's memory cgroup (all its tests together)
    cpus: float = 1.0
    pids: int = 512
    work_mb: int = 256  # tmpfs for submissions (also bounds disk-fill attacks)
    tmp_mb: int = 64
    shm_mb: int = 64  # /dev/shm (multiprocessing locks and queues live there)
    inodes: int = 8192  # files per tmpfs: a flood of empty files costs kernel memory, not bytes
    ipc_objects: int = 256  # SysV segments, queues and semaphore sets; POSIX queues
    owner: str = ""  # label value naming the pool, so a pool removes only its own


class Box:
    def __init__(self, client: docker.DockerClient, spec: BoxSpec) -> None:
        self.spec = spec
        self.uses = 0
        self.broken = ""  # why the box must be replaced rather than reset, once it must
        n = spec.ipc_objects
        self.container = client.containers.run(
            spec.image,
            ["python3", "-I", "-S", "/opt/verirl/supervisor.py"],
            detach=True,
            stdin_open=True,
            network_mode="none",
            read_only=True,
            user=f"{spec.uid}:{spec.uid}",
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            pids_limit=spec.pids,
            mem_limit=f"{spec.memory_mb}m",
            memswap_limit=f"{spec.memory_mb}m",
            nano_cpus=int(spec.cpus * 1e9),
            tmpfs={
                "/work": f"rw,exec,nosuid,nodev,size={spec.work_mb}m,nr_inodes={spec.inodes},mode=1777",
                "/tmp": f"rw,noexec,nosuid,nodev,size={spec.tmp_mb}m,nr_inodes={spec.inodes},mode=1777",
                # Our own mount rather than Docker's, for its inode limit.
                "/dev/shm": f"rw,noexec,nosuid,nodev,size={spec.shm_mb}m,nr_inodes={spec.inodes},mode=1777",
            },
            # The container has its own IPC namespace; these bound what a submission can
            # leave in it (reset removes all of it). A segment nobody has attached is
            # destroyed at once (shm_rmid_forced), so it is never charged to the box.
            sysctls={
                "kernel.shm_rmid_forced": "1",
                "kernel.shmmni": str(n),
                "kernel.msgmni": str(n),
                "kernel.sem": f"250 {250 * n} 32 {n}",
                "fs.mqueue.queues_max": str(n),
            },
            volumes={str(GUEST_DIR): {"bind": "/opt/verirl", "mode": "ro"}},
            labels={LABEL: spec.owner or "1"},
            environment={"PYTHONDONTWRITEBYTECODE": "1"},
            auto_remove=False,
            stop_signal="SIGKILL",  # PID 1 ignores SIGTERM; a daemon shutdown should not wait 10 s
        )
        self._socket = self._attach()
        self._buffer = bytearray()  # demultiplexed stdout of the supervisor
        self._raw = bytearray()  # the attach stream, still framed by Docker
        self.stderr = bytearray()
        self.request(wire.Hello(), timeout_s=30)

    def _attach(self) -> socket.socket:
        params = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        wrapped = self.container.attach_socket(params=params)
        raw = getattr(wrapped, "_sock", wrapped)
        raw.setblocking(True)
        return raw

    @property
    def id(self) -> str:
        return self.container.id

    def request(
        self,
        request: wire.Request[R],
        timeout_s: float,
        abandon: Callable[[], bool] | None = None,
        max_reply: int = 1 << 20,
    ) -> R:
        """Send one request (a wire.Request) and wait for its reply, checked against the
        request's reply type; BoxError when the box is unusable (a malformed reply
        included), :class:`Fault` when the supervisor failed on the request,
        :class:`Abandoned` as soon as ``abandon()`` turns true while waiting. A reply
        longer than ``max_reply`` bytes is refused before it is buffered."""
        body = wire.COMPACT.encode(request.to_dict()).encode()
        try:
            self._socket.sendall(struct.pack(">I", len(body)) + body)
            data = self._read_reply(time.monotonic() + timeout_s, abandon, max_reply)
        except OSError as error:
            raise BoxError(f"channel to container {self.id[:12]} failed: {error}") from error
        try:
            reply = request.reply_from(data)
        except wire.ProtocolError as error:
            raise BoxError(f"container {self.id[:12]} sent a malformed reply: {error}") from None
        if isinstance(reply, wire.FaultReply):
            raise Fault(f"the sandbox supervisor failed: {reply.fault}")
        return reply

    def _read_reply(self, deadline: float, abandon: Callable[[], bool] | None, max_reply: int) -> Any:
        while True:
            try:
                body = wire.take_frame(self._buffer, max_reply)
            except wire.TooLarge as error:
                raise BoxError(f"container {self.id[:12]} sent an oversized reply: {error}") from None
            if body is not None:
                try:
                    return wire.parse(body)
                except (ValueError, RecursionError) as error:
                    raise BoxError(f"container {self.id[:12]} sent a malformed reply: {error}") from None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NoAnswer(f"container {self.id[:12]} did not answer in time")
            if abandon is not None and abandon():
                raise Abandoned(f"stopped waiting for container {self.id[:12]}")
            wait = remaining if abandon is None else min(remaining, _ABANDON_POLL_S)
            readable, _, _ = select.select([self._socket], [], [], wait)
            if not readable:
                continue
            chunk = self._socket.recv(1 << 20)
            if not chunk:
                raise BoxError(f"container {self.id[:12]} closed its channel (it died)")
            self._demux(chunk)

    def _demux(self, chunk: bytes) -> None:
        """Docker frames a non-tty attach stream: [stream, 0, 0, 0, size(4)] + payload."""
        self._raw.extend(chunk)
        while len(self._raw) >= 8:
            stream, size = self._raw[0], struct.unpack(">I", self._raw[4:8])[0]
            if len(self._raw) < 8 + size:
                return
            payload = self._raw[8 : 8 + size]
            del self._raw[: 8 + size]
            if stream == 1:
                self._buffer.extend(payload)
            elif len(self.stderr) < 65536:
                self.stderr.extend(payload)

    def diagnose(self) -> str:
        """What became of the container after its channel failed: ``oom`` (its memory
        cgroup killed the supervisor), ``exited``, ``running``, or ``gone`` (removed from
        outside, or Docker is unreachable: not something a submission can do)."""
        # An exiting container needs a moment before its state says why; a read timeout
        # (still running) or Docker trouble is sorted out by the reload below.
        with contextlib.suppress(Exception):
            self.container.wait(timeout=2)
        try:
            self.container.reload()
        except (docker.errors.DockerException, OSError):
            return "gone"
        state = self.container.attrs.get("State", {})
        if state.get("OOMKilled"):
            return "oom"
        return "running" if state.get("Running") else "exited"

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.close()
        with contextlib.suppress(docker.errors.DockerException, OSError):  # gone, or Docker is down
            self.container.remove(force=True)
