"""A measured phase as numbers (JSON) and as a markdown table; docs tables rewritten in place.

Latency *per RPC* counts each answered call once. Latency *per sample* is the time each
sample waited for its reward (its call's latency, counted once per sample): what a trainer
waiting on a batch sees. ``scorer_ms`` is the scorers' own per-sample time from each
result's ``timings`` (the judge, the math grader), without queueing or transport.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from bench.load import Phase

PERCENTILES = (50, 90, 99)


def percentiles(values: list[float], weights: list[int] | None = None) -> dict[str, float] | None:
    """p50/p90/p99/max/mean in ms (nearest rank, each value counted ``weight`` times)."""
    if not values:
        return None
    pairs = sorted(zip(values, weights or [1] * len(values), strict=True))
    total = sum(w for _, w in pairs)
    out: dict[str, float] = {}
    for p in PERCENTILES:
        rank, seen = p / 100 * total, 0
        for value, weight in pairs:
            seen += weight
            if seen >= rank:
                out[f"p{p}"] = 1000 * value
                break
    out["max"] = 1000 * pairs[-1][0]
    out["mean"] = 1000 * sum(v * w for v, w in pairs) / total
    return out


def summarise(phase: Phase, *, rate: float | None = None) -> dict:
    """The report of one measured phase; every count adds up (see tests)."""
    elapsed = max(phase.ended - phase.started, 1e-9)
    answered = sum(phase.rpc_samples)
    errored_calls = sum(n for code, n in phase.call_codes.items() if code != "OK")
    out = {
        "seconds": round(elapsed, 3),
        "rpcs": sum(phase.call_codes.values()),
        "rpcs_ok": phase.call_codes.get("OK", 0),
        "rpcs_failed": errored_calls,
        "samples": answered,
        "rpcs_per_s": phase.call_codes.get("OK", 0) / elapsed,
        "samples_per_s": answered / elapsed,
        "latency_ms": {
            "rpc": percentiles(phase.rpc_latency),
            "sample": percentiles(phase.rpc_latency, phase.rpc_samples),
            "scorer": percentiles(phase.scorer_s),
        },
        "statuses": dict(sorted(phase.statuses.items())),
        "by_kind": _by_kind(phase),
        "call_codes": dict(sorted(phase.call_codes.items())),
        "call_errors": phase.error_examples,
        "retries": phase.retries,
        "cpu": phase.cpu,
    }
    if rate is not None:
        span = (phase.sent_at[-1] - phase.sent_at[0]) if len(phase.sent_at) > 1 else 0.0
        offered = (len(phase.sent_at) - 1) / span if span > 0 else 0.0
        completed = out["rpcs"] / elapsed
        lag = percentiles(phase.send_lag)
        out["open_loop"] = {
            "target_rps": rate,
            "sent_rps": offered,
            "completed_rps": completed,
            "skipped": phase.skipped,
            "max_outstanding": phase.max_outstanding,
            "send_lag_ms": lag,
            # Behind: arrivals had to be skipped, or answers came back clearly slower than
            # requests went out (the backlog was still growing when arrivals stopped).
            "server_behind": phase.skipped > 0 or completed < 0.9 * offered,
            # The generator itself fell behind its schedule (a busy client machine).
            "client_behind": lag is not None and lag["p99"] > 50,
        }
    return out


def _by_kind(phase: Phase) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (kind, status), n in sorted(phase.by_kind.items()):
        out.setdefault(kind, {})[status] = n
    return out


def _ms(summary: dict | None, key: str) -> str:
    return "—" if not summary or key not in summary else f"{summary[key]:.1f}"


def markdown(runs: list[dict]) -> str:
    """One row per run: load, throughput, latency per RPC and per sample, server split."""
    lines = [
        "| workload | load | samples/s | RPC/s | RPC p50 / p90 / p99 / max ms | sample p50 / p99 ms "
        "| server queue / scoring mean ms | statuses |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        rpc, sample = run["latency_ms"]["rpc"], run["latency_ms"]["sample"]
        server = run.get("server") or {}
        split = f"{_ms(server.get('queue'), 'mean_ms')} / {_ms(server.get('scoring'), 'mean_ms')}"
        statuses = ", ".join(f"{k} {v}" for k, v in run["statuses"].items())
        errors = {k: v for k, v in run["call_codes"].items() if k != "OK"}
        if errors:
            statuses += "; failed calls: " + ", ".join(f"{k} {v}" for k, v in errors.items())
        lines.append(
            f"| {run['workload']} | {run['load']} | {run['samples_per_s']:.1f} | {run['rpcs_per_s']:.1f} "
            f"| {_ms(rpc, 'p50')} / {_ms(rpc, 'p90')} / {_ms(rpc, 'p99')} / {_ms(rpc, 'max')} "
            f"| {_ms(sample, 'p50')} / {_ms(sample, 'p99')} | {split} | {statuses} |"
        )
    return "\n".join(lines)


def baseline_markdown(baselines: list[dict]) -> str:
    lines = [
        "| verirl run | baseline | verirl samples/s | baseline samples/s | ratio |",
        "|---|---|---|---|---|",
    ]
    for b in baselines:
        lines.append(
            f"| {b['run']} | {b['name']} | {b['verirl_samples_per_s']:.1f} | {b['samples_per_s']:.1f} "
            f"| **{b['ratio']:.2f}×** |"
        )
    return "\n".join(lines)


def write_json(report: dict, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def replace_section(path: str | Path, name: str, text: str) -> bool:
    """Rewrite the text between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` in a
    markdown file (nothing else is touched); False when the markers are missing."""
    doc = Path(path).read_text(encoding="utf-8")
    pattern = re.compile(
        rf"(<!-- bench:{re.escape(name)} -->\n)(.*?)(<!-- /bench:{re.escape(name)} -->)", re.S
    )
    if not pattern.search(doc):
        return False
    Path(path).write_text(pattern.sub(lambda m: m.group(1) + text.rstrip() + "\n" + m.group(3), doc), "utf-8")
    return True
