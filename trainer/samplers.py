"""Which problems each training step uses.

A sampler returns the problem indices of the next step, given what the last step taught it
(``stats``: for each problem index scored last step, how many of its responses were
correct out of how many). Its state goes into checkpoints, so a resumed run draws exactly
what an uninterrupted one would have drawn.

Samplers (``--sampler``), after Kimi k1.5's data recipe (section 2.3.3 of the report):

* ``uniform`` — epochs over a shuffled order.
* ``curriculum`` — one ``difficulty`` level at a time, easiest first; the next level starts at
  a set step (``--curriculum-steps``) or as soon as the running accuracy on the current level
  over the last ``--curriculum-window`` steps reaches ``--curriculum-threshold``.
* ``uniform_then_hard`` — the report's ablation: uniform until ``--hard-from-step``, then
  only the hard problems (``difficulty`` ≥ ``--hard-level``; default the top level present).
* ``prioritized`` — P(i) ∝ max(1 − s_i, floor), s_i the problem's running success rate (an
  exponential average, started from ``pass_rate`` when present); a problem solved by every
  response of its last ``--retire-after`` groups is retired (never drawn again).
* ``mixture`` — the report's balance across domains: each draw picks a tag with probability
  ∝ its weight (``--tag-weights add=2,mul=1``; a problem's domain is its first tag), then the
  next problem of that tag's own shuffled epoch.

Example:
    >>> from trainer.samplers import UniformSampler
    >>> sampler = UniformSampler(n_problems=5, batch_size=2, seed=0)
    >>> first = sampler.next_batch(0, {})
    >>> len(first), all(0 <= i < 5 for i in first)
    (2, True)
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
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


def _rng_state(rng: random.Random) -> list:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _set_rng_state(rng: random.Random, state: list) -> None:
    version, internal, gauss = state
    rng.setstate((version, tuple(internal), gauss))


class _Epochs:
    """Shuffled epochs over one pool of indices (a level, a tag, the hard problems)."""

    def __init__(self, pool: list[int], rng: random.Random) -> None:
        if not pool:
            raise ValueError("a sampler pool is empty")
        self.pool, self.rng, self.order = list(pool), rng, []

    def draw(self) -> int:
        if not self.order:
            self.order = list(self.pool)
            self.rng.shuffle(self.order)
        return self.order.pop()


def _levels(problems: list, sampler: str) -> list[int | None]:
    levels = [getattr(p, "difficulty", None) for p in problems]
    if any(level is None for level in levels):
        missing = sum(level is None for level in levels)
        raise ValueError(
            f"--sampler {sampler} needs a 'difficulty' on every problem ({missing} have none); "
            "grade them with `verirl difficulty` first"
        )
    return levels


class CurriculumSampler:
    """Easiest level first; the next level at a set step or once the current one is learnt.

    ``switch_steps[j]`` is the step from which level j + 1 (in ascending order) is used, whatever
    the accuracy; ``threshold`` (0: off) moves on earlier, as soon as the accuracy over the last
    ``window`` steps that scored problems of the current level reaches it."""

    def __init__(
        self,
        problems: list,
        batch_size: int,
        seed: int = 0,
        switch_steps: list[int] | None = None,
        threshold: float = 0.0,
        window: int = 2,
    ) -> None:
        levels = _levels(problems, "curriculum")
        self.order = sorted(set(levels))  # type: ignore[type-var]
        self.pools = [[i for i, lv in enumerate(levels) if lv == level] for level in self.order]
        self.batch_size, self.threshold, self.window = batch_size, threshold, max(1, window)
        self.switch_steps = sorted(switch_steps or [])
        self.rng = random.Random(seed)
        self.current = 0
        self.history: deque[tuple[int, int]] = deque(maxlen=self.window)
        self.epochs = _Epochs(self.pools[0], self.rng)
        self.switches: list[tuple[int, int]] = []  # (step, level index) whenever the level changed

    @property
    def level(self) -> int:
        return self.order[self.current]

    def _move_to(self, index: int, step: int) -> None:
        index = min(index, len(self.pools) - 1)
        if index <= self.current:
            return
        self.current = index
        self.history.clear()
        self.epochs = _Epochs(self.pools[index], self.rng)
        self.switches.append((step, index))

    def next_batch(self, step: int, stats: StepStats) -> list[int]:
        pool = set(self.pools[self.current])
        seen = [(c, n) for i, (c, n) in stats.items() if i in pool and n]
        if seen:
            self.history.append((sum(c for c, _ in seen), sum(n for _, n in seen)))
        if self.threshold and len(self.history) == self.window:
            correct, scored = map(sum, zip(*self.history, strict=True))
            if correct / scored >= self.threshold:
                self._move_to(self.current + 1, step)
        self._move_to(sum(1 for s in self.switch_steps if step >= s), step)
        return [self.epochs.draw() for _ in range(self.batch_size)]

    def state_dict(self) -> dict[str, Any]:
        return {
            "rng": _rng_state(self.rng),
            "current": self.current,
            "history": [list(h) for h in self.history],
            "order": list(self.epochs.order),
            "switches": [list(s) for s in self.switches],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        _set_rng_state(self.rng, state["rng"])
        self.current = state["current"]
        self.epochs = _Epochs(self.pools[self.current], self.rng)
        self.epochs.order = list(state["order"])
        self.history = deque((tuple(h) for h in state["history"]), maxlen=self.window)  # type: ignore[misc]
        self.switches = [tuple(s) for s in state["switches"]]  # type: ignore[misc]


class UniformThenHardSampler:
    """Kimi's curriculum ablation: uniform over everything before ``switch_step``, then
    uniform over the hard problems only (``difficulty`` ≥ ``hard_level``)."""

    def __init__(
        self,
        problems: list,
        batch_size: int,
        seed: int = 0,
        switch_step: int = 0,
        hard_level: int | None = None,
    ) -> None:
        levels = _levels(problems, "uniform_then_hard")
        top = max(levels) if hard_level is None else hard_level  # type: ignore[type-var]
        hard = [i for i, lv in enumerate(levels) if lv >= top]  # type: ignore[operator]
        if not hard:
            raise ValueError(f"no problem has difficulty >= {top}")
        self.batch_size, self.switch_step = batch_size, switch_step
        self.rng = random.Random(seed)
        self.phases = [_Epochs(list(range(len(problems))), self.rng), _Epochs(hard, self.rng)]

    def next_batch(self, step: int, stats: StepStats) -> list[int]:
        phase = self.phases[int(step >= self.switch_step)]
        return [phase.draw() for _ in range(self.batch_size)]

    def state_dict(self) -> dict[str, Any]:
        return {"rng": _rng_state(self.rng), "orders": [list(p.order) for p in self.phases]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        _set_rng_state(self.rng, state["rng"])
        for phase, order in zip(self.phases, state["orders"], strict=True):
            phase.order = list(order)


class PrioritizedSampler:
    """P(i) ∝ max(1 − s_i, floor) over the problems not retired, drawn with replacement.

    s_i starts at the problem's ``pass_rate`` (``initial`` when it has none) and after each
    step that scored it moves to (1 − ema)·s_i + ema·(correct/scored). A problem whose last
    ``retire_after`` groups were all fully solved is retired: it no longer teaches anything
    and only costs generation. If every problem is retired the floor applies to all again,
    so a run never stops for want of problems."""

    def __init__(
        self,
        problems: list,
        batch_size: int,
        seed: int = 0,
        floor: float = 0.05,
        ema: float = 0.5,
        retire_after: int = 0,
        initial: float = 0.5,
    ) -> None:
        if not 0 < floor <= 1:
            raise ValueError("--priority-floor must be in (0, 1]: without a floor a solved problem starves")
        if not 0 < ema <= 1:
            raise ValueError("--priority-ema must be in (0, 1]")
        self.batch_size, self.floor, self.ema, self.retire_after = batch_size, floor, ema, retire_after
        self.rng = random.Random(seed)
        self.success = [
            initial if getattr(p, "pass_rate", None) is None else float(p.pass_rate) for p in problems
        ]
        self.solved_runs = [0] * len(problems)  # consecutive fully solved groups, most recent last
        self.retired: set[int] = set()

    def weights(self) -> list[float]:
        """The unnormalised probability of each problem now (0 for retired ones)."""
        everyone_retired = len(self.retired) == len(self.success)
        return [
            0.0 if (i in self.retired and not everyone_retired) else max(1.0 - s, self.floor)
            for i, s in enumerate(self.success)
        ]

    def probabilities(self) -> list[float]:
        w = self.weights()
        total = math.fsum(w)
        return [x / total for x in w]

    def update(self, stats: StepStats) -> None:
        for i, (correct, scored) in sorted(stats.items()):
            if not scored:
                continue
            self.success[i] = (1 - self.ema) * self.success[i] + self.ema * correct / scored
            self.solved_runs[i] = self.solved_runs[i] + 1 if correct == scored else 0
            if self.retire_after and self.solved_runs[i] >= self.retire_after:
                self.retired.add(i)

    def next_batch(self, step: int, stats: StepStats) -> list[int]:
        self.update(stats)
        return self.rng.choices(range(len(self.success)), weights=self.weights(), k=self.batch_size)

    def state_dict(self) -> dict[str, Any]:
        return {
            "rng": _rng_state(self.rng),
            "success": list(self.success),
            "solved_runs": list(self.solved_runs),
            "retired": sorted(self.retired),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        _set_rng_state(self.rng, state["rng"])
        self.success = [float(s) for s in state["success"]]
        self.solved_runs = [int(r) for r in state["solved_runs"]]
        self.retired = set(state["retired"])


def parse_tag_weights(items: list[str]) -> dict[str, float]:
    """``["add=2", "mul=1"]`` → ``{"add": 2.0, "mul": 1.0}``."""
    weights: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = -1.0
        if not sep or not name.strip() or weight < 0:
            raise ValueError(f"--tag-weights: {item!r} is not TAG=WEIGHT with a weight >= 0")
        weights[name.strip()] = weight
    return weights


UNTAGGED = "untagged"


class MixtureSampler:
    """Domains in set proportions: a tag drawn ∝ its weight, then that tag's next problem.
    Tags without a weight get 1; a problem's domain is its first tag (``untagged`` if none)."""

    def __init__(
        self, problems: list, batch_size: int, seed: int = 0, weights: dict[str, float] | None = None
    ):
        pools: dict[str, list[int]] = {}
        for i, p in enumerate(problems):
            pools.setdefault(p.tags[0] if getattr(p, "tags", ()) else UNTAGGED, []).append(i)
        unknown = sorted(set(weights or {}) - set(pools))
        if unknown:
            raise ValueError(f"--tag-weights names tags no problem has: {unknown}; tags: {sorted(pools)}")
        self.tags = sorted(pools)
        self.weights = [(weights or {}).get(t, 1.0) for t in self.tags]
        if not any(self.weights):
            raise ValueError("--tag-weights: every weight is 0")
        self.batch_size = batch_size
        self.rng = random.Random(seed)
        self.epochs = {t: _Epochs(pools[t], self.rng) for t in self.tags}

    def next_batch(self, step: int, stats: StepStats) -> list[int]:
        tags = self.rng.choices(self.tags, weights=self.weights, k=self.batch_size)
        return [self.epochs[t].draw() for t in tags]

    def state_dict(self) -> dict[str, Any]:
        return {"rng": _rng_state(self.rng), "orders": {t: list(e.order) for t, e in self.epochs.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        _set_rng_state(self.rng, state["rng"])
        for tag, order in state["orders"].items():
            self.epochs[tag].order = list(order)


SAMPLERS = ("uniform", "curriculum", "uniform_then_hard", "prioritized", "mixture")


def make_sampler(name: str, problems: list, batch_size: int, seed: int, settings: Any = None) -> Sampler:
    """The sampler called ``name`` over ``problems``; its options are read from ``settings``
    (a :class:`~trainer.config.TrainConfig`), the defaults standing where it has none."""

    def opt(field: str, default: Any) -> Any:
        value = getattr(settings, field, None)
        return default if value is None else value

    if name == "uniform":
        return UniformSampler(len(problems), batch_size, seed)
    if name == "curriculum":
        return CurriculumSampler(
            problems,
            batch_size,
            seed,
            switch_steps=list(opt("curriculum_steps", [])),
            threshold=opt("curriculum_threshold", 0.0),
            window=opt("curriculum_window", 2),
        )
    if name == "uniform_then_hard":
        return UniformThenHardSampler(
            problems,
            batch_size,
            seed,
            switch_step=opt("hard_from_step", 0),
            hard_level=opt("hard_level", None),
        )
    if name == "prioritized":
        return PrioritizedSampler(
            problems,
            batch_size,
            seed,
            floor=opt("priority_floor", 0.05),
            ema=opt("priority_ema", 0.5),
            retire_after=opt("retire_after", 0),
        )
    if name == "mixture":
        return MixtureSampler(problems, batch_size, seed, parse_tag_weights(list(opt("tag_weights", []))))
    raise ValueError(f"unknown sampler {name!r}; one of: {', '.join(SAMPLERS)}")


@dataclass
class Refill:
    """What dynamic sampling kept, and every group it scored on the way (for ``stats``)."""

    mine: list[int]
    groups: list[list[Any]]
    results: list[Any]
    seen: tuple[list[int], list[Any]]
    dropped: int


def refill_informative(
    sampler: Sampler,
    step: int,
    mine: list[int],
    groups: list[list[Any]],
    results: list[Any],
    max_rounds: int,
    score: Callable[[list[int], int], tuple[list[list[Any]], list[Any]]],
    no_signal: Collection[Any] = (),
) -> Refill:
    """DAPO's dynamic sampling: drop the groups whose rewards are all equal (their advantages
    are all zero) and draw more problems from ``sampler`` until the batch has as many groups
    as it started with, or ``max_rounds`` refills have been tried. ``score(indices, round)``
    generates and scores one group per index; samples with a ``no_signal`` status are
    ignored when comparing a group's rewards."""
    target = len(mine)
    kept_mine: list[int] = []
    kept_groups: list[list[Any]] = []
    kept_results: list[Any] = []
    seen_mine, seen_results = list(mine), list(results)
    dropped = 0

    def take(indices: list[int], new_groups: list[list[Any]], new_results: list[Any]) -> None:
        nonlocal dropped
        offset = 0
        for i, group in zip(indices, new_groups, strict=True):
            part = new_results[offset : offset + len(group)]
            offset += len(group)
            if len({r.reward for r in part if r.status not in no_signal}) > 1:
                kept_mine.append(i)
                kept_groups.append(group)
                kept_results.extend(part)
            else:
                dropped += 1

    take(mine, groups, results)
    for round_ in range(max_rounds):
        missing = target - len(kept_mine)
        if missing <= 0:
            break
        more = sampler.next_batch(step, {})[:missing]
        more_groups, more_results = score(more, round_)
        seen_mine.extend(more)
        seen_results.extend(more_results)
        take(more, more_groups, more_results)
    return Refill(kept_mine, kept_groups, kept_results, (seen_mine, seen_results), dropped)
