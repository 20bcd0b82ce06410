"""``verirl plot RUN_DIR [RUN_DIR…] --output curves.png``: training curves as one PNG.

Four panels — reward, training accuracy (with held-out accuracy as markers), response
length, and the distance from the sampling policy (Kimi's squared log-ratio, or GRPO's
KL) — with one line per run, against steps or minutes of training (evaluation excluded).
``--offset RUN=MINUTES`` shifts a run right on the minutes axis: the wall time it spent
before RL (rejection sampling and SFT, in the data recipe's SFT-then-RL arm), so arms of
equal wall time end at the same x.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PANELS = (
    ("reward_mean", "reward (mean)"),
    ("accuracy", "accuracy"),
    ("response_tokens", "response tokens (mean)"),
    ("divergence", "log-ratio² / KL to π_old or π_ref"),
)


def read_metrics(run_dir: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(training rows, evaluation rows) of a run's ``metrics.jsonl``."""
    rows = [json.loads(line) for line in Path(run_dir, "metrics.jsonl").read_text().splitlines() if line]
    return [r for r in rows if not r.get("eval")], [r for r in rows if r.get("eval")]


def _x(rows: list[dict[str, Any]], axis: str, offset_min: float = 0.0) -> list[float]:
    """Steps, or minutes of training (``train_s``: evaluation time is not counted)."""
    return [r["step"] if axis == "step" else offset_min + r.get("train_s", 0.0) / 60 for r in rows]


def parse_offsets(items: list[str]) -> dict[str, float]:
    """``["sft_rl=10.5"]`` → ``{"sft_rl": 10.5}`` (a run directory's name, minutes)."""
    offsets = {}
    for item in items:
        name, _, minutes = item.rpartition("=")
        try:
            offsets[name] = float(minutes)
        except ValueError:
            raise ValueError(f"--offset wants RUN=MINUTES, got {item!r}") from None
    return offsets


def plot_runs(runs: list[str], output: str, x: str = "step", offsets: dict[str, float] | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for run in runs:
        train, evals = read_metrics(run)
        if not train:
            continue
        label = Path(run).name
        shift = (offsets or {}).get(label, 0.0)
        for ax, (key, title) in zip(axes.flat, PANELS, strict=True):
            if key == "divergence":
                key = "log_ratio_sq" if "log_ratio_sq" in train[0] else "kl"
            ys = [r.get(key) for r in train]
            points = [(a, b) for a, b in zip(_x(train, x, shift), ys, strict=True) if b is not None]
            if points:
                line = ax.plot(*zip(*points, strict=True), label=f"{label} (train)", alpha=0.8)[0]
                if key == "accuracy" and evals:
                    ax.plot(
                        _x(evals, x, shift), [r["accuracy"] for r in evals], "o--",
                        color=line.get_color(), label=f"{label} (held-out, greedy)",
                    )  # fmt: skip
            ax.set_title(title)
    for ax in axes.flat:
        ax.set_xlabel("step" if x == "step" else "training minutes")
        ax.grid(alpha=0.3)
    axes.flat[1].legend(fontsize=8)
    fig.tight_layout()
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="training curves of verirl runs as one PNG")
    parser.add_argument("runs", nargs="+", help="run directories (each with metrics.jsonl)")
    parser.add_argument("--output", default="curves.png")
    parser.add_argument("--x", choices=("step", "time"), default="step")
    parser.add_argument("--offset", action="append", default=[], metavar="RUN=MINUTES")
    args = parser.parse_args(argv)
    print(plot_runs(args.runs, args.output, args.x, parse_offsets(args.offset)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
