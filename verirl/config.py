"""Server settings: every limit is a named field with a documented default.

Precedence: defaults < ``--config FILE`` (TOML, top-level keys named as the fields) <
command-line flags.

Example ``verirl.toml``::

    workers = 16
    port = 50051
    metrics_port = 9100
    token_file = "/etc/verirl/token"
    max_queued_samples = 200000

    [reward]             # the default reward spec (rewards.compose.RewardSpec)
    length_weight = 0.1
    length_warmup_step = 100

    [model]              # serve a reward model (rewards.model.ModelConfig)
    path = "runs/rm"
    max_batch_size = 32
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewards.compose import RewardSpec

MiB = 1 << 20


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"  # loopback by default; any other address requires a token
    port: int = 50051
    # Concurrent execution slots. Sandbox containers = workers (tests mostly wait on
    # programs); math processes = min(workers, 2 × CPUs) (sympy is CPU-bound, more
    # processes than cores only cost memory).
    workers: int = os.cpu_count() or 1
    math_budget_s: float = 1.0  # wall budget per math item
    max_message_bytes: int = 256 * MiB  # gRPC send and receive limit (decompressed); HTTP body limit
    max_batch_samples: int = 100_000  # larger requests are INVALID_ARGUMENT
    max_queued_samples: int = 200_000  # beyond this, RESOURCE_EXHAUSTED
    # Request bytes (decompressed) admitted and not yet answered, gRPC and HTTP together;
    # beyond this, RESOURCE_EXHAUSTED (HTTP 429). A decoded request takes a few times its
    # wire size in memory, so peak memory is a small multiple of this.
    max_queued_bytes: int = 1024 * MiB
    # Deadline of a call that sets none (gRPC without a timeout, HTTP without the
    # X-Verirl-Timeout header); the work of a call stops when its deadline passes.
    default_deadline_s: float = 600.0
    http_read_timeout_s: float = 30.0  # an HTTP request's head and body must arrive within this
    http_backlog: int = 1024  # listen backlog of the HTTP endpoint (bursts of connections queue)
    ledger_max_groups: int = 1_000_000  # split-group ledger bound (rewards.compose.GroupLedger)
    grace_s: float = 30.0  # how long shutdown waits for in-flight work
    drain_notice_s: float = 1.0  # NOT_SERVING this long before refusing calls, so balancers move away
    # Close each client connection after this long (a GOAWAY; calls in flight get
    # default_deadline_s to finish), so clients of a `dns:///` name re-resolve it and find
    # servers added since they connected. None: connections live as long as clients keep them.
    max_connection_age_s: float | None = None
    metrics_port: int | None = None  # Prometheus /metrics on host:metrics_port
    http_port: int | None = None  # OpenRLHF-compatible HTTP endpoint
    token: str | None = None  # prefer token_env or token_file: a token in a file on disk is safer
    token_env: str = "VERIRL_TOKEN"
    token_file: str | None = None
    tls_cert: str | None = None  # PEM certificate chain; with tls_key turns TLS on
    tls_key: str | None = None
    tls_client_ca: str | None = None  # PEM CA; when set, clients must present a certificate (mTLS)
    reflection: bool = True
    sandbox: bool = True  # serve the code kind when Docker is reachable
    reward: dict[str, Any] | None = None  # [reward]: default RewardSpec fields; requests override them
    model: dict[str, Any] | None = None  # [model]: the reward model (ModelConfig fields); none by default

    @property
    def default_spec(self) -> RewardSpec | None:
        return None if self.reward is None else RewardSpec.from_dict(self.reward)

    def spec_for(self, overrides: dict[str, Any]) -> RewardSpec | None:
        """A request's spec: the server's defaults, then the request's own fields."""
        if not overrides and self.reward is None:
            return None
        return RewardSpec.from_dict({**(self.reward or {}), **overrides})

    @property
    def math_processes(self) -> int:
        return max(1, min(self.workers, 2 * (os.cpu_count() or 1)))

    def resolved_token(self) -> str | None:
        if self.token:
            return self.token
        if self.token_file:
            return Path(self.token_file).read_text().strip() or None
        return os.environ.get(self.token_env) or None

    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def check(self) -> None:
        """Refuse unsafe or inconsistent settings with a message a person can act on."""
        if not self.is_loopback() and not self.resolved_token():
            raise ValueError(
                f"binding {self.host} (not loopback) requires a bearer token: set ${self.token_env}, "
                "token_file or --token-file"
            )
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("TLS needs both tls_cert and tls_key")
        if self.tls_client_ca and not self.tls_cert:
            raise ValueError("tls_client_ca (mutual TLS) needs tls_cert and tls_key too")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        for name in ("max_message_bytes", "max_batch_samples", "max_queued_samples", "max_queued_bytes",
                     "http_backlog", "ledger_max_groups"):  # fmt: skip
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.max_message_bytes > 2**31 - 1:
            raise ValueError("max_message_bytes must be below 2 GiB (gRPC's limit)")
        for name in ("default_deadline_s", "http_read_timeout_s", "math_budget_s", "grace_s",
                     "max_connection_age_s"):  # fmt: skip
            value = getattr(self, name)
            if value is None and name == "max_connection_age_s":
                continue
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < float("inf"):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        if self.reward is not None:
            self.default_spec  # noqa: B018 -- validates; a ContractError is a ValueError naming the field
        if self.model is not None and "path" not in self.model:
            raise ValueError("[model] needs a path (a saved model directory or a .gguf file)")


def load(path: str | None, overrides: dict[str, Any]) -> ServerConfig:
    """Defaults, then the TOML file, then the non-None overrides (command-line flags)."""
    values: dict[str, Any] = {}
    known = {f.name for f in dataclasses.fields(ServerConfig)}
    if path:
        with open(path, "rb") as handle:
            values = tomllib.load(handle)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
    values.update({k: v for k, v in overrides.items() if v is not None and k in known})
    if overrides.get("model_path"):  # --model PATH
        values["model"] = {**(values.get("model") or {}), "path": overrides["model_path"]}
    return ServerConfig(**values)
