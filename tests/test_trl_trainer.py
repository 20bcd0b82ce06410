"""The TRL adapter inside a real TRL ``GRPOTrainer``: a tiny policy built from a config,
two training steps on CPU, rewards from a real verirl server (a tiny reward model, with a
length penalty over each prompt's group of completions)."""

import tempfile

import pytest
from conftest import ServerProcess

pytest.importorskip("trl")

from datasets import Dataset
from transformers import LlamaConfig, LlamaForCausalLM
from trl import GRPOConfig, GRPOTrainer

from rewards.tiny_model import build_tokenizer, save_tiny_reward_model
from verirl.adapters.trl import reward_function


@pytest.fixture(scope="module")
def rm_server(tmp_path_factory):
    model = save_tiny_reward_model(tmp_path_factory.mktemp("rm"))
    proc = ServerProcess("--no-sandbox", "--model", str(model))
    yield proc
    proc.stop()


def tiny_policy(tokenizer):
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id,
    )
    return LlamaForCausalLM(config)


def test_grpo_trainer_steps_with_verirl_rewards(rm_server):
    tokenizer = build_tokenizer()
    data = Dataset.from_list([{"prompt": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(8)])
    inner = reward_function(rm_server.target, kind="model", spec={"length_weight": 0.5, "group_size": 4})
    calls = []

    async def verirl_model(prompts, completions, **kwargs):
        rewards = await inner(prompts, completions, **kwargs)
        calls.append((prompts, rewards, kwargs["trainer_state"].global_step))
        return rewards

    args = GRPOConfig(
        output_dir=tempfile.mkdtemp(),
        num_generations=4,
        per_device_train_batch_size=4,
        max_completion_length=8,
        max_steps=2,
        use_cpu=True,
        report_to="none",
        logging_steps=1,
        save_strategy="no",
        bf16=False,
    )
    trainer = GRPOTrainer(
        model=tiny_policy(tokenizer),
        reward_funcs=[verirl_model],
        args=args,
        train_dataset=data,
        processing_class=tokenizer,
    )
    trainer.train()
    assert [step for _, _, step in calls] == [0, 1]
    logged = [
        h["rewards/verirl_model/mean"] for h in trainer.state.log_history if "rewards/verirl_model/mean" in h
    ]
    for (prompts, rewards, _), mean in zip(calls, logged, strict=True):
        assert len(set(prompts)) == 1 and len(rewards) == 4  # one prompt's whole group per call
        assert all(r != 0.0 for r in rewards)  # reward-model scores, not invalid_input zeros
        assert mean == pytest.approx(sum(rewards) / 4, abs=1e-5)  # TRL trained on what verirl returned
