"""The ``model`` kind: a Hugging Face sequence-classification reward model scores
open-ended answers.

The conversation is built with the tokenizer's chat template (user: the prompt, plus the
reference answer when given; assistant: the response) and the score is the single
logit at the last non-padding token, pooled as transformers pools it. Scoring goes
through a :class:`~rewards.batching.DynamicBatcher` per device, so concurrent requests
share batches. Importing this module imports torch; the engine imports it only when a
model is configured.

A sample's ``correct`` is ``score > threshold`` (default 0: a Bradley–Terry model's
logit is a log-odds against an average answer); its reward is the raw score.

Example (a tiny random model; point ``path`` at one from ``verirl train-rm``):
    >>> import tempfile
    >>> from rewards.model import ModelConfig, ModelScorer
    >>> from rewards.schema import decode_sample
    >>> from rewards.tiny_model import save_tiny_reward_model
    >>> path = save_tiny_reward_model(tempfile.mkdtemp())
    >>> sample = decode_sample({"id": "1", "kind": "model", "prompt": "Hi", "response": "Hello!"})
    >>> with ModelScorer(ModelConfig(path=str(path))) as scorer:
    ...     result = scorer.score([sample])[0]
    >>> result.status.value in ("ok", "wrong"), result.reward == result.details["score"]
    (True, True)
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch

from rewards.batching import DynamicBatcher
from rewards.schema import JSON, ModelReference, Result, Sample, Status
from rewards.scoring import UNLIMITED, Budget, Progress, ScorerStats, StartupError

log = logging.getLogger(__name__)

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class ModelLoadError(StartupError):
    """The configured reward model cannot be served; raised at startup, never per sample."""


@dataclass(frozen=True)
class ModelConfig:
    """Settings of the reward-model scorer (the ``[model]`` table of the server config)."""

    path: str  # a directory from save_pretrained, a hub id where a hub is reachable, or a .gguf file
    device: str | None = None  # "cpu", "cuda", "cuda:1"; default: every GPU, else the CPU
    dtype: str | None = None  # float32 | bfloat16 | float16; default: bf16 on GPU, fp32 on CPU
    max_batch_size: int = 32
    max_queue_delay_ms: float = 5.0
    max_batch_tokens: int = 1 << 16  # rows × longest row in one forward pass
    max_length: int | None = None  # tokens; default: the model's own limit
    truncation: str = "left"  # "left": drop the start of the prompt; "reject": invalid_input
    threshold: float = 0.0  # score > threshold → correct
    padding_side: str = "right"

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(obj) - known)
        if unknown:
            raise ValueError(f"model: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
        for key, value in obj.items():
            expected = _SETTING_TYPES[key]
            if value is not None and (isinstance(value, bool) or not isinstance(value, expected)):
                raise ValueError(f"model.{key}: expected {expected}, got {value!r}")
        cfg = cls(**obj)
        if cfg.max_batch_size < 1 or cfg.max_queue_delay_ms < 0 or cfg.max_batch_tokens < 1:
            raise ValueError(
                "model: max_batch_size and max_batch_tokens must be >= 1, max_queue_delay_ms >= 0"
            )
        if cfg.truncation not in ("left", "reject"):
            raise ValueError("model.truncation must be 'left' or 'reject'")
        if cfg.padding_side not in ("left", "right"):
            raise ValueError("model.padding_side must be 'left' or 'right'")
        if cfg.dtype is not None and cfg.dtype not in _DTYPES:
            raise ValueError(f"model.dtype must be one of {', '.join(_DTYPES)}")
        return cfg


_SETTING_TYPES: dict[str, type | tuple[type, ...]] = {
    "path": str,
    "device": str,
    "dtype": str,
    "max_batch_size": int,
    "max_queue_delay_ms": (int, float),
    "max_batch_tokens": int,
    "max_length": int,
    "truncation": str,
    "threshold": (int, float),
    "padding_side": str,
}


# --------------------------------------------------------------------------- loading


def _devices(cfg: ModelConfig) -> list[torch.device]:
    if cfg.device is not None:
        return [torch.device(cfg.device)]
    if torch.cuda.is_available():
        return [torch.device("cuda", i) for i in range(torch.cuda.device_count())]
    return [torch.device("cpu")]


def _dtype(cfg: ModelConfig, device: torch.device) -> torch.dtype:
    if cfg.dtype is not None:
        return _DTYPES[cfg.dtype]
    return torch.bfloat16 if device.type == "cuda" else torch.float32


def model_source(path: str) -> tuple[str, dict[str, Any]]:
    """from_pretrained's first argument and extra keywords (GGUF files load from their directory)."""
    local = Path(path)
    if local.suffix == ".gguf":
        if not local.is_file():
            raise ModelLoadError(f"reward model {path}: no such GGUF file")
        return str(local.parent), {"gguf_file": local.name}
    if local.exists() and not (local / "config.json").is_file():
        raise ModelLoadError(f"reward model {path}: a directory without config.json (not a saved model)")
    if not local.exists() and (path.startswith((".", "/", "~")) or path.count("/") > 1):
        raise ModelLoadError(f"reward model {path}: no such directory")
    return path, {}


def load_model(cfg: ModelConfig, device: torch.device) -> tuple[Any, Any]:
    """The model (eval mode, on ``device``) and its tokenizer; :class:`ModelLoadError` says
    plainly why a model cannot serve as a reward model."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    source, extra = model_source(cfg.path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **extra)
        model, info = AutoModelForSequenceClassification.from_pretrained(
            source, dtype=_dtype(cfg, device), output_loading_info=True, **extra
        )
    except Exception as error:  # transformers raises many types for a broken model
        raise ModelLoadError(
            f"reward model {cfg.path} could not be loaded: {type(error).__name__}: {error}"
        ) from error
    if model.config.num_labels != 1:
        raise ModelLoadError(
            f"reward model {cfg.path} has {model.config.num_labels} labels; a reward model has exactly one"
        )
    head = [k for k in info.get("missing_keys", ()) if k.split(".")[0] in ("score", "classifier")]
    if head:
        raise ModelLoadError(
            f"reward model {cfg.path} has no trained score head (missing {', '.join(sorted(head))}); "
            "it is a base model: train one with `verirl train-rm`"
        )
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    return model.to(device).eval(), tokenizer


# --------------------------------------------------------------------------- one replica


class _Replica:
    """One model on one device, fed by its own batcher thread."""

    def __init__(self, model: Any, pad_id: int, device: torch.device, cfg: ModelConfig) -> None:
        self.model = model
        self.pad_id = pad_id
        self.device = device
        self.left = cfg.padding_side == "left"
        self.takes_positions = "position_ids" in inspect.signature(model.forward).parameters
        self.batcher = DynamicBatcher(
            self.forward,
            max_batch_size=cfg.max_batch_size,
            max_queue_delay_s=cfg.max_queue_delay_ms / 1000,
            max_batch_tokens=cfg.max_batch_tokens,
            name=f"verirl-rm-{device}",
        )

    @torch.inference_mode()
    def forward(self, batch: Sequence[Sequence[int]]) -> list[float]:
        width = max(len(ids) for ids in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, seq in enumerate(batch):
            span = slice(width - len(seq), width) if self.left else slice(0, len(seq))
            ids[row, span] = torch.tensor(seq, dtype=torch.long)
            mask[row, span] = 1
        inputs = {"input_ids": ids.to(self.device), "attention_mask": mask.to(self.device)}
        if self.takes_positions:  # left padding must not shift positions
            inputs["position_ids"] = (mask.cumsum(-1) - 1).clamp(min=0).to(self.device)
        logits = self.model(**inputs).logits
        return logits[:, 0].float().cpu().tolist()


# --------------------------------------------------------------------------- the scorer


@dataclass(frozen=True, slots=True)
class Encoded:
    ids: list[int]
    note: str | None  # what truncation did, for the result's details


class ConversationEncoder:
    """prompt (+ reference) and response → the token ids a reward model reads.

    Shared by the scorer and ``verirl train-rm`` so a model is served exactly as it was
    trained. Inputs over ``max_length`` lose the start of the prompt (``truncation="left"``)
    or are refused (``"reject"``); a response that does not fit alone is always refused.
    Thread-safe: fast tokenizers must not be used from two threads at once.
    """

    def __init__(self, tokenizer: Any, max_length: int, truncation: str = "left") -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.truncation = truncation
        self.templated = bool(getattr(tokenizer, "chat_template", None))
        self._lock = threading.Lock()

    def render(self, prompt: str, response: str, reference: str | None = None) -> str:
        user = prompt if reference is None else f"{prompt}\n\nReference answer: {reference}"
        if self.templated:
            turns = [{"role": "user", "content": user}, {"role": "assistant", "content": response}]
            return self.tokenizer.apply_chat_template(turns, tokenize=False)
        return f"User: {user}\nAssistant: {response}"

    def _ids(self, text: str, special: bool) -> list[int]:
        with self._lock:
            return self.tokenizer(text, add_special_tokens=special)["input_ids"]

    def encode(self, prompt: str, response: str, reference: str | None = None) -> Encoded | str:
        """Token ids, truncated from the left of the prompt when too long; or why not."""
        special = not self.templated  # a chat template writes its own special tokens
        ids = self._ids(self.render(prompt, response, reference), special)
        if len(ids) <= self.max_length:
            return Encoded(ids, None)
        too_long = f"{len(ids)} tokens is more than the reward model's limit of {self.max_length}"
        if self.truncation == "reject":
            return f"{too_long} (truncation is 'reject')"
        prompt_ids = self._ids(prompt, False)
        keep = len(prompt_ids) - (len(ids) - self.max_length)
        while keep > 0:  # decoding and re-rendering can shift a token or two: shrink until it fits
            kept = self.tokenizer.decode(prompt_ids[-keep:])
            ids = self._ids(self.render(kept, response, reference), special)
            if len(ids) <= self.max_length:
                note = f"prompt truncated from the left: kept the last {keep} of {len(prompt_ids)} tokens"
                return Encoded(ids, note)
            keep -= max(1, len(ids) - self.max_length)
        return f"{too_long}, even without the prompt; the response alone does not fit"


class ModelScorer:
    """Scores ``model`` samples with a reward model, one replica per device."""

    def __init__(self, cfg: ModelConfig) -> None:
        self.cfg = cfg
        self.replicas: list[_Replica] = []
        for device in _devices(cfg):
            model, tokenizer = load_model(cfg, device)
            self.replicas.append(_Replica(model, tokenizer.pad_token_id, device, cfg))
        self.encoder = ConversationEncoder(
            tokenizer, cfg.max_length or model_limit(model, tokenizer), cfg.truncation
        )
        log.info(
            "reward model %s on %s, max length %d",
            cfg.path,
            [str(r.device) for r in self.replicas],
            self.encoder.max_length,
        )

    def ready(self) -> tuple[bool, str]:
        return True, ""

    def stats(self) -> ScorerStats:
        """sequences / forward passes is the mean batch the dynamic batcher achieved."""
        return ScorerStats(
            workers=len(self.replicas),
            forwards={str(r.device): r.batcher.batches for r in self.replicas},
            items={str(r.device): r.batcher.items for r in self.replicas},
        )

    def encode(self, sample: Sample) -> Encoded | str:
        reference = sample.reference.reference if isinstance(sample.reference, ModelReference) else None
        return self.encoder.encode(sample.prompt or "", sample.response, reference)

    # ----------------------------------------------------------------- scoring

    def _submit(self, ids: list[int]) -> Future[float]:
        replica = min(self.replicas, key=lambda r: r.batcher.pending())
        return replica.batcher.submit(ids)

    def score(
        self, samples: Sequence[Sample], progress: Progress | None = None, budget: Budget = UNLIMITED
    ) -> list[Result]:
        start = time.perf_counter()
        encoded = [self.encode(s) for s in samples]
        futures = [self._submit(e.ids) if isinstance(e, Encoded) else None for e in encoded]
        results = [
            self._collect(s, e, f, budget, start) for s, e, f in zip(samples, encoded, futures, strict=True)
        ]
        if progress:
            progress(len(samples))
        return results

    def _collect(
        self,
        sample: Sample,
        encoded: Encoded | str,
        future: Future[float] | None,
        budget: Budget,
        start: float,
    ) -> Result:
        if isinstance(encoded, str) or future is None:
            return Result.failure(sample.id, Status.INVALID_INPUT, str(encoded), field="response")
        try:
            score = future.result(timeout=max(0.0, budget.remaining()) if budget.deadline else None)
        except FutureTimeout:
            future.cancel()
            return Result.failure(
                sample.id, Status.TIMEOUT, f"reward model not reached in time: {budget.why()}"
            )
        except Exception as error:  # a failed forward pass (e.g. out of memory) is verirl's fault
            return Result.failure(
                sample.id, Status.INTERNAL_ERROR, f"reward model failed: {type(error).__name__}: {error}"
            )
        correct = score > self.cfg.threshold
        details: dict[str, JSON] = {"score": score, "tokens": len(encoded.ids)}
        if encoded.note:
            details["truncated"] = encoded.note
        return Result(
            sample.id,
            score,
            correct,
            Status.OK if correct else Status.WRONG,
            f"reward-model score {score:.4f} ({'above' if correct else 'not above'} {self.cfg.threshold:g})",
            details,
            {"model_s": round(time.perf_counter() - start, 4)},
        )

    def close(self) -> None:
        for replica in self.replicas:
            replica.batcher.close()

    def __enter__(self) -> ModelScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def model_limit(model: Any, tokenizer: Any) -> int:
    limits = [
        getattr(model.config, "max_position_embeddings", None),
        getattr(tokenizer, "model_max_length", None),
    ]
    usable = [n for n in limits if isinstance(n, int) and 0 < n < 1_000_000]
    return min(usable) if usable else 2048
