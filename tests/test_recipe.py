"""The data recipe end to end on a tiny policy against a real reward server (loopback, no
sandbox): `difficulty` grades and resumes, `sample` keeps only verified responses (and the
shortest with --keep shortest), `sft` lowers the held-out loss and saves a model that
`train` accepts; plus the pure parts (levels, schedule, batching, label mask) by hand."""

import itertools
import json
import math
import random
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import ServerProcess

from trainer import difficulty, rejection, sft
from trainer.config import TrainConfig
from trainer.policy import load_policy
from trainer.problems import read_problems
from trainer.recipe_config import DifficultyConfig, SampleConfig, SFTConfig
from trainer.reward_channel import RewardChannel
from trainer.tiny_policy import save_tiny_policy
from trainer.train import train

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def server():
    process = ServerProcess("--no-sandbox")
    yield process.target
    process.stop()


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    return str(save_tiny_policy(tmp_path_factory.mktemp("policy"), chars="0123456789 "))


def _write(path: Path, golds: list[str], level: int | None = None) -> str:
    with path.open("w") as stream:
        for i, gold in enumerate(golds):
            row = {
                "id": f"p{i}",
                "prompt": f"say {gold} ({i})",
                "kind": "math",
                "reference": {"answer": gold},
            }
            if level is not None:
                row["difficulty"] = level
            stream.write(json.dumps(row) + "\n")
    return str(path)


# --------------------------------------------------------------------------- difficulty


def test_levels_follow_the_bucket_edges():
    edges = [0.2, 0.5, 0.8]
    assert [difficulty.level_of(r, edges) for r in (1.0, 0.8, 0.79, 0.5, 0.2, 0.19, 0.0)] == [
        1,
        1,
        2,
        2,
        3,
        4,
        4,
    ]
    assert difficulty.level_of(0.3, []) == 1


def test_difficulty_grades_writes_a_histogram_and_resumes(tmp_path, server, digits_model, capsys):
    data = _write(tmp_path / "train.jsonl", ["4"] * 6 + ["123456"] * 4, level=3)
    cfg = DifficultyConfig(
        model=digits_model, data=data, output=str(tmp_path / "graded.jsonl"), samples=10,
        max_new_tokens=1, server=server, chunk=4, tag=True, seed=0,
    )  # fmt: skip
    assert difficulty.run(cfg) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    graded = read_problems(cfg.output)
    assert [p.id for p in graded] == [f"p{i}" for i in range(10)]
    for p in graded:
        info = p.metadata["graded"]
        assert info["samples"] == 10 and p.pass_rate == info["correct"] / 10
        assert p.difficulty == difficulty.level_of(p.pass_rate, cfg.edges)
        assert p.metadata["difficulty_before"] == 3 and p.tags[0] == f"math/L{p.difficulty}"
    # a one-token answer can be "4" but never "123456"
    assert all(p.pass_rate == 0 and p.difficulty == 4 for p in graded[6:])
    assert sum(p.metadata["graded"]["correct"] for p in graded[:6]) > 0
    assert summary["graded"] == 10 and sum(summary["levels"].values()) == 10
    assert summary["levels"]["4"] >= 4
    assert Path(summary["histogram_png"]).read_bytes()[:4] == b"\x89PNG"
    assert not Path(cfg.output + ".progress.jsonl").exists()

    # a rerun finds everything graded and changes nothing
    before = Path(cfg.output).read_text()
    assert difficulty.run(cfg) == 0
    assert "0 to grade" in capsys.readouterr().err
    assert Path(cfg.output).read_text() == before

    # an interrupted run: the progress file holds two graded problems (one line cut short);
    # the rerun grades only the others and keeps those two as they were
    out2 = tmp_path / "graded2.jsonl"
    progress = tmp_path / "graded2.jsonl.progress.jsonl"
    kept = [json.loads(line) for line in before.splitlines()[:2]]
    kept[0]["pass_rate"], kept[0]["metadata"]["graded"]["correct"] = 0.7, 7  # recognisable
    progress.write_text("".join(json.dumps(k) + "\n" for k in kept) + '{"id": "p2", "prom')
    assert difficulty.run(replace(cfg, output=str(out2))) == 0
    assert "2 already graded, 8 to grade" in capsys.readouterr().err
    regraded = read_problems(out2)
    assert regraded[0].pass_rate == 0.7 and len(regraded) == 10
    assert all("graded" in p.metadata for p in regraded)


# --------------------------------------------------------------------------- rejection sampling


def _draw(model_dir, server, data, keep):
    model, tokenizer = load_policy(model_dir)
    model.eval()
    cfg = SampleConfig(model=model_dir, data=data, samples=64, keep=keep, max_new_tokens=6, batch_size=128)
    torch.manual_seed(0)
    with RewardChannel(server) as channel:
        return rejection.rejection_sample(read_problems(data), model, tokenizer, channel, cfg)


def test_rejection_sampling_keeps_only_verified_responses(tmp_path, server, digits_model):
    data = _write(tmp_path / "p.jsonl", ["4"] * 8 + ["123456"] * 2)
    rows, report = _draw(digits_model, server, data, "all")
    assert rows and report["kept"] == report["verified"] == len(rows)
    assert report["responses"] == 640 and 0 < report["yield"] < 1
    assert not {r["id"] for r in rows} & {"p8", "p9"}  # no answer of a few random digits is 123456
    # every kept response, scored again on its own, is correct
    golds = {p.id: p for p in read_problems(data)}
    requests = [golds[r["id"]].sample(f"re{n}", r["response"], f"re{n}", 1) for n, r in enumerate(rows)]
    with RewardChannel(server) as channel:
        (results,), _ = channel.wait([channel.submit(requests, step=None, spec=None)])
    assert all(res.correct for res in results)
    assert report["problems_solved"] == len({r["id"] for r in rows})

    # the same draws with --keep shortest: one per solved problem, the fewest tokens
    shortest, report2 = _draw(digits_model, server, data, "shortest")
    assert report2["verified"] == report["verified"]  # same seed, same draws
    assert len(shortest) == report["problems_solved"] == len({r["id"] for r in shortest})
    for row in shortest:
        lengths = [r["response_tokens"] for r in rows if r["id"] == row["id"]]
        assert row["response_tokens"] == min(lengths)
    # the draws gave a choice: some problem had verified responses of different lengths
    assert any(len({r["response_tokens"] for r in rows if r["id"] == s["id"]}) > 1 for s in shortest)


def test_sample_command_writes_pairs_and_a_report(tmp_path, server, digits_model, capsys):
    data = _write(tmp_path / "p.jsonl", ["4"] * 4)
    out = tmp_path / "sft.jsonl"
    cfg = SampleConfig(
        model=digits_model, data=data, output=str(out), samples=8, max_new_tokens=2, server=server
    )
    assert rejection.run(cfg) == 0
    report = json.loads(Path(str(out) + ".report.json").read_text())
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == report["kept"] and all({"prompt", "response"} <= set(r) for r in lines)
    with pytest.raises(ValueError, match="--keep"):
        rejection.rejection_sample([], None, None, None, SampleConfig(keep="longest"))


# --------------------------------------------------------------------------- SFT


def test_warmup_then_cosine_by_hand():
    factors = [sft.warmup_cosine(s, total=10, warmup=2) for s in range(10)]
    assert factors[:2] == [0.5, 1.0]
    assert factors[2] == pytest.approx(1.0)
    assert factors[6] == pytest.approx(0.5 * (1 + math.cos(math.pi * 4 / 8)))
    assert factors[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * 7 / 8)))
    assert all(a >= b for a, b in itertools.pairwise(factors[1:]))


def test_length_grouped_batches_hold_similar_lengths():
    lengths = [1, 50, 2, 51, 3, 52, 4, 53]
    batches = sft.length_grouped(lengths, 4, random.Random(0))
    assert sorted(sorted(lengths[i] for i in b) for b in batches) == [[1, 2, 3, 4], [50, 51, 52, 53]]


def test_loss_is_on_response_tokens_only():
    _, mask, labels = sft.collate([([5, 6, 7, 8], 2), ([5, 9], 1)], pad_id=0)
    assert labels.tolist() == [[-100, -100, 7, 8], [-100, 9, -100, -100]]
    assert mask.tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]


def test_sft_lowers_heldout_loss_and_train_accepts_the_model(tmp_path, server, digits_model):
    rng = random.Random(0)
    pairs = []
    for i in range(48):  # the answer is the question's number doubled, as digits
        n = rng.randint(1, 49)
        pairs.append({"prompt": f"{n} {i}", "response": str(2 * n)})
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    cfg = SFTConfig(
        model=digits_model, data=str(data), output=str(tmp_path / "sft"), epochs=6, batch_size=8,
        lr=1e-2, heldout_fraction=0.25, threads=1,
    )  # fmt: skip
    assert sft.run(cfg) == 0
    summary = json.loads((Path(cfg.output) / "sft_summary.json").read_text())
    assert summary["heldout_pairs"] == 12 and summary["train_pairs"] == 36
    assert summary["heldout_loss_after"] < 0.8 * summary["heldout_loss_before"], summary
    steps = [json.loads(line) for line in (Path(cfg.output) / "sft_metrics.jsonl").read_text().splitlines()]
    assert len(steps) == summary["steps"] == 6 * 5
    assert steps[0]["lr"] < max(s["lr"] for s in steps) and steps[-1]["lr"] < 1e-4  # warm-up, then decay

    # `verirl train` starts from the SFT model; an SFT on "4" makes the first RL step right
    fours = tmp_path / "fours.jsonl"
    fours.write_text(
        "".join(json.dumps({"prompt": f"say 4 ({i})", "response": "4"}) + "\n" for i in range(16))
    )
    four_cfg = replace(cfg, data=str(fours), output=str(tmp_path / "sft4"), epochs=30, heldout_fraction=0.0)
    assert sft.run(four_cfg) == 0
    problems = _write(tmp_path / "rl.jsonl", ["4"] * 8)
    rl = TrainConfig(
        model=four_cfg.output, data=problems, output=str(tmp_path / "rl"), server=server, steps=1,
        prompts_per_step=4, samples_per_prompt=4, max_new_tokens=2, save_final=False, threads=1,
    )  # fmt: skip
    last = train(rl)
    assert last["accuracy"] > 0.5, last  # a random policy says "4" about once in 15


# --------------------------------------------------------------------------- samplers in the trainer


def test_train_with_curriculum_and_dynamic_sampling(tmp_path, server, digits_model):
    """Every group kept by dynamic sampling has unequal rewards, so with binary rewards and a
    mean baseline every kept sample has a nonzero advantage and is trained on."""
    data = tmp_path / "levels.jsonl"
    rows = [
        {
            "id": f"p{i}",
            "prompt": f"say 4 ({i})",
            "kind": "math",
            "reference": {"answer": "4"},
            "difficulty": 1 + i % 2,
        }
        for i in range(12)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = TrainConfig(
        model=digits_model, data=str(data), output=str(tmp_path / "run"), server=server, steps=2,
        prompts_per_step=4, samples_per_prompt=8, max_new_tokens=1, save_final=False, threads=1,
        sampler="curriculum", curriculum_steps=[1], dynamic_sampling=True, dynamic_max_rounds=4, lr=1e-3,
    )  # fmt: skip
    train(cfg)
    metrics = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(metrics) == 2 and all("dynamic_dropped_groups" in m for m in metrics)
    assert (
        sum(m["dynamic_dropped_groups"] for m in metrics) > 0
    )  # a one-token policy often fails a whole group
    for m in metrics:
        assert m["train_samples"] == m["scored_samples"] and m["scored_samples"] % 8 == 0
        assert 0 < m["accuracy"] < 1
