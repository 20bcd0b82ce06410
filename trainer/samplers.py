"""Which problems each training step uses.

A sampler returns the problem indices of the next step, given what the last step taught it
(``stats``: for each problem index scored last step, how many of its responses were
correct out of how many). Its state goes into checkpoints, so a resumed run draws exactly
what an uninterrupted one would have drawn.

Example:
    >>> from trainer.samplers import UniformSampler
    >>> sampler = UniformSampler(n_problems=5, batch_size=2, seed=0)
    >>> first = sampler.next_batch(0, {})
    >>> len(first), all(0 <= i < 5 for i in first)
    (2, True)
"""

from __future__ import annotations

import random
from typing import Any, Protocol

#: problem index → (correct responses, scored responses) in the last step
StepStats = dict[int, tuple[int, int]]


class Sampler(Protocol):
    def next_batch(self, step: int, stats: StepStats) -> list[int]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class UniformSampler:
    """Epochs over a fixed shuffle order: every problem once per epoch, reshuffled each epoch."""

    def __init__(self, n_problems: int, batch_size: int, seed: int = 0) -> None:
        if n_problems < 1 or batch_size < 1:
            raise ValueError("a sampler needs at least one problem and a batch size of at least 1")
        self.n, self.batch_size = n_problems, batch_size
        self.rng = random.Random(seed)
        self.order: list[int] = []

    def next_batch(self, step: int, stats: StepStats) -> list[int]:
        batch: list[int] = []
        while len(batch) < self.batch_size:
            if not self.order:
                self.order = list(range(self.n))
                self.rng.shuffle(self.order)
            batch.append(self.order.pop())
        return batch

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.getstate(), "order": list(self.order)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        version, internal, gauss = state["rng"]
        self.rng.setstate((version, tuple(internal), gauss))
        self.order = list(state["order"])


def make_sampler(name: str, problems: list, batch_size: int, seed: int) -> Sampler:
    """The sampler called ``name`` over ``problems``."""
    if name == "uniform":
        return UniformSampler(len(problems), batch_size, seed)
    raise ValueError(f"unknown sampler {name!r}; one of: uniform")
