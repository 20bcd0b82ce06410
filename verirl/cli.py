"""The ``verirl`` command line.

    verirl score --input samples.jsonl --output results.jsonl [--workers N] [--server HOST:PORT]
                 [--spec spec.json --step N] [--model DIR]
    verirl serve [--workers N] [--port 50051] [--config verirl.toml] [--model DIR] ...
    verirl train-rm --data pairs.jsonl --base MODEL --out DIR [--epochs 1] [--lr 2e-5] ...
    verirl train --model M --data train.jsonl --heldout heldout.jsonl --loss kimi --output RUN ...
    verirl eval --model M --data heldout.jsonl [--samples n] [--output results.jsonl]
    verirl plot RUN_DIR [RUN_DIR...] --output curves.png
    verirl bench --workload math|code|model|mixed [--server HOST:PORT] --concurrency C --batch B
                 (--duration S | --requests N) [--rate R] [--sweep 1,2,4] [--soak MIN] --json F

``-`` means stdin/stdout. The exit code is 0 whenever every sample got a result,
whatever the rewards; non-zero only when the run itself failed (unreadable input,
unwritable output, a crash).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import IO

from rewards.compose import RewardSpec
from rewards.engine import build_engine
from rewards.schema import Result, read_samples, write_results
from rewards.scoring import StartupError
from verirl import __version__


@contextlib.contextmanager
def _open(path: str, mode: str) -> Iterator[IO[str]]:
    if path == "-":
        yield sys.stdin if "r" in mode else sys.stdout
    else:
        with open(path, mode, encoding="utf-8") as stream:
            yield stream


def _summary(results: Sequence[Result], seconds: float) -> str:
    counts = Counter(r.status.value for r in results)
    mean = sum(r.reward for r in results) / len(results) if results else 0.0
    by_status = ", ".join(f"{status}={n}" for status, n in sorted(counts.items()))
    rate = len(results) / seconds if seconds > 0 else 0.0
    return (
        f"scored {len(results)} samples in {seconds:.2f}s ({rate:.1f}/s); "
        f"mean reward {mean:.4f}; {by_status or 'nothing to score'}"
    )


def _progress_bar(total: int):
    from tqdm import tqdm

    # disable=None turns the bar off when stderr is not a terminal (CI logs, pipes).
    return tqdm(total=total, unit="sample", file=sys.stderr, disable=None, leave=False)


def cmd_score(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    with _open(args.input, "r") as stream:
        items = list(read_samples(stream))
    spec = _read_spec(args.spec) if args.spec else None
    if args.server:
        results = _score_remote(args, items, spec)
    else:
        model = {"path": args.model} if args.model else None
        with build_engine(workers=args.workers, model=model) as engine, _progress_bar(len(items)) as bar:
            results = engine.score(items, progress=bar.update, spec=spec, step=args.step)
    with _open(args.output, "w") as stream:
        write_results(results, stream)
    print(_summary(results, time.perf_counter() - start), file=sys.stderr)
    return 0


def _read_spec(path: str) -> RewardSpec:
    """A reward spec from a JSON or TOML file; a bad field is a ValueError naming it."""
    with open(path, "rb") as stream:
        data = stream.read()
    obj = tomllib.loads(data.decode()) if path.endswith(".toml") else json.loads(data)
    return RewardSpec.from_dict(obj)


def _score_remote(args: argparse.Namespace, items: list, spec: RewardSpec | None) -> list[Result]:
    """Score through a server; decoding errors stay local, in place."""
    from verirl.client import RewardClient

    token = os.environ.get("VERIRL_TOKEN")
    with RewardClient(args.server, token=token, tls_ca=args.tls_ca) as client:
        sent = [item for item in items if not isinstance(item, Result)]
        scored = iter(client.score(sent, spec=spec, step=args.step))
    return [item if isinstance(item, Result) else next(scored) for item in items]


def cmd_train_rm(args: argparse.Namespace) -> int:
    try:
        from trainer.reward_model import TrainConfig, train_reward_model
    except ImportError as error:
        print(f"verirl train-rm needs the model extra (make setup-model): {error}", file=sys.stderr)
        return 2
    fields = {k: v for k, v in vars(args).items() if k in TrainConfig.__dataclass_fields__ and v is not None}
    try:
        train_reward_model(TrainConfig(**fields))
    except (ValueError, StartupError) as error:
        print(f"verirl train-rm: {error}", file=sys.stderr)
        return 2
    return 0


def _add_trainer_commands(commands: argparse._SubParsersAction) -> None:
    """``train``, ``eval`` and ``plot``: their flags come from the dataclasses in
    ``trainer/config.py``; torch is imported only when one of them runs."""
    from trainer.config import EvalConfig, TrainConfig
    from trainer.settings import add_arguments, from_namespace

    def run(module: str, cls: type):
        def call(args: argparse.Namespace) -> int:
            import importlib

            return importlib.import_module(module).run(from_namespace(cls, args))

        return call

    train = commands.add_parser(
        "train", help="RL on verifiable rewards from a verirl server (Kimi k1.5, GRPO)"
    )
    add_arguments(train, TrainConfig)
    train.set_defaults(run=run("trainer.train", TrainConfig))
    evaluate = commands.add_parser("eval", help="held-out accuracy of a policy, rewards from the server")
    add_arguments(evaluate, EvalConfig)
    evaluate.set_defaults(run=run("trainer.evaluate", EvalConfig))
    plot = commands.add_parser("plot", help="training curves of runs as one PNG")
    plot.add_argument("runs", nargs="+", help="run directories (each with metrics.jsonl)")
    plot.add_argument("--output", default="curves.png", help="PNG file (default: curves.png)")
    plot.add_argument("--x", choices=("step", "time"), default="step", help="x axis: step or minutes")
    plot.add_argument(
        "--offset", action="append", default=[], metavar="RUN=MINUTES",
        help="shift a run on the minutes axis by the wall time it spent before RL (e.g. sft_rl=10.5)",
    )  # fmt: skip
    plot.set_defaults(
        run=lambda a: __import__("trainer.plot").plot.main(
            [*a.runs, "--output", a.output, "--x", a.x, *(f"--offset={o}" for o in a.offset)]
        )
    )


def _add_recipe_commands(commands: argparse._SubParsersAction) -> None:
    """``difficulty``, ``filter``, ``sample`` and ``sft`` (the data recipe, docs/recipe.md):
    flags from ``trainer/recipe_config.py``; torch is imported only when one of them runs."""
    from trainer.recipe_config import DifficultyConfig, FilterConfig, SampleConfig, SFTConfig
    from trainer.settings import add_arguments, from_namespace

    def run(module: str, cls: type):
        def call(args: argparse.Namespace) -> int:
            import importlib

            return importlib.import_module(module).run(from_namespace(cls, args))

        return call

    for name, module, cls, text in (
        ("difficulty", "trainer.difficulty", DifficultyConfig, "grade problems by a model's pass rate"),
        ("filter", "trainer.filters", FilterConfig, "drop multiple-choice, unverifiable, guessable"),
        ("sample", "trainer.rejection", SampleConfig, "rejection sampling: keep the verified responses"),
        ("sft", "trainer.sft", SFTConfig, "supervised fine-tuning on response tokens (before RL)"),
    ):
        command = commands.add_parser(name, help=text)
        add_arguments(command, cls)
        command.set_defaults(run=run(module, cls))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="verirl", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"verirl {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    score = commands.add_parser("score", help="score a JSON Lines file of samples")
    score.add_argument("--input", "-i", required=True, help="samples, JSON Lines ('-': stdin)")
    score.add_argument("--output", "-o", default="-", help="results, JSON Lines ('-': stdout)")
    score.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="concurrent scoring processes (default: the number of CPUs)",
    )
    score.add_argument("--server", help="score on a reward server (HOST:PORT or any gRPC target)")
    score.add_argument("--spec", help="reward spec, a JSON or TOML file (rewards.compose.RewardSpec fields)")
    score.add_argument("--step", type=int, help="training step (ends the length penalty's warm-up)")
    score.add_argument("--model", help="in-process: score the model kind with this reward model")
    score.add_argument("--tls-ca", help="PEM CA to verify the server (turns TLS on); token: $VERIRL_TOKEN")
    score.set_defaults(run=cmd_score)

    train_rm = commands.add_parser(
        "train-rm", help="train a reward model on preference pairs (Bradley-Terry)"
    )
    train_rm.add_argument("--data", required=True, help="pairs, JSON Lines of {prompt, chosen, rejected}")
    train_rm.add_argument("--base", required=True, help="base model: a directory, a .gguf file or a hub id")
    train_rm.add_argument("--out", required=True, help="directory to write the reward model to")
    for name, kind, meaning in (
        ("eval-data", str, "held-out pairs (default: --eval-fraction of --data)"),
        ("eval-fraction", float, "share of --data held out (default 0.1)"),
        ("epochs", int, "passes over the training pairs (default 1)"),
        ("max-steps", int, "stop after this many steps"),
        ("batch-size", int, "pairs per step (default 8)"),
        ("lr", float, "peak learning rate (default 2e-5)"),
        ("max-length", int, "tokens per conversation (default 512)"),
        ("seed", int, "shuffling and initialisation seed (default 0)"),
        ("device", str, "cpu, cuda, cuda:1 (default: cuda when available)"),
    ):
        train_rm.add_argument(f"--{name}", type=kind, help=meaning)
    train_rm.set_defaults(run=cmd_train_rm)

    _add_trainer_commands(commands)
    _add_recipe_commands(commands)

    from verirl import server

    serve = commands.add_parser("serve", help="run the gRPC reward server (same as server.py)")
    server.add_arguments(serve)
    serve.set_defaults(run=server.run)

    from bench import harness

    bench = commands.add_parser("bench", help="reward latency and throughput under load, soak, scale-out")
    harness.add_arguments(bench)
    bench.set_defaults(run=harness.run)
    return parser


def grpc_errors() -> tuple[type[BaseException], ...]:
    import grpc

    return (grpc.RpcError,)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except grpc_errors() as error:
        print(f"verirl {args.command}: the server call failed: {error}", file=sys.stderr)
        return 3
    except (OSError, UnicodeDecodeError, ValueError, StartupError) as error:
        print(f"verirl {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
