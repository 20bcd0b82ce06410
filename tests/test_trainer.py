"""The policy-gradient trainer end to end: a tiny causal LM built from a config, trained
against a real reward server on loopback (no mocks: real generation, real gRPC, real
math checker)."""

import json
import os
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import ROOT, ServerProcess
from safetensors.torch import load_file

from trainer.config import TrainConfig
from trainer.policy import HFGenerator, load_policy, pack, render_prompt, response_length, token_logprobs
from trainer.problems import ProblemError, read_problems
from trainer.tiny_policy import save_tiny_policy
from trainer.train import _reference_logprobs, train

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def server():
    process = ServerProcess("--no-sandbox")  # math only: no containers needed
    yield process.target
    process.stop()


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    """A tiny policy whose alphabet is the ten digits and a space: a random policy answers
    "4" often enough for a reward on it to be learnable in a few steps."""
    return str(save_tiny_policy(tmp_path_factory.mktemp("policy"), chars="0123456789 "))


def _problems(path: Path, n: int = 16, answer: str = "4", kind: str = "math") -> str:
    with path.open("w") as stream:
        for i in range(n):
            reference = (
                {"answer": answer}
                if kind == "math"
                else {"language": "python", "tests": {"inputs": ["1\n"], "outputs": ["1\n"]}}
            )
            stream.write(
                json.dumps(
                    {
                        "id": f"{kind}{i}",
                        "prompt": f"say {answer} ({i})",
                        "kind": kind,
                        "reference": reference,
                    }
                )
                + "\n"
            )
    return str(path)


def _config(tmp_path: Path, model: str, server: str, **kw) -> TrainConfig:
    base = TrainConfig(
        model=model,
        data=_problems(tmp_path / "train.jsonl"),
        output=str(tmp_path / "run"),
        server=server,
        steps=3,
        prompts_per_step=8,
        samples_per_prompt=8,
        max_new_tokens=2,
        lr=1e-2,
        save_final=False,
        threads=1,
    )
    return replace(base, **kw)


def _rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


# --------------------------------------------------------------------------- generation


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_generation_logprobs_equal_a_forward_pass(tmp_path, temperature):
    """π_θi's log-probabilities come from generation's logits: they must be what a separate
    forward pass over the same (left-padded) layout gives, or the loss's ratios are wrong."""
    model, tokenizer = load_policy(str(save_tiny_policy(tmp_path)))
    prompts = [render_prompt(tokenizer, "What is 2 + 2?"), render_prompt(tokenizer, "hi")]
    torch.manual_seed(0)
    groups = HFGenerator(model, tokenizer, max_new_tokens=12, temperature=temperature).generate(prompts, 3)
    rollouts = [r for g in groups for r in g]
    assert {len(r.prompt_ids) for r in rollouts} == {len(p) for p in prompts}  # two widths: padding happened
    batch = pack(rollouts, tokenizer.pad_token_id)
    with torch.no_grad():
        recomputed = token_logprobs(model, batch, temperature)
    gap = ((recomputed - batch["old_logp"]).abs() * batch["mask"]).max().item()
    assert gap < 1e-4, gap


def test_response_ends_at_stop_token_or_stop_string(tmp_path):
    _, tokenizer = load_policy(str(save_tiny_policy(tmp_path)))
    ids = tokenizer("12 34 56")["input_ids"]
    eos = tokenizer.eos_token_id
    assert response_length([*ids, eos, eos], tokenizer) == len(ids) + 1  # the stop token is part of it
    assert response_length(ids, tokenizer) == len(ids)  # truncated: all of it
    assert response_length(ids, tokenizer, stop_strings=("34",)) == 5  # through the "4" of "34"


# --------------------------------------------------------------------------- training


def test_reward_rises_on_a_learnable_reward(tmp_path, server, digits_model):
    """The gold is "4" for every prompt: the policy must learn to answer 4 (Kimi loss)."""
    cfg = _config(tmp_path, digits_model, server, steps=12, loss="kimi")
    train(cfg)
    rows = _rows(Path(cfg.output))
    first, last = rows[:3], rows[-3:]
    mean = lambda rs, key: sum(r[key] for r in rs) / len(rs)  # noqa: E731
    assert mean(last, "reward_mean") > mean(first, "reward_mean") + 0.2, [r["reward_mean"] for r in rows]
    assert all(r["scored_samples"] == 64 and r["failed_samples"] == 0 for r in rows)
    # the Kimi loss's own terms are logged; after several updates in one iteration the
    # policy has moved away from π_θi, so the squared log-ratio is positive
    assert any(r.get("log_ratio_sq", 0) > 0 for r in rows)


@pytest.mark.parametrize("loss", ["grpo", "drgrpo", "dapo"])
def test_grpo_family_learns_too(tmp_path, server, digits_model, loss):
    cfg = _config(tmp_path, digits_model, server, steps=10, loss=loss, lr=2e-2)
    train(cfg)
    rows = _rows(Path(cfg.output))
    assert max(r["reward_mean"] for r in rows[-3:]) > rows[0]["reward_mean"], [r["reward_mean"] for r in rows]
    assert "clip_fraction" in {k for r in rows for k in r}


def test_failed_samples_are_left_out_and_counted(tmp_path, server, digits_model):
    """Code problems on a server without a sandbox get invalid_input: they are left out
    of the loss and counted, and past --max-failed-fraction the run stops saying why."""
    math_file = _problems(tmp_path / "math.jsonl", n=8)
    code_file = _problems(tmp_path / "code.jsonl", n=8, kind="code")
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(Path(math_file).read_text() + Path(code_file).read_text())
    cfg = _config(tmp_path, digits_model, server, data=str(mixed), steps=2, max_failed_fraction=0.9)
    train(cfg)
    rows = _rows(Path(cfg.output))
    for row in rows:
        assert row["failed_samples"] + row["scored_samples"] == 64
        assert row["failed_samples"] > 0
        assert row["train_samples"] <= row["scored_samples"]
    strict = replace(cfg, output=str(tmp_path / "strict"), max_failed_fraction=0.05)
    with pytest.raises(RuntimeError, match=r"got no reward signal.*invalid_input.*sandbox is turned off"):
        train(strict)


def test_resume_takes_the_same_next_step(tmp_path, server, digits_model):
    """4 steps straight == 2 steps, stop, resume for 2 more: same weights bit for bit, same
    rewards (GRPO keeps its optimizer across steps, so its state must come back too)."""
    common = {"loss": "grpo", "lr": 1e-2, "save_every": 0}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    straight = _config(tmp_path / "a", digits_model, server, steps=4, **common)
    train(straight)
    half = _config(tmp_path / "b", digits_model, server, steps=2, **common)
    train(half)
    train(replace(half, steps=4, resume=True))
    a = load_file(str(Path(straight.output) / "checkpoint" / "model.safetensors"))
    b = load_file(str(Path(half.output) / "checkpoint" / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    ra, rb = _rows(Path(straight.output)), _rows(Path(half.output))
    assert [r["step"] for r in rb] == [1, 2, 3, 4]
    assert [r["reward_mean"] for r in ra] == [r["reward_mean"] for r in rb]
    initial = dict(load_policy(digits_model)[0].named_parameters())
    assert any(not torch.equal(initial[k], a[k]) for k in a)  # it did train


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_data_parallel_keeps_weights_identical(tmp_path, server, digits_model):
    """torchrun with two CPU processes (gloo): each rank scores its own whole groups, and
    after the steps both hold the same weights."""
    data = _problems(tmp_path / "train.jsonl")
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
        "-m", "trainer", "--model", digits_model, "--data", data, "--server", server, "--steps", "2",
        "--prompts-per-step", "4", "--samples-per-prompt", "4", "--max-new-tokens", "2", "--lr", "1e-2",
        "--output", str(tmp_path / "run"), "--no-save-final", "--threads", "1",
    ]  # fmt: skip
    done = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    assert done.returncode == 0, done.stderr[-3000:]
    last = json.loads(done.stdout.strip().splitlines()[-1])
    digests = last["weights_sha256_by_rank"]
    assert len(digests) == 2 and digests[0] == digests[1]
    assert last["scored_samples"] == 16  # 4 prompts × 4 samples, across both ranks
    rows = _rows(tmp_path / "run")
    assert len(rows) == 2  # only rank 0 logs


# --------------------------------------------------------------------------- CLI


def test_cli_train_eval_plot(tmp_path, server, digits_model):
    data = _problems(tmp_path / "train.jsonl", n=6)
    run = tmp_path / "run"
    verirl = [sys.executable, "-m", "verirl.cli"]
    common = ["--server", server, "--max-new-tokens", "2"]
    done = subprocess.run(
        [*verirl, "train", "--model", digits_model, "--data", data, "--heldout", data, "--eval-every", "2",
         "--steps", "2", "--prompts-per-step", "3", "--samples-per-prompt", "2", "--output", str(run), *common],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert (run / "final" / "config.json").exists() and (run / "config.json").exists()
    evals = [r for r in _rows(run) if r.get("eval")]
    assert [r["step"] for r in evals] == [0, 2]
    # evaluation's groups of one are scored without the training spec's group size
    graded = [json.loads(line) for line in (run / "eval_step2.jsonl").read_text().splitlines()]
    assert len(graded) == 6 and all(g["status"] in ("ok", "wrong", "no_answer") for g in graded), graded

    out = tmp_path / "eval.jsonl"
    done = subprocess.run(
        [*verirl, "eval", "--model", str(run / "final"), "--data", data, "--samples", "3", "--output", str(out), *common],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    per_problem = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(per_problem) == report["problems"] == 6
    assert report["accuracy"] == sum(p["correct"] for p in per_problem) / 6
    assert report["accuracy_sampled"] == pytest.approx(sum(p["sampled_accuracy"] for p in per_problem) / 6)

    png = tmp_path / "curves.png"
    done = subprocess.run(
        [*verirl, "plot", str(run), "--output", str(png), "--x", "time", "--offset", f"{run.name}=3"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_plot_offsets_shift_a_run_on_the_minutes_axis():
    from trainer.plot import _x, parse_offsets

    rows = [{"step": 1, "train_s": 30.0}, {"step": 2, "train_s": 90.0}]
    assert _x(rows, "time") == [0.5, 1.5]
    assert _x(rows, "time", parse_offsets(["sft_rl=10"])["sft_rl"]) == [10.5, 11.5]
    assert _x(rows, "step", 10.0) == [1, 2]  # steps are steps
    assert parse_offsets(["runs/a=b=2.5"]) == {"runs/a=b": 2.5}
    with pytest.raises(ValueError, match="RUN=MINUTES"):
        parse_offsets(["sft_rl"])


def test_train_help_shows_every_setting_with_its_default():
    done = subprocess.run(
        [sys.executable, "-m", "verirl.cli", "train", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for flag in (
        "--loss",
        "--samples-per-prompt",
        "--tau",
        "--lora-rank",
        "--length-weight",
        "--resume",
        "--config",
    ):
        assert flag in text
    assert "(default: kimi)" in text and "(default: 8)" in text


def test_bad_problem_lines_name_file_and_line(tmp_path):
    path = tmp_path / "p.jsonl"
    good = {"id": "a", "prompt": "1+1?", "kind": "math", "reference": {"answer": "2"}}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "b", "reference": {}}) + "\n")
    with pytest.raises(ProblemError, match=r"p.jsonl:2: reference"):
        read_problems(path)
    path.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(ProblemError, match=r"p.jsonl:2: not valid JSON"):
        read_problems(path)
    path.write_text(json.dumps({**good, "colour": "red"}) + "\n")
    with pytest.raises(ProblemError, match=r"p.jsonl:1: unknown fields \['colour'\]"):
        read_problems(path)


def test_arithmetic_heldout_shares_no_question(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "trainer.arithmetic", "--n", "300", "--heldout", "60", "--levels", "1,2,3", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    train_set, held = read_problems(tmp_path / "train.jsonl"), read_problems(tmp_path / "heldout.jsonl")
    assert len(train_set) == 300 and len(held) == 60
    core = lambda p: tuple(p.metadata["core"])  # noqa: E731
    assert not {core(p) for p in train_set} & {core(p) for p in held}
    assert not {p.prompt for p in train_set} & {p.prompt for p in held}
    for p in held:  # the gold is the arithmetic's value
        _, a, op, b = p.metadata["core"]
        if op in "+-*":
            assert int(p.reference["answer"]) == {"+": a + b, "-": a - b, "*": a * b}[op]


def test_lora_with_kl_to_the_adapter_free_reference(tmp_path, server, digits_model):
    """LoRA trains only adapters; GRPO's KL reference is the same model with them switched
    off (no second copy); the final model is saved with the adapters merged in."""
    cfg = _config(
        tmp_path, digits_model, server, steps=2, loss="grpo", lora_rank=4, kl_beta=0.1, save_final=True
    )
    train(cfg)
    rows = _rows(Path(cfg.output))
    assert rows[-1]["kl"] > 0  # after updates the adapters moved the policy away from it
    fresh, tokenizer = load_policy(digits_model, lora_rank=4)
    batch = pack(
        HFGenerator(fresh, tokenizer, max_new_tokens=4).generate([[1, 2, 3]], 2)[0], tokenizer.pad_token_id
    )
    with torch.no_grad():  # LoRA starts exactly at the reference: its B matrices are zero
        assert torch.equal(token_logprobs(fresh, batch), _reference_logprobs(fresh, batch, 1.0))
    saved = load_file(str(Path(cfg.output) / "checkpoint" / "model.safetensors"))
    assert saved and all("lora_" in name for name in saved)  # the checkpoint holds adapters only
    merged, _ = load_policy(str(Path(cfg.output) / "final"))
    assert not any("lora" in name for name, _ in merged.named_parameters())
    initial = dict(load_policy(digits_model)[0].named_parameters())
    assert any(not torch.equal(initial[n], p) for n, p in merged.named_parameters())
