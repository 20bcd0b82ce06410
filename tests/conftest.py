"""Shared helpers: a real reward server in a subprocess, on loopback."""

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DESTRUCTIVE = "VERIRL_DESTRUCTIVE_TESTS"  # .ci/run sets it; a workstation's `make test` does not


def pytest_collection_modifyitems(config, items):
    """Tests marked ``destructive`` break the machine's shared services on purpose (they
    kill the Docker Engine to prove the server survives it): run only where asked."""
    if os.environ.get(DESTRUCTIVE) == "1":
        return
    skip = pytest.mark.skip(reason=f"kills shared services (the Docker Engine); set {DESTRUCTIVE}=1 to run")
    for item in items:
        if "destructive" in item.keywords:
            item.add_marker(skip)


class ServerProcess:
    """``server.py`` started for real; the port comes from its 'serving on' line."""

    def __init__(self, *args: str, env: dict | None = None, timeout_s: float = 120) -> None:
        self.args = ["--port", "0", "--workers", "1", *args]
        self.proc = subprocess.Popen(
            [sys.executable, "server.py", *self.args],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []
        self.port: int | None = None
        ready = threading.Event()

        def read() -> None:
            for line in self.proc.stderr:
                self.lines.append(line)
                match = re.search(r"verirl serving on .*:(\d+)$", line.strip())
                if match:
                    self.port = int(match.group(1))
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(timeout_s) or self.port is None:
            self.stop()
            raise RuntimeError("server did not start:\n" + "".join(self.lines[-30:]))

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log(self) -> str:
        return "".join(self.lines)

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@pytest.fixture
def start_server():
    servers: list[ServerProcess] = []

    def start(*args: str, **kw) -> ServerProcess:
        server = ServerProcess(*args, **kw)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def wait_for(predicate, timeout_s: float = 30, interval_s: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError("condition not met in time")


def kill_quietly(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
