"""Tiny reward models built from a config: random weights, a byte-level BPE tokenizer
trained on the spot, a chat template, no download. For tests, benchmarks and smoke runs
on machines without a model hub.

Example:
    >>> import tempfile
    >>> from rewards.tiny_model import save_tiny_reward_model
    >>> path = save_tiny_reward_model(tempfile.mkdtemp())
    >>> sorted(p.name for p in path.iterdir())[:2]
    ['chat_template.jinja', 'config.json']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
)

_CORPUS = [
    "What is 12 + 30? The answer is 42.",
    "Write a haiku about the sea. Waves fold into foam, salt on the wind.",
    "Explain recursion. A function that calls itself on a smaller input until a base case.",
    "user assistant reference answer prompt response",
    "0 1 2 3 4 5 6 7 8 9 + - * / = ( ) \\boxed{} <think> </think>",
]


def build_tokenizer(vocab_size: int = 400):
    """A byte-level BPE tokenizer (any text encodes; nothing is unknown) with a pad token
    and a ChatML-style template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(_CORPUS * 4, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="<|im_end|>")
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def tiny_llama_config(tokenizer: Any, hidden_size: int, layers: int, max_positions: int, **extra: Any):
    """The small Llama shape every tiny test model uses (reward models here, policies in
    :mod:`trainer.tiny_policy`), sized to ``tokenizer``; ``extra`` adds config fields."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **extra,
    )


def build_tiny_reward_model(
    hidden_size: int = 32, layers: int = 2, max_positions: int = 256, seed: int = 0, vocab_size: int = 400
):
    """A (model, tokenizer) pair: a Llama sequence classifier with one label."""
    import torch
    from transformers import LlamaForSequenceClassification

    tokenizer = build_tokenizer(vocab_size)
    config = tiny_llama_config(tokenizer, hidden_size, layers, max_positions, num_labels=1)
    torch.manual_seed(seed)
    model = LlamaForSequenceClassification(config)
    return model, tokenizer


def save_tiny_reward_model(directory: str | Path, **kw: int) -> Path:
    """Build a tiny reward model and save it (model and tokenizer) under ``directory``."""
    path = Path(directory)
    model, tokenizer = build_tiny_reward_model(**kw)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
