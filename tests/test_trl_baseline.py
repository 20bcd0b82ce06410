"""``bench/trl_baseline.py``: TRL's GRPOTrainer on a tiny policy with rewards from a real
verirl server, stopped by steps and by the wall-time budget, writing the metrics rows and
plain checkpoints that the demo's side-by-side reads."""

import json

import pytest
from conftest import ServerProcess

pytest.importorskip("trl")

import torch

from bench.trl_baseline import main
from trainer.plot import plot_runs
from trainer.policy import load_policy
from trainer.tiny_policy import save_tiny_policy


@pytest.fixture(scope="module")
def server():
    proc = ServerProcess("--no-sandbox")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("trl")
    # An alphabet of one digit: a response is right when it holds exactly one "1", which a
    # random policy does often enough that a group's rewards differ and the step has a gradient.
    policy = save_tiny_policy(root / "policy", chars="1")
    data = root / "ones.jsonl"
    data.write_text(
        "".join(
            json.dumps(
                {"id": f"p{i}", "prompt": f"Say one ({i}).", "kind": "math", "reference": {"answer": "1"}}
            )
            + "\n"
            for i in range(16)
        )
    )
    return root, policy, data


def _args(server, policy, data, out, *extra):
    return [
        "--model", str(policy), "--data", str(data), "--server", server.target, "--output", str(out),
        "--samples-per-prompt", "4", "--prompts-per-step", "2", "--max-new-tokens", "4", "--lr", "1e-2",
        *extra,
    ]  # fmt: skip


def _weights(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def test_steps_write_metrics_and_checkpoints(server, setup):
    root, policy, data = setup
    out = root / "run"
    assert main(_args(server, policy, data, out, "--max-steps", "3", "--minutes", "10")) == 0

    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]
    for r in rows:
        assert 0 < r["reward_wait_s"] < r["step_s"]
        # binary correctness, no length term: the reward is the verdict, so the two agree
        assert r["accuracy"] == pytest.approx(r["reward_mean"])
    assert [r["train_s"] for r in rows] == sorted(r["train_s"] for r in rows)
    assert sum(r["step_s"] for r in rows) <= rows[-1]["train_s"] + 1e-3
    assert any(r["reward_mean"] > 0 for r in rows) and any(r["grad_norm"] > 0 for r in rows)

    saved = json.loads((out / "checkpoints.json").read_text())
    assert [c["step"] for c in saved] == [3]
    trained, _ = load_policy(saved[0]["path"])
    initial, _ = load_policy(str(policy))
    assert not torch.equal(_weights(trained), _weights(initial))  # TRL's updates were saved

    png = plot_runs([str(out)], str(root / "curves.png"), x="time")
    assert png.stat().st_size > 0


def test_time_budget_stops_training_and_lora_is_saved_merged(server, setup):
    root, policy, data = setup
    out = root / "budget"
    # a budget shorter than one step: training stops after the first, though no step limit is set
    assert main(_args(server, policy, data, out, "--minutes", "0.0001", "--lora-rank", "2")) == 0

    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1]
    saved = json.loads((out / "checkpoints.json").read_text())
    assert [(c["label_min"], c["step"]) for c in saved] == [("0.0001", 1)]
    ckpt = out / "ckpt-0.0001min"
    assert (ckpt / "config.json").exists() and not (ckpt / "adapter_config.json").exists()
    model, tokenizer = load_policy(str(ckpt))
    assert not hasattr(model, "peft_config") and tokenizer.eos_token == "<|im_end|>"
