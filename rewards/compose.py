"""Reward composition: correctness, the Kimi k1.5 length penalty, DAPO's overlong
punishment and a format reward, weighted by a per-request :class:`RewardSpec`.

The engine applies this last, after every scorer has finished, because the length
penalty is a group term: it compares the k responses to one prompt (samples sharing a
``group``) and so must see the whole group. A group that arrives in pieces would get a
silent per-slice penalty (the bug of a reward function run per process: TRL spreads one
prompt's samples across processes, so each sees a slice of the group);
here it is an ``invalid_input`` error instead, detected two ways: the spec's
``group_size`` (a group with another count in the request), and a per-step ledger of
groups already scored (a group seen again for the same training step).

The ledger records a group only once its results were delivered: the server reserves
the groups of a call while it runs and commits them when the response went out, so a
trainer's retry of a call that expired or failed is scored, not refused. It is bounded:
see :class:`GroupLedger` for the policy.

Length is in tokens when a sample carries ``response_tokens`` (the trainer sends them),
otherwise in characters; ``details["reward"]["length_unit"]`` says which.

Example:
    >>> from rewards.compose import kimi_length_rewards, overlong_penalty
    >>> kimi_length_rewards([10, 20, 30], [True, True, False])
    [0.5, 0.0, -0.5]
    >>> overlong_penalty(90, max_length=100, buffer=20), overlong_penalty(101, 100, 20)
    (-0.5, -1.0)
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

from rewards.schema import JSON, ContractError, Kind, Result, Sample, Status

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- formulas


def kimi_length_rewards(lengths: Sequence[int], correct: Sequence[bool]) -> list[float]:
    """Kimi k1.5's length reward over one group of k responses.

    ``λ_i = 0.5 − (len_i − min_len)/(max_len − min_len)``; a correct response gets ``λ_i``,
    an incorrect one ``min(0, λ_i)``; all lengths equal gives 0 for everyone.
    """
    low, high = min(lengths), max(lengths)
    if high == low:
        return [0.0] * len(lengths)
    lambdas = [0.5 - (n - low) / (high - low) for n in lengths]
    return [lam if ok else min(0.0, lam) for lam, ok in zip(lambdas, correct, strict=True)]


def overlong_penalty(length: int, max_length: int, buffer: int) -> float:
    """DAPO's soft overlong punishment: 0 up to ``max_length − buffer``, then a linear
    ramp down to −1 at ``max_length``, and −1 beyond it."""
    start = max_length - buffer
    if length <= start:
        return 0.0
    if length <= max_length:
        return (start - length) / buffer
    return -1.0


_THINK = re.compile(r"\s*<think>(?:(?!<think>).)*?</think>\s*(\S.*)", re.DOTALL)
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
FORMATS = ("boxed", "think", "think_boxed")


def format_reward(response: str, fmt: str) -> float:
    """1.0 when the response has the required shape, else 0.0.

    ``boxed``: a ``\\boxed{}`` answer; ``think``: one leading ``<think>…</think>`` block
    followed by a non-empty answer; ``think_boxed``: both, the box after the block.
    """
    think = _THINK.fullmatch(response)
    has_think = think is not None and "<think>" not in think.group(1)
    if fmt == "boxed":
        return float(bool(_BOXED.search(response)))
    if fmt == "think":
        return float(has_think)
    return float(has_think and bool(_BOXED.search(think.group(1))))  # type: ignore[union-attr]


# --------------------------------------------------------------------------- the spec


@dataclass(frozen=True, slots=True)
class RewardSpec:
    """How a request's rewards are composed; the server's config gives the defaults.

    ``final = correctness_weight·correctness + length_weight·kimi_length
    + overlong_weight·overlong + format_weight·format``.

    ``correctness``: ``scorer`` keeps each scorer's reward (a reward model's score, a code
    sample's own ``partial_credit``), ``binary`` uses 1/0 for correct/not (Kimi k1.5),
    ``fraction`` the fraction of code tests passed. Reward-model scores are used as they
    are in every mode. The length penalty is on when ``length_weight`` is non-zero and the
    request's training step has reached ``length_warmup_step``; ``group_size`` (k), when
    given, makes a group with another count in one request an error.
    """

    correctness: str = "scorer"
    correctness_weight: float = 1.0
    length_weight: float = 0.0
    length_warmup_step: int = 0
    group_size: int | None = None
    overlong_max_length: int | None = None
    overlong_buffer: int = 0
    overlong_weight: float = 1.0
    format: str | None = None
    format_weight: float = 0.0

    @classmethod
    def from_dict(cls, obj: dict[str, JSON]) -> RewardSpec:
        """Validate a spec given as JSON/TOML; raises :class:`ContractError` naming the field."""
        if not isinstance(obj, dict):
            raise ContractError("spec", "expected an object")
        known = {f.name: f for f in fields(cls)}
        for key in obj:
            if key not in known:
                raise ContractError(f"spec.{key}", f"unknown field (known: {', '.join(known)})")
        values = {}
        for key, value in obj.items():
            expected = _SPEC_TYPES[key]
            if value is not None and (isinstance(value, bool) or not isinstance(value, expected)):
                name = "number" if expected is _NUMBER else expected.__name__  # type: ignore[union-attr]
                raise ContractError(f"spec.{key}", f"expected {name}, got {value!r}")
            try:
                values[key] = float(value) if expected is _NUMBER and value is not None else value
            except OverflowError:  # an integer too large for a float
                raise ContractError(f"spec.{key}", f"out of range (|value| <= {MAX_WEIGHT:g})") from None
        spec = cls(**values)
        spec.check()
        return spec

    def check(self) -> None:
        """Types, finiteness and ranges: a spec that passes cannot make a reward NaN or
        infinite from finite components (weights are bounded by ``MAX_WEIGHT``)."""
        for name in ("correctness_weight", "length_weight", "overlong_weight", "format_weight"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ContractError(f"spec.{name}", f"expected number, got {value!r}")
            if not (math.isfinite(value) and abs(value) <= MAX_WEIGHT):
                raise ContractError(f"spec.{name}", f"must be a finite number with |value| <= {MAX_WEIGHT:g}")
        for name, low in (("length_warmup_step", 0), ("group_size", 1), ("overlong_max_length", 1)):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int) and low <= value <= MAX_COUNT):
                raise ContractError(f"spec.{name}", f"must be an integer in [{low}, {MAX_COUNT}]")
        if self.correctness not in ("scorer", "binary", "fraction"):
            raise ContractError("spec.correctness", "must be 'scorer', 'binary' or 'fraction'")
        if self.format is not None and self.format not in FORMATS:
            raise ContractError("spec.format", f"must be one of {', '.join(FORMATS)}")
        if self.group_size is not None and self.group_size < 1:
            raise ContractError("spec.group_size", "must be at least 1")
        if self.length_warmup_step < 0:
            raise ContractError("spec.length_warmup_step", "must be >= 0")
        if self.overlong_max_length is not None and not 0 < self.overlong_buffer <= self.overlong_max_length:
            raise ContractError("spec.overlong_buffer", "must be > 0 and <= overlong_max_length")

    def to_dict(self) -> dict[str, JSON]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def length_state(self, step: int | None) -> tuple[bool, str]:
        """Whether the length penalty applies at ``step``, and a phrase saying why."""
        if self.length_weight == 0:
            return False, "off"
        if self.length_warmup_step == 0:
            return True, "on"
        if step is None:
            return False, f"off: no training step given (warm-up until step {self.length_warmup_step})"
        if step < self.length_warmup_step:
            return False, f"off: warm-up until step {self.length_warmup_step} (now {step})"
        return True, "on"


MAX_WEIGHT = 1e6  # weights beyond this only overflow rewards; no recipe uses them
MAX_COUNT = 2**62  # steps, lengths and group sizes: anything an int64 field carries, but positive
_NUMBER = (int, float)
_SPEC_TYPES: dict[str, type | tuple[type, ...]] = {
    "correctness": str,
    "correctness_weight": _NUMBER,
    "length_weight": _NUMBER,
    "length_warmup_step": int,
    "group_size": int,
    "overlong_max_length": int,
    "overlong_buffer": int,
    "overlong_weight": _NUMBER,
    "format": str,
    "format_weight": _NUMBER,
}


# --------------------------------------------------------------------------- the ledger


class Reservation:
    """One call's hold on the groups it is scoring (see :class:`GroupLedger`)."""

    __slots__ = ("closed", "entries")

    def __init__(self) -> None:
        self.entries: list[tuple[int, int]] = []  # (step, digest)
        self.closed = False  # committed or aborted: later reservations are void


class GroupLedger:
    """Remembers which groups were scored with a length penalty, per training step, so a
    group that comes back for the same step (a split group) is caught.

    Groups are *reserved* by the call scoring them (a :class:`Reservation`) and
    *committed* only once its results were delivered; a call that expires, is cancelled or
    fails is *aborted* and leaves nothing behind, so the trainer's retry is scored. A
    reservation held by a running call also catches the other half of a group sent at the
    same time.

    Memory policy: group names are kept as 64-bit digests (about 100 bytes each, however
    long the name), for the last ``steps`` steps and at most ``max_entries`` in all. Past
    that the oldest steps are dropped first; when the newest step alone fills the ledger,
    its further groups are not remembered (logged once per step): a group split across
    requests beyond that point goes undetected rather than the server running out of
    memory. The default, 1,000,000 entries, is about 100 MB.
    """

    def __init__(self, steps: int = 8, max_entries: int = 1_000_000) -> None:
        self._seen: OrderedDict[int, dict[int, Reservation | None]] = OrderedDict()
        self._steps = steps
        self._max = max_entries
        self._entries = 0
        self._full_warned: set[int] = set()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._entries

    @staticmethod
    def _digest(name: str) -> int:
        data = name.encode("utf-8", "surrogatepass")
        return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")

    def claim(self, step: int, groups: set[str]) -> set[str]:
        """Record ``groups`` for ``step`` at once (in-process scoring, where results are
        delivered when computed); returns those already recorded or reserved."""
        return self.reserve(step, groups, None)

    def reserve(self, step: int, groups: set[str], holder: Reservation | None) -> set[str]:
        """Reserve ``groups`` for ``step`` for ``holder`` (None: record at once); returns
        those already recorded or reserved by another call."""
        with self._lock:
            seen = self._seen.get(step)
            if seen is None:
                seen = self._seen[step] = {}
            self._seen.move_to_end(step)
            self._evict(keep=step)
            digests = {self._digest(name): name for name in groups}
            repeated = {name for digest, name in digests.items() if digest in seen}
            if holder is not None and holder.closed:
                return repeated  # the call is over: its results are never delivered
            for digest in digests.keys() - seen.keys():
                if self._entries >= self._max:
                    if step not in self._full_warned:
                        self._full_warned.add(step)
                        log.warning(
                            "group ledger full (%d entries): further groups of step %d are not "
                            "remembered, so a group split across requests may go undetected",
                            self._max,
                            step,
                        )
                    break
                seen[digest] = holder
                self._entries += 1
                if holder is not None:
                    holder.entries.append((step, digest))
            return repeated

    def commit(self, holder: Reservation) -> None:
        """The holder's results were delivered: its groups count as scored."""
        with self._lock:
            holder.closed = True
            for step, digest in holder.entries:
                seen = self._seen.get(step)
                if seen is not None and seen.get(digest) is holder:
                    seen[digest] = None
            holder.entries = []

    def abort(self, holder: Reservation) -> None:
        """The holder's results were not delivered: forget its groups."""
        with self._lock:
            holder.closed = True
            for step, digest in holder.entries:
                seen = self._seen.get(step)
                if seen is not None and seen.get(digest) is holder:
                    del seen[digest]
                    self._entries -= 1
            holder.entries = []

    def _evict(self, keep: int) -> None:
        while len(self._seen) > self._steps or (self._entries >= self._max and len(self._seen) > 1):
            step = next(iter(self._seen))
            if step == keep:
                break
            self._entries -= len(self._seen.pop(step))
            self._full_warned.discard(step)


# --------------------------------------------------------------------------- composition

_UNSCORED = (Status.INVALID_INPUT, Status.INTERNAL_ERROR)


def compose(
    samples: Sequence[Sample | Result],
    results: list[Result],
    spec: RewardSpec,
    step: int | None = None,
    ledger: GroupLedger | None = None,
    holder: Reservation | None = None,
) -> list[Result]:
    """Apply ``spec`` to scored ``results`` (aligned with ``samples``); returns new results.

    With a ``ledger`` and a ``step``, the request's groups are recorded for the step, or
    only reserved for ``holder`` when given (the server commits them once delivered).

    Samples that failed validation or verirl itself (``invalid_input``, ``internal_error``)
    are left as they are and take no part in their group.
    """
    scored = [
        i
        for i, (s, r) in enumerate(zip(samples, results, strict=True))
        if isinstance(s, Sample) and r.status not in _UNSCORED
    ]
    out = list(results)
    length_on, length_why = spec.length_state(step)
    groups = _groups(samples, scored)
    rejected = _unusable_groups(samples, groups, spec, step, ledger, holder) if spec.length_weight else {}
    kimi: dict[int, float] = {}
    for name, members in groups.items():
        if name in rejected:
            for i in members:
                out[i] = _rejected(results[i], rejected[name])
            continue
        lengths = [_length(samples[i])[0] for i in members]  # type: ignore[arg-type]
        values = kimi_length_rewards(lengths, [results[i].correct for i in members])
        kimi.update(zip(members, values, strict=True))
    for i in scored:
        if out[i] is results[i]:
            out[i] = _composed(samples[i], results[i], spec, kimi.get(i, 0.0), length_on, length_why)  # type: ignore[arg-type]
    return out


def _groups(samples: Sequence[Sample | Result], indices: list[int]) -> dict[str, list[int]]:
    """Indices by group; a sample without a group is a group of its own."""
    groups: dict[str, list[int]] = {}
    for i in indices:
        sample = samples[i]
        assert isinstance(sample, Sample)
        key = sample.group if sample.group is not None else f"\0{i}"
        groups.setdefault(key, []).append(i)
    return groups


def _unusable_groups(
    samples: Sequence[Sample | Result],
    groups: dict[str, list[int]],
    spec: RewardSpec,
    step: int | None,
    ledger: GroupLedger | None,
    holder: Reservation | None,
) -> dict[str, str]:
    """Group name → why it cannot get a length penalty from this request."""
    named = {name for name in groups if not name.startswith("\0")}
    problems = {}
    for name in sorted(named):
        if len({_length(samples[i])[1] for i in groups[name]}) > 1:  # type: ignore[arg-type]
            problems[name] = (
                f"group {name!r} mixes samples with and without response_tokens: lengths in tokens "
                "and in characters cannot be compared; give every sample of a group its token count"
            )
    if spec.group_size is not None:
        # Count every sample of the group, scored or not: a sample verirl failed on
        # (internal_error) is still part of a whole group.
        sizes = Counter(s.group for s in samples if isinstance(s, Sample) and s.group is not None)
        for name in sorted(named - set(problems)):
            if sizes[name] != spec.group_size:
                problems[name] = (
                    f"group {name!r} has {sizes[name]} samples in this request but the spec's "
                    f"group_size is {spec.group_size}: the length penalty needs the whole group "
                    "in one request"
                )
    if ledger is not None and step is not None:
        for name in ledger.reserve(step, named - set(problems), holder):
            problems[name] = (
                f"group {name!r} was already scored in an earlier request for step {step} (or is "
                "being scored by one now): a group split across requests would get a per-slice "
                "length penalty; send it whole"
            )
    return problems


def _rejected(result: Result, why: str) -> Result:
    details = dict(result.details, scored={"reward": result.reward, "status": result.status.value})
    return Result(
        result.id, 0.0, False, Status.INVALID_INPUT, why, {**details, "field": "group"}, result.timings
    )


def _length(sample: Sample) -> tuple[int, str]:
    if sample.response_tokens is not None:
        return sample.response_tokens, "tokens"
    return len(sample.response), "characters"


def _correctness(sample: Sample, result: Result, mode: str) -> float:
    if mode == "scorer" or sample.kind is Kind.MODEL:
        return result.reward
    if mode == "fraction" and "passed" in result.details and result.details.get("total"):
        return result.details["passed"] / result.details["total"]
    return float(result.correct)


def _composed(
    sample: Sample, result: Result, spec: RewardSpec, kimi: float, length_on: bool, length_why: str
) -> Result:
    length, unit = _length(sample)
    components = {"correctness": _correctness(sample, result, spec.correctness), "length": kimi}
    weights = {"correctness": spec.correctness_weight, "length": spec.length_weight if length_on else 0.0}
    if spec.overlong_max_length is not None:
        components["overlong"] = overlong_penalty(length, spec.overlong_max_length, spec.overlong_buffer)
        weights["overlong"] = spec.overlong_weight
    if spec.format is not None:
        components["format"] = format_reward(sample.response, spec.format)
        weights["format"] = spec.format_weight
    final = sum(weights[k] * components[k] for k in components)
    if not math.isfinite(final):  # a checked spec cannot cause this; a huge scorer reward can
        message = f"the composed reward is not finite ({final}); components {components}"
        return Result.failure(result.id, Status.INTERNAL_ERROR, message)
    summary = {
        "components": components,
        "weights": weights,
        "final": final,
        "length": length,
        "length_unit": unit,
        "length_penalty": length_why,
    }
    return replace(result, reward=final, details={**result.details, "reward": summary})
