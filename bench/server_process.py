"""A ``server.py`` subprocess for benchmarks: started with a TOML config, on a free port."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Server:
    """Starts ``server.py --config`` (``config`` is TOML text) and waits until it serves."""

    def __init__(self, config: str, *args: str, start_timeout_s: float = 300) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as handle:
            handle.write(config)
        self.proc = subprocess.Popen(
            [sys.executable, "server.py", "--port", "0", "--config", handle.name, *args],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.port: int | None = None
        ready = threading.Event()

        def read() -> None:
            for line in self.proc.stderr:  # type: ignore[union-attr]
                match = re.search(r"serving on .*:(\d+)$", line.strip())
                if match:
                    self.port = int(match.group(1))
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(start_timeout_s):
            self.proc.kill()
            raise RuntimeError("the server did not start")

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(120)
