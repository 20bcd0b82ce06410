"""PNG plots of a ``verirl bench`` report (matplotlib, no display needed).

* ``latency_cdf.png`` — the per-RPC latency CDF of every run (log time axis);
* ``sweep.png`` — samples/s and p99 latency against concurrency (a ``--sweep`` run);
* ``soak.png`` — throughput, failed calls and the servers' RSS, threads, descriptors and
  containers over a soak.
"""

from __future__ import annotations

from pathlib import Path

from bench.load import Phase


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never a window
    import matplotlib.pyplot as plt

    return plt


def draw(report: dict, phases: list[Phase], directory: str | Path) -> list[str]:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if phases:
        written.append(latency_cdf(report["runs"], phases, out / "latency_cdf.png"))
    if len(report["runs"]) > 1:
        written.append(sweep(report["runs"], out / "sweep.png"))
    if "soak" in report:
        written.append(soak(report["soak"], out / "soak.png"))
    return [str(p) for p in written]


def latency_cdf(runs: list[dict], phases: list[Phase], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for run, phase in zip(runs, phases, strict=True):
        values = sorted(1000 * v for v in phase.rpc_latency)
        if values:
            ax.step(
                values, [(i + 1) / len(values) for i in range(len(values))], where="post", label=run["load"]
            )
    ax.set_xscale("log")
    ax.set_xlabel("latency per RPC (ms)")
    ax.set_ylabel("fraction of RPCs")
    ax.set_title(f"{runs[0]['workload']}: latency CDF")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def sweep(runs: list[dict], path: Path) -> Path:
    plt = _pyplot()
    levels = [r["concurrency"] for r in runs]
    fig, left = plt.subplots(figsize=(7, 4.5))
    left.plot(levels, [r["samples_per_s"] for r in runs], "o-", color="tab:blue", label="samples/s")
    left.set_xscale("log", base=2)
    left.set_xlabel(f"concurrency (requests in flight, {runs[0]['batch']} samples each)")
    left.set_ylabel("samples/s", color="tab:blue")
    right = left.twinx()
    p99 = [(r["latency_ms"]["rpc"] or {}).get("p99", float("nan")) for r in runs]
    right.plot(levels, p99, "s--", color="tab:red", label="p99 latency")
    right.set_ylabel("p99 latency per RPC (ms)", color="tab:red")
    left.set_title(f"{runs[0]['workload']}: throughput and p99 against concurrency")
    left.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def soak(result: dict, path: Path) -> Path:
    plt = _pyplot()
    keys = [("rss_mb", "RSS (MB, process tree)"), ("threads", "threads"), ("fds", "open fds"),
            ("containers", "sandbox containers")]  # fmt: skip
    fig, axes = plt.subplots(len(keys) + 1, 1, figsize=(8, 2.2 * (len(keys) + 1)), sharex=True)
    timeline = result["timeline"]
    axes[0].plot([t for t, _, _ in timeline], [s for _, s, _ in timeline], color="tab:blue", lw=0.8)
    failed = [(t, f) for t, _, f in timeline if f]
    if failed:
        twin = axes[0].twinx()
        twin.bar([t for t, _ in failed], [f for _, f in failed], color="tab:red", alpha=0.5, width=1.0)
        twin.set_ylabel("failed calls/s", color="tab:red")
    axes[0].set_ylabel("samples/s")
    axes[0].set_title(f"soak: {result['load']}")
    for ax, (key, label) in zip(axes[1:], keys, strict=True):
        for replica in result["resources"]:
            rows = [r for r in replica["samples"] if key in r]
            if rows:
                t0 = replica["samples"][0]["t"]
                ax.plot([r["t"] - t0 for r in rows], [r[key] for r in rows], label=replica["target"], lw=1)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
