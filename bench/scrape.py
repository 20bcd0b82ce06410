"""What the server says about itself: its Prometheus metrics, and its process as the OS sees it.

:func:`server_side` turns two scrapes (before and after a measured phase) into the
server's own view of that phase: calls by gRPC code, samples by kind and status, and
time spent waiting for a scoring thread (queue) against time scoring, from the
``verirl_queue_seconds`` and ``verirl_score_seconds`` histograms. A metric the server
does not export is left out, never guessed.

:class:`ProcessProbe` samples a local server's resident memory (its process tree: the
math workers are children), threads, open file descriptors and sandbox containers.
"""

from __future__ import annotations

import contextlib
import os
import time
import urllib.request
from collections import defaultdict

Scrape = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str, timeout_s: float = 10) -> Scrape:
    """Every sample of a /metrics page, keyed by (name, sorted labels)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(url, timeout=timeout_s).read().decode()
    out: Scrape = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _delta(before: Scrape, after: Scrape, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        labels: value - before.get((metric, labels), 0.0)
        for (metric, labels), value in after.items()
        if metric == name
    }


def _histogram(before: Scrape, after: Scrape, name: str) -> dict | None:
    """Count and mean of a histogram over the phase, and for p50/p90/p99 the upper bound
    of the bucket each falls in (a histogram knows no more; interpolating inside a wide
    first bucket would invent numbers)."""
    count = sum(_delta(before, after, f"{name}_count").values())
    if not count:
        return None
    total = sum(_delta(before, after, f"{name}_sum").values())
    buckets = sorted(
        (float(dict(labels)["le"]), value)
        for labels, value in _delta(before, after, f"{name}_bucket").items()
    )

    def bound(q: float) -> float:
        return next((upper for upper, cumulative in buckets if cumulative >= q * count), float("inf"))

    return {
        "count": int(count),
        "mean_ms": 1000 * total / count,
        **{f"p{p}_le_ms": 1000 * bound(p / 100) for p in (50, 90, 99)},
    }


def server_side(before: Scrape, after: Scrape) -> dict:
    """The server's account of a phase (see the module docstring)."""
    calls = {
        dict(k).get("code", "?"): int(v)
        for k, v in _delta(before, after, "verirl_requests_total").items()
        if v
    }
    samples: dict[str, dict[str, int]] = defaultdict(dict)
    for labels, value in _delta(before, after, "verirl_samples_total").items():
        if value:
            named = dict(labels)
            samples[named.get("kind", "?")][named.get("status", "?")] = int(value)
    out: dict = {"calls_by_code": calls, "samples_by_kind": dict(samples)}
    out["samples"] = sum(sum(v.values()) for v in samples.values())
    for key, metric in (("queue", "verirl_queue_seconds"), ("scoring", "verirl_score_seconds")):
        histogram = _histogram(before, after, metric)
        if histogram is not None:
            out[key] = histogram
    in_flight = after.get(("verirl_samples_in_flight", ()))
    if in_flight is not None:
        out["in_flight_after"] = in_flight
    return out


# --------------------------------------------------------------------------- processes


def _children(pid: int) -> list[int]:
    found, frontier = [], [pid]
    parents: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                parents[int(fields[1])].append(int(entry))
    while frontier:
        child = parents.get(frontier.pop(), [])
        found.extend(child)
        frontier.extend(child)
    return found


def _status_field(pid: int, name: str) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live descendants (the math workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for member in [pid, *_children(pid)]:
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{member}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


class ProcessProbe:
    """Samples a local server process; ``containers`` counts its sandbox containers
    (labelled with the pool's owner, which names the host and the server's pid)."""

    def __init__(self, pid: int, docker_client=None) -> None:
        self.pid = pid
        self.docker = docker_client

    def sample(self) -> dict[str, float]:
        tree = [self.pid, *_children(self.pid)]
        rss_kb = 0
        for pid in tree:
            with contextlib.suppress(OSError):
                rss_kb += _status_field(pid, "VmRSS")
        row: dict[str, float] = {"t": time.time(), "rss_mb": rss_kb / 1024, "processes": len(tree)}
        with contextlib.suppress(OSError):
            row["threads"] = _status_field(self.pid, "Threads")
            row["fds"] = len(os.listdir(f"/proc/{self.pid}/fd"))
        if self.docker is not None:
            with contextlib.suppress(Exception):  # Docker down is a reading, not a crash
                from sandbox.box import LABEL
                from sandbox.pool import owner_prefix

                listed = self.docker.containers.list(filters={"label": LABEL})
                prefix = owner_prefix(self.pid)
                row["containers"] = sum(c.labels.get(LABEL, "").startswith(prefix) for c in listed)
        return row


def metrics_probe(url: str) -> dict[str, float]:
    """The same readings for a server elsewhere, from its process collector (no threads,
    no containers: the process collector does not export them)."""
    values = scrape(url)
    row: dict[str, float] = {"t": time.time()}
    rss = values.get(("process_resident_memory_bytes", ()))
    fds = values.get(("process_open_fds", ()))
    if rss is not None:
        row["rss_mb"] = rss / 2**20
    if fds is not None:
        row["fds"] = fds
    return row


def flat(rows: list[dict[str, float]], key: str, tolerance: float) -> dict | None:
    """Whether ``key`` stayed flat: the median of the last quarter against the first
    quarter after warm-up, within ``tolerance`` (absolute, in the key's unit)."""
    values = [r[key] for r in rows if key in r]
    if len(values) < 8:
        return None
    times = [r["t"] for r in rows if key in r]
    half_t, half_v = times[len(times) // 2 :], values[len(values) // 2 :]
    mean_t, mean_v = sum(half_t) / len(half_t), sum(half_v) / len(half_v)
    spread = sum((t - mean_t) ** 2 for t in half_t)
    # Least-squares slope over the second half: a leak shows as a steady climb per minute.
    slope = (
        60 * sum((t - mean_t) * (v - mean_v) for t, v in zip(half_t, half_v, strict=True)) / spread
        if spread
        else 0.0
    )
    quarter = len(values) // 4
    first = sorted(values[quarter : 2 * quarter])[quarter // 2]  # skip the first quarter: warm-up
    last = sorted(values[-quarter:])[quarter // 2]
    return {
        "start": first,
        "end": last,
        "min": min(values),
        "max": max(values),
        "growth": last - first,
        "per_minute_second_half": slope,
        "tolerance": tolerance,
        "flat": last - first <= tolerance,
    }
