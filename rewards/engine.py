"""The engine: one list of samples in, exactly one result per sample out, in order.

The CLI and the server both score through an :class:`Engine`, so both give identical
results. The engine dispatches each sample to the scorer registered for its kind, runs
the kinds of one batch concurrently, and guarantees the contract whatever a scorer does:
a scorer that raises, returns too few results or a non-finite reward turns into
``internal_error`` results for its samples, never a lost or failed batch.

Work stops when its call does: each kind's samples go to their scorer in chunks of
``CHUNK`` and the batch's :class:`Budget` is checked before every chunk, so an expired or
cancelled call leaves at most one chunk running (scorers also check it per sample).

What a result echoes is bounded: ``message`` is cut to ``MAX_MESSAGE_CHARS`` and every
string in ``details`` (golds, extracted answers, program output) to ``MAX_ECHO_CHARS``,
with a marker saying how much was cut, so a response stays near the size of its
request; a NaN or infinity in ``details`` is written as text (results are JSON). A
sample's ``metadata`` is echoed back in ``details["metadata"]``.

Example:
    >>> from rewards.engine import Engine
    >>> from rewards.schema import decode_sample
    >>> engine = Engine(scorers={}, unavailable={})
    >>> [r.status.value for r in engine.score([decode_sample({"id": "1", "kind": "code",
    ...     "response": "", "reference": {"language": "python", "test": "", "entry_point": "f"}})])]
    ['invalid_input']
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from rewards.code import CodeScorer
from rewards.compose import GroupLedger, Reservation, RewardSpec, compose
from rewards.math.scorer import MathScorer
from rewards.schema import MAX_ECHO_CHARS, MAX_MESSAGE_CHARS, ContractError, Kind, Result, Sample, Status
from rewards.scoring import UNLIMITED, Budget, Progress, Scorer, StartupError

log = logging.getLogger(__name__)

CHUNK = 256  # samples per scorer call: the granularity at which a stopped call stops


class Engine:
    """Dispatches samples by kind to registered scorers.

    ``unavailable`` maps a kind with no scorer to the reason, which its samples get
    as an ``invalid_input`` message (e.g. "no reward model configured").
    """

    def __init__(self, scorers: Mapping[Kind, Scorer], unavailable: Mapping[Kind, str]) -> None:
        self.scorers = dict(scorers)
        self.unavailable = dict(unavailable)
        self.ledger = GroupLedger()

    def score(
        self,
        items: Sequence[Sample | Result],
        progress: Progress | None = None,
        budget: Budget = UNLIMITED,
        spec: RewardSpec | None = None,
        step: int | None = None,
        holder: Reservation | None = None,
    ) -> list[Result]:
        """Score a batch. ``items`` may hold ready results (e.g. decoding errors); they are
        passed through in place so the output lines up with the input. With a ``spec``
        the rewards are composed last (length penalty over whole groups, overlong, format);
        ``step`` is the training step, which ends the length penalty's warm-up. With a
        ``holder`` the batch's groups are only reserved in the step ledger; the caller
        commits or aborts them once it knows whether the results were delivered."""
        results: list[Result | None] = [None] * len(items)
        by_kind: dict[Kind, list[int]] = {}
        seen_ids: set[str] = set()
        for i, item in enumerate(items):
            rejected = self._reject(item, seen_ids)
            if rejected is not None:
                results[i] = rejected
            else:
                assert isinstance(item, Sample)
                by_kind.setdefault(item.kind, []).append(i)
            if isinstance(item, Sample):
                seen_ids.add(item.id)
        if progress and len(items) - sum(map(len, by_kind.values())):
            progress(len(items) - sum(map(len, by_kind.values())))

        def run(kind: Kind) -> None:
            indices = by_kind[kind]
            batch = [items[i] for i in indices]
            scored = self._score_kind(kind, batch, progress, budget)
            for i, result in zip(indices, scored, strict=True):
                results[i] = result

        if len(by_kind) == 1:
            run(next(iter(by_kind)))
        elif by_kind:
            with ThreadPoolExecutor(len(by_kind), thread_name_prefix="verirl-kind") as pool:
                list(pool.map(run, by_kind))
        done = [r for r in results if r is not None]
        if spec is not None:
            # a stopped call's results are never delivered: it must not mark groups as scored
            ledger = None if budget.stopped else self.ledger
            done = compose(items, done, spec, step, ledger, holder)
        return [_bounded(item, result) for item, result in zip(items, done, strict=True)]

    def _reject(self, item: Sample | Result, seen_ids: set[str]) -> Result | None:
        if isinstance(item, Result):
            return item
        if item.id in seen_ids:
            error = ContractError("id", f"duplicate id {item.id!r} in this batch; ids must be unique")
            return Result.invalid(item.id, error)
        if item.kind not in self.scorers:
            reason = self.unavailable.get(item.kind, "no scorer registered")
            error = ContractError("kind", f"kind '{item.kind}' is not available: {reason}")
            return Result.invalid(item.id, error)
        return None

    def _score_kind(
        self, kind: Kind, batch: list[Sample], progress: Progress | None, budget: Budget
    ) -> list[Result]:
        out: list[Result] = []
        for first in range(0, len(batch), CHUNK):
            chunk = batch[first : first + CHUNK]
            if budget.stopped:
                why = f"not scored: {budget.why()}"
                out.extend(Result.failure(s.id, Status.TIMEOUT, why) for s in batch[first:])
                if progress:
                    progress(len(batch) - first)
                break
            out.extend(self._score_chunk(kind, chunk, progress, budget))
        return out

    def _score_chunk(
        self, kind: Kind, batch: list[Sample], progress: Progress | None, budget: Budget
    ) -> list[Result]:
        start = time.perf_counter()
        try:
            out = self.scorers[kind].score(batch, progress, budget)
        except Exception as error:  # a scorer bug must not lose the batch
            log.exception("the %s scorer failed on a batch of %d", kind, len(batch))
            message = f"{kind} scorer failed: {type(error).__name__}: {error}"
            out = [Result.failure(s.id, Status.INTERNAL_ERROR, message) for s in batch]
            if progress:
                progress(len(batch))
        if len(out) != len(batch):
            message = f"{kind} scorer returned {len(out)} results for {len(batch)} samples"
            out = [Result.failure(s.id, Status.INTERNAL_ERROR, message) for s in batch]
        elapsed = time.perf_counter() - start
        return [_checked(sample, result, elapsed) for sample, result in zip(batch, out, strict=True)]

    def readiness(self) -> dict[Kind, tuple[bool, bool, str]]:
        """Per kind: (available, ready now, reason when not)."""
        out = {}
        for kind in Kind:
            scorer = self.scorers.get(kind)
            if scorer is None:
                out[kind] = (False, False, self.unavailable.get(kind, "no scorer registered"))
            else:
                ready, reason = scorer.ready()
                out[kind] = (True, ready, reason)
        return out

    def close(self) -> None:
        for scorer in self.scorers.values():
            scorer.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _checked(sample: Sample, result: Result, batch_s: float) -> Result:
    """Enforce the result invariants a scorer could break."""
    if result.id != sample.id:
        message = f"scorer returned a result for id {result.id!r} in the place of {sample.id!r}"
        return Result.failure(sample.id, Status.INTERNAL_ERROR, message)
    if not math.isfinite(result.reward):
        message = f"scorer produced a non-finite reward ({result.reward})"
        return Result.failure(sample.id, Status.INTERNAL_ERROR, message)
    result.timings.setdefault("batch_s", round(batch_s, 6))
    return result


def _bounded(item: Sample | Result, result: Result) -> Result:
    """The last word on every result: a finite reward, echoes cut to size, metadata echoed."""
    if not math.isfinite(result.reward):  # composition guards this too; nothing non-finite leaves
        message = f"non-finite reward ({result.reward})"
        result = Result.failure(result.id, Status.INTERNAL_ERROR, message)
    if len(result.message) > MAX_MESSAGE_CHARS:
        result.message = _cut(result.message, MAX_MESSAGE_CHARS)
    if result.details and _needs_care(result.details):
        result.details = _cut_json(result.details)
    if isinstance(item, Sample) and item.metadata is not None:
        result.details["metadata"] = item.metadata
    return result


def _cut(text: str, limit: int) -> str:
    return f"{text[:limit]}…[{len(text) - limit} more characters cut]"


def _needs_care(value: object) -> bool:
    """Long text to cut, or a number JSON cannot hold (a program's NaN output echoed)."""
    if isinstance(value, str):
        return len(value) > MAX_ECHO_CHARS
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_needs_care(k) or _needs_care(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_needs_care(v) for v in value)
    return False


def _cut_json(value: object) -> object:
    if isinstance(value, str):
        return _cut(value, MAX_ECHO_CHARS) if len(value) > MAX_ECHO_CHARS else value
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {_cut_json(k): _cut_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cut_json(v) for v in value]
    return value


def build_engine(
    workers: int,
    *,
    math_processes: int | None = None,
    math_budget_s: float = 1.0,
    sandbox: bool = True,
    warm: bool = False,
    model: Mapping[str, object] | None = None,
) -> Engine:
    """The engine with every scorer this installation can run.

    ``workers`` sandbox containers and ``math_processes`` (default ``workers``) math
    processes. ``warm`` starts the containers now instead of on the first code sample
    (the server does, so health turns SERVING only when it can score code). ``model``
    holds :class:`rewards.model.ModelConfig` fields; only then is torch imported.
    Raises :class:`StartupError` when the configured reward model cannot be served.
    """
    scorers: dict[Kind, Scorer] = {}
    unavailable: dict[Kind, str] = {}
    if model is None:
        unavailable[Kind.MODEL] = "no reward model is configured (serve one with --model PATH)"
    else:
        scorers[Kind.MODEL] = _model_scorer(model)
    scorers[Kind.MATH] = MathScorer(processes=math_processes or workers, budget_s=math_budget_s)
    reason = _docker_problem() if sandbox else "the code sandbox is turned off in this server's config"
    if reason is None:
        code = CodeScorer(containers=workers)
        if warm:
            code.pool()
        scorers[Kind.CODE] = code
    else:
        unavailable[Kind.CODE] = reason
    return Engine(scorers, unavailable)


def _model_scorer(settings: Mapping[str, object]) -> Scorer:
    try:
        from rewards.model import ModelConfig, ModelScorer
    except ImportError as error:
        raise StartupError(
            f"a reward model needs the model extra (pip install 'verirl[model]'): {error}"
        ) from None
    try:
        return ModelScorer(ModelConfig.from_dict(dict(settings)))
    except (ValueError, TypeError) as error:
        raise StartupError(str(error)) from error


def _docker_problem() -> str | None:
    """Why the code sandbox cannot run here, or None when the Docker Engine answers."""
    try:
        import docker

        docker.from_env(timeout=5).ping()
    except Exception as error:  # any failure means the same thing to the user
        name = type(error).__name__
        return f"the Docker Engine is not reachable ({name}); start it with scripts/docker.sh"
    return None
