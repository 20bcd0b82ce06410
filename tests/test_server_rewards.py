"""Reward composition and the reward-model kind through a real server: the server's
[reward] defaults, per-request specs and steps, groups kept whole by the client, the
model kind served from a tiny model, and a broken model refusing to start."""

import socket
import subprocess
import sys
import urllib.request

import grpc
import pytest
from conftest import ROOT, ServerProcess, wait_for

from rewards.compose import RewardSpec
from rewards.schema import Status
from verirl.client import RewardClient, _batches, _prepare

pytest.importorskip("transformers")


def math(i, response, answer="4", group=None, tokens=None):
    out = {"id": str(i), "kind": "math", "response": response, "reference": {"answer": answer}}
    if group is not None:
        out["group"] = group
    if tokens is not None:
        out["response_tokens"] = tokens
    return out


@pytest.fixture(scope="module")
def rm_server(tmp_path_factory):
    from rewards.tiny_model import save_tiny_reward_model

    directory = tmp_path_factory.mktemp("rm")
    model = save_tiny_reward_model(directory / "model")
    config = directory / "verirl.toml"
    config.write_text(
        "[reward]\nlength_weight = 1.0\nlength_warmup_step = 10\n\n"
        f'[model]\npath = "{model}"\nmax_batch_size = 8\n'
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        metrics_port = s.getsockname()[1]
    proc = ServerProcess("--config", str(config), "--no-sandbox", "--metrics-port", str(metrics_port))
    proc.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    yield proc
    proc.stop()


def group_of_four(group="g"):
    return [
        math(f"{group}0", r"\boxed{4}", group=group, tokens=100),
        math(f"{group}1", r"so \boxed{4}", group=group, tokens=300),
        math(f"{group}2", r"\boxed{5}", group=group, tokens=100),
        math(f"{group}3", "no idea", group=group, tokens=200),
    ]


def test_server_defaults_apply_after_the_warm_up(rm_server):
    with RewardClient(rm_server.target) as client:
        warm = client.score(group_of_four("a"), step=9)
        on = client.score(group_of_four("b"), step=10)
    assert [r.reward for r in warm] == [1.0, 1.0, 0.0, 0.0]
    assert warm[0].details["reward"]["length_penalty"] == "off: warm-up until step 10 (now 9)"
    assert [r.reward for r in on] == [1.5, 0.5, 0.0, 0.0]
    assert on[1].details["reward"]["components"] == {"correctness": 1.0, "length": -0.5}


def test_a_request_spec_overrides_the_defaults_field_by_field(rm_server):
    with RewardClient(rm_server.target) as client:
        out = client.score(
            group_of_four("c"), spec={"length_weight": 0.5, "format": "boxed", "format_weight": 0.1}
        )
    # warm-up 10 still applies (from the server), so with no step the length term is off
    assert [r.reward for r in out] == pytest.approx([1.1, 1.1, 0.1, 0.0])
    with RewardClient(rm_server.target) as client:
        full = client.score(group_of_four("d"), spec=RewardSpec(length_weight=0.5))  # a whole spec
    assert [r.reward for r in full] == [1.25, 0.75, 0.0, 0.0]


def test_an_invalid_spec_fails_the_request_with_a_message(rm_server):
    with RewardClient(rm_server.target) as client, pytest.raises(grpc.RpcError) as error:
        client.score(group_of_four(), spec={"correctness": "partial"})
    assert error.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "spec.correctness" in error.value.details()


def test_the_client_never_splits_a_group_across_batches(rm_server):
    samples = group_of_four("e") + group_of_four("f") + group_of_four("h")
    _, to_send = _prepare(samples)
    assert [len(b) for b in _batches(to_send, 3)] == [4, 4, 4]
    with RewardClient(rm_server.target, batch_size=3) as client:
        out = client.score(samples, spec={"group_size": 4}, step=50)
    assert [r.status for r in out] == [Status.OK, Status.OK, Status.WRONG, Status.NO_ANSWER] * 3
    assert [r.reward for r in out] == [1.5, 0.5, 0.0, 0.0] * 3


def test_a_group_split_across_requests_is_an_error(rm_server):
    group = group_of_four("split")
    with RewardClient(rm_server.target) as client:
        first = client.score(group[:2], step=77)
        second = client.score(group[2:], step=77)
        sized = client.score(group[:3], spec={"group_size": 4}, step=78)
    assert all(r.status is Status.OK for r in first)  # the server cannot know yet
    assert all(r.status is Status.INVALID_INPUT for r in second)
    assert "already scored in an earlier request for step 77" in second[0].message
    assert all(r.status is Status.INVALID_INPUT for r in sized)
    assert "group_size is 4" in sized[0].message


def test_model_kind_and_server_info(rm_server):
    samples = [
        {"id": f"m{i}", "kind": "model", "prompt": "Say hi", "response": "hi " * (i + 1), "reference": {}}
        for i in range(20)
    ]
    with RewardClient(rm_server.target) as client:
        out = client.score(samples)
        info = client.info()
    assert [r.id for r in out] == [s["id"] for s in samples]
    assert all(r.status in (Status.OK, Status.WRONG) for r in out)
    assert all(r.details["reward"]["components"]["correctness"] == r.details["score"] for r in out)
    assert {k.kind: k.ready for k in info.kinds}["model"] is True
    assert info.reward_model.endswith("model")
    assert info.default_spec.length_weight == 1.0 and info.default_spec.length_warmup_step == 10


def test_a_missing_model_stops_the_server_at_startup(tmp_path):
    proc = subprocess.run(
        [sys.executable, "server.py", "--port", "0", "--no-sandbox", "--model", str(tmp_path / "nope")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "reward model" in proc.stderr and "no such directory" in proc.stderr


def test_metrics_count_samples_and_reward_model_batching(rm_server):
    with RewardClient(rm_server.target) as client:
        client.score([{"id": f"x{i}", "kind": "model", "response": "hello"} for i in range(16)])

    def metric(text, name):
        values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(name)]
        return sum(values) if values else None

    def scrape():
        return urllib.request.urlopen(rm_server.metrics_url, timeout=5).read().decode()

    wait_for(lambda: (metric(scrape(), "verirl_model_sequences") or 0) >= 16, timeout_s=15)
    text = scrape()
    assert metric(text, 'verirl_samples_total{kind="model"') >= 16
    forwards, sequences = metric(text, "verirl_model_forward_passes"), metric(text, "verirl_model_sequences")
    assert 0 < forwards < sequences  # batched
    assert metric(text, "verirl_batch_samples_count") >= 1
