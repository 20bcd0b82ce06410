"""One locked-down container and the persistent channel to its supervisor.

The container runs ``supervisor.py`` as PID 1 with its stdin/stdout attached through the
Docker Engine API once, at start; every job after that is a frame on that stream, so
the hot path makes no Docker API call (``docker exec`` costs ~75 ms here and collapses
past ~20 concurrent calls).
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors

GUEST_DIR = Path(__file__).resolve().parent / "guest"
LABEL = "verirl.sandbox"


_ABANDON_POLL_S = 0.05  # how often a waiting request checks whether its caller gave up


class BoxError(Exception):
    """The container or its channel failed (died, stopped answering, broke the protocol)."""


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
    owner: str = ""  # label value naming the pool, so a pool removes only its own


class Box:
    def __init__(self, client: docker.DockerClient, spec: BoxSpec) -> None:
        self.spec = spec
        self.uses = 0
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
                "/work": f"rw,exec,nosuid,nodev,size={spec.work_mb}m,mode=1777",
                "/tmp": f"rw,noexec,nosuid,nodev,size={spec.tmp_mb}m,mode=1777",
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
        self.request({"op": "hello"}, timeout_s=30)

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
        self, message: dict[str, Any], timeout_s: float, abandon: Callable[[], bool] | None = None
    ) -> dict[str, Any]:
        """Send one request and wait for its reply; BoxError when the box is unusable,
        :class:`Abandoned` as soon as ``abandon()`` turns true while waiting."""
        body = json.dumps(message, separators=(",", ":")).encode()
        try:
            self._socket.sendall(struct.pack(">I", len(body)) + body)
            return self._read_reply(time.monotonic() + timeout_s, abandon)
        except OSError as error:
            raise BoxError(f"channel to container {self.id[:12]} failed: {error}") from error

    def _read_reply(self, deadline: float, abandon: Callable[[], bool] | None) -> dict[str, Any]:
        while True:
            if len(self._buffer) >= 4:
                (size,) = struct.unpack(">I", self._buffer[:4])
                if len(self._buffer) >= 4 + size:
                    body = bytes(self._buffer[4 : 4 + size])
                    del self._buffer[: 4 + size]
                    reply = json.loads(body)
                    if "internal_error" in reply:
                        raise BoxError(f"supervisor error: {reply['internal_error']}")
                    return reply
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BoxError(f"container {self.id[:12]} did not answer in time")
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

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.close()
        with contextlib.suppress(docker.errors.DockerException, OSError):  # gone, or Docker is down
            self.container.remove(force=True)
