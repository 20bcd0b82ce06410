"""A tiny causal LM built from a config (random weights, a character tokenizer, a chat
template; no download), for tests and smoke runs of the trainer.

Its vocabulary is a few dozen characters, so a random policy already writes digits often
enough for a reward on them to be learnable in a few steps.

Example:
    >>> import tempfile
    >>> from trainer.tiny_policy import save_tiny_policy
    >>> path = save_tiny_policy(tempfile.mkdtemp())
    >>> (path / "config.json").exists()
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rewards.tiny_model import CHAT_TEMPLATE, tiny_llama_config

SPECIALS = ["<pad>", "<|im_start|>", "<|im_end|>", "<unk>"]
CHARS = list("0123456789 \nabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+-=?.,:{}()\\")


def build_tiny_tokenizer(chars: str | None = None):
    """A character-level tokenizer: every character its own token, unknown ones <unk>.
    ``chars`` narrows the alphabet (a smaller one makes random outputs hit a target more often)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(SPECIALS + (list(chars) if chars else CHARS))}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", eos_token="<|im_end|>", unk_token="<unk>"
    )
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>"]})
    tokenizer.chat_template = (
        CHAT_TEMPLATE + "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    return tokenizer


def build_tiny_policy(hidden_size: int = 32, layers: int = 2, seed: int = 0, chars: str | None = None):
    """(model, tokenizer): a two-layer Llama causal LM with random weights."""
    import torch
    from transformers import LlamaForCausalLM

    tokenizer = build_tiny_tokenizer(chars)
    config = tiny_llama_config(
        tokenizer, hidden_size, layers, 512, bos_token_id=None, tie_word_embeddings=True
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config), tokenizer


def save_tiny_policy(directory: str | Path, **kw: Any) -> Path:
    path = Path(directory)
    model, tokenizer = build_tiny_policy(**kw)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
