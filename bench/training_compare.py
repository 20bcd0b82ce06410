"""Trainers side by side: held-out accuracy against training time, one PNG and one table.

    python -m bench.training_compare --run verirl-kimi=runs/demo/kimi --run verirl-grpo=runs/demo/grpo \\
        --trl TRL-GRPOTrainer=runs/demo/trl --output docs/training_side_by_side.png

A ``--run`` is a ``verirl train`` directory: its held-out evaluations are the ``eval`` rows
of ``metrics.jsonl`` (each with ``train_s``, the training seconds before it). A ``--trl``
is a ``bench.trl_baseline`` directory whose checkpoints were evaluated with ``verirl eval``
into ``ckpt-*/eval.json`` (the base model's accuracy, from the first verirl run, is its
point at 0 minutes). Prints a markdown table: steps, seconds per step, seconds per step
spent waiting for rewards, and held-out accuracy at the start and at the end.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def _rows(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


def verirl_curve(run: Path) -> tuple[list[tuple[float, float]], list[dict[str, Any]]]:
    rows = _rows(run)
    evals = [(r["train_s"] / 60, r["accuracy"]) for r in rows if r.get("eval")]
    return evals, [r for r in rows if not r.get("eval")]


def trl_curve(run: Path, start: float | None) -> tuple[list[tuple[float, float]], list[dict[str, Any]]]:
    points = [] if start is None else [(0.0, start)]
    for ckpt in json.loads((run / "checkpoints.json").read_text()):
        result = Path(ckpt["path"]) / "eval.json"
        if not result.is_absolute() and not result.exists():
            result = run / Path(ckpt["path"]).name / "eval.json"
        if result.exists():
            points.append((ckpt["train_s"] / 60, json.loads(result.read_text())["accuracy"]))
    return sorted(points), _rows(run)


def summary(name: str, points: list[tuple[float, float]], steps: list[dict[str, Any]]) -> dict[str, Any]:
    n = max(1, len(steps))
    return {
        "trainer": name,
        "steps": len(steps),
        "train_min": round(max((r.get("train_s", 0) for r in steps), default=0) / 60, 1),
        "s_per_step": round(sum(r.get("step_s", 0) for r in steps) / n, 1),
        "reward_wait_s_per_step": round(sum(r.get("reward_wait_s", 0) for r in steps) / n, 3),
        "accuracy_start": points[0][1] if points else None,
        "accuracy_end": points[-1][1] if points else None,
        "end_at_min": round(points[-1][0], 1) if points else None,
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = "| trainer | steps | training min | s/step | reward wait s/step | held-out acc. start | end |"
    lines = [head, "|---|---|---|---|---|---|---|"]
    for r in rows:
        pct = lambda v: "–" if v is None else f"{100 * v:.1f}%"  # noqa: E731
        lines.append(
            f"| {r['trainer']} | {r['steps']} | {r['train_min']} | {r['s_per_step']} | "
            f"{r['reward_wait_s_per_step']} | {pct(r['accuracy_start'])} | {pct(r['accuracy_end'])} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", action="append", default=[], help="NAME=DIR of a verirl train run")
    parser.add_argument("--trl", action="append", default=[], help="NAME=DIR of a bench.trl_baseline run")
    parser.add_argument("--output", required=True, help="PNG of held-out accuracy against training minutes")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves, rows, start = [], [], None
    for spec in args.run:
        name, path = spec.split("=", 1)
        points, steps = verirl_curve(Path(path))
        start = points[0][1] if start is None and points else start
        curves.append((name, points))
        rows.append(summary(name, points, steps))
    for spec in args.trl:
        name, path = spec.split("=", 1)
        points, steps = trl_curve(Path(path), start)
        curves.append((name, points))
        rows.append(summary(name, points, steps))
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for name, points in curves:
        if points:
            ax.plot(*zip(*points, strict=True), "o-", label=name)
    ax.set_xlabel("training minutes (evaluation excluded)")
    ax.set_ylabel("held-out accuracy (greedy pass@1)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.output, dpi=110)
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
