"""Checkpoints: everything a run needs to continue exactly where it stopped.

``RUN/checkpoint/`` holds the trainable weights (``model.safetensors``: LoRA adapters only
when training LoRA, else the whole model), the optimizer, the sampler's state, every RNG
state and the step. A run resumed from it takes the same next step, bit for bit on the same
machine, as the uninterrupted run (tested). Writes go to a temporary folder first, so an
interrupted save never leaves a half checkpoint behind.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file


def trainable_state(model: Any) -> dict[str, torch.Tensor]:
    """The parameters that training changes (all of them, or the LoRA adapters)."""
    return {name: p.detach().cpu().contiguous() for name, p in model.named_parameters() if p.requires_grad}


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():  # sampling on a GPU draws from the GPU's generators
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    directory: Path, model: Any, optimizer: torch.optim.Optimizer, sampler: Any, step: int, extra: dict
) -> None:
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(trainable_state(model), str(tmp / "model.safetensors"))
    torch.save(
        {"optimizer": optimizer.state_dict(), "sampler": sampler.state_dict(), "rng": rng_state()},
        tmp / "state.pt",
    )
    (tmp / "trainer_state.json").write_text(json.dumps({"step": step, **extra}, indent=1))
    shutil.rmtree(directory, ignore_errors=True)
    tmp.rename(directory)


def load_checkpoint(directory: Path, model: Any, optimizer: torch.optim.Optimizer, sampler: Any) -> dict:
    """Restore model, optimizer, sampler and RNGs in place; returns ``trainer_state.json``."""
    weights = load_file(str(directory / "model.safetensors"))
    params = dict(model.named_parameters())
    missing = sorted(set(weights) ^ {n for n, p in params.items() if p.requires_grad})
    if missing:
        raise ValueError(
            f"{directory}: checkpoint does not match the model (first differences: {missing[:3]})"
        )
    with torch.no_grad():
        for name, tensor in weights.items():
            params[name].copy_(tensor)
    state = torch.load(directory / "state.pt", weights_only=False)
    optimizer.load_state_dict(state["optimizer"])
    sampler.load_state_dict(state["sampler"])
    set_rng_state(state["rng"])
    return json.loads((directory / "trainer_state.json").read_text())
