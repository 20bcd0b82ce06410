"""The trainer adapters against their documented call conventions, on a real server."""

import asyncio

import pytest
from conftest import ServerProcess

from verirl.adapters import trl, verl


@pytest.fixture(scope="module")
def server():
    proc = ServerProcess("--workers", "1")
    yield proc
    proc.stop()


def test_trl_reward_function_with_text_and_conversations(server):
    reward = trl.reward_function(server.target)
    prompts = ["What is 2+2?", [{"role": "user", "content": "What is 3+3?"}]]
    completions = ["It is \\boxed{4}.", [{"role": "assistant", "content": "\\boxed{7}"}]]
    rewards = asyncio.run(
        reward(prompts, completions, completion_ids=[[1], [2]], answer=["4", "6"], level=[1, 2])
    )
    assert rewards == [1.0, 0.0]
    assert asyncio.iscoroutinefunction(reward)


def test_trl_code_rewards_read_the_reference_column(server):
    reward = trl.reward_function(server.target, kind="code")
    reference = {"language": "python", "tests": {"inputs": ["2\n"], "outputs": ["4\n"]}}
    completions = ["```python\nprint(int(input()) * 2)\n```", "```python\nprint(0)\n```"]
    rewards = asyncio.run(reward(["double it"] * 2, completions, reference=[reference, reference]))
    assert rewards == [1.0, 0.0]


def test_trl_samples_of_one_prompt_share_a_group():
    samples = trl.build_samples(
        ["p", "p", "q"], ["a", "b", "c"], "math", {"answer": ["1", "1", "2"]}, "answer", "reference"
    )
    assert samples[0]["group"] == samples[1]["group"] != samples[2]["group"]


def test_trl_sample_without_a_verdict_is_none_not_zero(server):
    """TRL trains on 0.0 as a real reward; a sample that got no verdict must be None."""
    reward = trl.reward_function(server.target, kind="code")
    good = {"language": "python", "tests": {"inputs": ["2\n"], "outputs": ["4\n"]}}
    completions = ["```python\nprint(int(input()) * 2)\n```", "```python\nprint(4)\n```"]
    rewards = asyncio.run(reward(["double it"] * 2, completions, reference=[good, {"language": "python"}]))
    assert rewards == [1.0, None]


def test_two_trl_runs_on_one_server_do_not_collide(server):
    """The server refuses a group seen again at the same step (a split group); a second
    run with the same prompts and steps must still be scored, so each reward function
    names its groups with a nonce of its own."""

    class TrainerState:
        global_step = 3

    spec = {"length_weight": 1.0, "group_size": 2}
    call = dict(completion_ids=[[0] * 3, [0] * 9], answer=["4"] * 2, trainer_state=TrainerState())
    first, second = (trl.reward_function(server.target, spec=spec) for _ in range(2))
    prompts, completions = ["What is 2+2?"] * 2, ["\\boxed{4}", "so \\boxed{4}"]
    assert asyncio.run(first(prompts, completions, **call)) == [1.5, 0.5]
    assert asyncio.run(second(prompts, completions, **call)) == [1.5, 0.5]


def test_trl_length_penalty_uses_token_counts_and_the_training_step(server):
    class TrainerState:  # what TRL passes as ``trainer_state``: only global_step is read
        def __init__(self, step):
            self.global_step = step

    reward = trl.reward_function(server.target, spec={"length_weight": 1.0, "length_warmup_step": 5})
    completions = ["\\boxed{4}", "so \\boxed{4}", "\\boxed{5}"]
    ids = [[0] * 10, [0] * 30, [0] * 10]  # token counts 10, 30, 10 (the text lengths differ)
    call = dict(completion_ids=ids, answer=["4"] * 3, log_metric=print)
    before = asyncio.run(reward(["What is 2+2?"] * 3, completions, trainer_state=TrainerState(4), **call))
    after = asyncio.run(reward(["What is 2+2?"] * 3, completions, trainer_state=TrainerState(5), **call))
    assert before == [1.0, 1.0, 0.0]
    # λ = 0.5 − (len − 10)/20 over tokens: [0.5, −0.5, 0.5]; the wrong one keeps min(0, λ) = 0
    assert after == [1.5, 0.5, 0.0]


def test_verl_single_and_batch_forms(server, monkeypatch):
    monkeypatch.setenv("VERIRL_SERVER", server.target)
    monkeypatch.setattr(verl, "_client", None)
    single = verl.compute_score("gsm8k", "so \\boxed{12}", "12", extra_info={"prompt": "6+6?"})
    assert single == {"score": 1.0, "acc": 1.0, "status": "ok"}
    code_truth = {
        "kind": "code",
        "reference": {"language": "python", "tests": {"inputs": [""], "outputs": ["1\n"]}},
    }
    batch = verl.compute_score(
        data_sources=["a", "b", "c"],
        solution_strs=["\\boxed{3}", "\\boxed{5}", "```python\nprint(1)\n```"],
        ground_truths=["3", "4", code_truth],
        extra_infos=[None, None, None],
    )
    assert [b["score"] for b in batch] == [1.0, 0.0, 1.0]
