"""`verirl train-rm` on a tiny model built from a config: the Bradley–Terry loss falls,
held-out accuracy rises, the output serves through the reward-model scorer exactly as
trained, and bad data is a clear error."""

import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from conftest import ROOT  # noqa: E402

from rewards.model import ModelConfig, ModelScorer  # noqa: E402
from rewards.schema import decode_sample  # noqa: E402
from rewards.tiny_model import save_tiny_reward_model  # noqa: E402
from trainer.reward_model import TrainConfig, bradley_terry_loss, train_reward_model  # noqa: E402


def test_bradley_terry_loss_by_hand():
    chosen, rejected = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 0.0])
    expected = (-torch.log(torch.sigmoid(torch.tensor(2.0))) + torch.log(torch.tensor(2.0))) / 2
    assert bradley_terry_loss(chosen, rejected).item() == pytest.approx(expected.item())


def polite_pairs(n, offset=0):
    """Learnable by a tiny model: the chosen answer thanks the user, the rejected one is rude."""
    return [
        {
            "prompt": f"Question {i + offset}: tell me about {w}.",
            "chosen": f"Thank you! {w} is fine.",
            "rejected": f"Go away, {w}.",
        }
        for i, w in enumerate(["sea", "sky", "tree", "rock", "road", "rain", "wind", "snow"] * (n // 8))
    ]


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in polite_pairs(96)))
    held_out = tmp_path / "held_out.jsonl"
    held_out.write_text("".join(json.dumps(p) + "\n" for p in polite_pairs(16, offset=1000)))
    return path, held_out


def test_training_separates_the_pairs_and_the_output_serves(tmp_path, data):
    base = save_tiny_reward_model(tmp_path / "base", seed=1)
    out = tmp_path / "rm"
    cfg = TrainConfig(
        data=str(data[0]),
        eval_data=str(data[1]),
        base=str(base),
        out=str(out),
        epochs=4,
        lr=3e-3,
        batch_size=8,
        log=None,
    )
    report = train_reward_model(cfg)
    assert report["steps"] == 48 and report["train_pairs"] == 96 and report["held_out_pairs"] == 16
    assert report["accuracy_after"] == 1.0
    first, last = sum(report["loss"][:8]) / 8, sum(report["loss"][-8:]) / 8
    assert last < first / 4
    assert json.loads((out / "train_rm.json").read_text())["accuracy_after"] == 1.0
    with ModelScorer(ModelConfig(path=str(out))) as scorer:
        pair = polite_pairs(8, offset=5000)[3]
        chosen, rejected = scorer.score(
            [
                decode_sample({"id": k, "kind": "model", "prompt": pair["prompt"], "response": pair[k]})
                for k in ("chosen", "rejected")
            ]
        )
    assert chosen.reward > rejected.reward


def train_rm_cli(*args):
    command = [sys.executable, "-m", "verirl.cli", "train-rm", *map(str, args)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_cli_reports_bad_data_clearly(tmp_path):
    base = save_tiny_reward_model(tmp_path / "base")
    bad = tmp_path / "bad.jsonl"
    good_line = json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"})
    bad.write_text(good_line + "\n" + json.dumps({"prompt": "p", "chosen": "a"}) + "\n")
    proc = train_rm_cli("--data", bad, "--base", base, "--out", tmp_path / "o")
    assert proc.returncode == 2
    assert "bad.jsonl:2: missing or non-string ['rejected']" in proc.stderr
    bad.write_text(good_line + "\n" + good_line + "\n")
    missing = train_rm_cli(
        "--data", bad, "--base", tmp_path / "none", "--out", tmp_path / "o", "--eval-fraction", "0.5"
    )
    assert missing.returncode == 2 and "no such directory" in missing.stderr


def test_arithmetic_pairs_are_distinct_right_wrong_and_exclude_held_out_questions():
    import re

    from trainer.arithmetic_pairs import make_pairs

    held_out = make_pairs(50, seed=1)
    pairs = make_pairs(300, seed=2, mix="near", exclude=frozenset(p["prompt"] for p in held_out))
    assert len({p["prompt"] for p in pairs}) == 300
    assert not {p["prompt"] for p in pairs} & {p["prompt"] for p in held_out}
    for pair in pairs + make_pairs(100, seed=3, mix="far"):
        expression = re.search(r"What is (.+)\?", pair["prompt"]).group(1)
        right = eval(expression)  # the generator's own arithmetic, e.g. "63 - 15"
        chosen, rejected = (
            int(re.search(r"boxed\{(\d+)\}", pair[k]).group(1)) for k in ("chosen", "rejected")
        )
        assert chosen == right != rejected
        assert abs(rejected - right) <= 11 if pair in pairs else abs(rejected - right) >= 15
