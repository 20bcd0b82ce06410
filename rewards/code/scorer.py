"""The ``code`` kind's scorer: extract the program, judge it in a sandbox box, reward it.

Reward: 1.0 when every test passes, else 0.0 (Kimi k1.5); ``partial_credit`` gives the
fraction passed. Every test runs unless ``stop_at_first_failure`` is set. A response
longer than ``Maxima.response_chars`` is not judged (``output_limit``), so host work per
sample stays bounded whatever the policy writes.

Example (needs a running Docker Engine):
    >>> from rewards.code import CodeScorer
    >>> from rewards.schema import decode_sample
    >>> sample = decode_sample({"id": "1", "kind": "code",
    ...     "response": "```python\\nprint(sum(map(int, input().split())))\\n```",
    ...     "reference": {"language": "python", "tests": {"inputs": ["1 2"], "outputs": ["3"]}}})
    >>> with CodeScorer(containers=1) as scorer:
    ...     scorer.score([sample])[0].status.value
    'ok'
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from rewards.code.extract import complete_with_prompt, extract_code
from rewards.code.judge import Judge, Judgement, Limits, text
from rewards.code.outputs import MODES
from rewards.schema import (
    CallTests,
    CodeReference,
    ContractError,
    Result,
    Sample,
    Status,
    StdioTests,
)
from rewards.scoring import UNLIMITED, Budget, Progress, ScorerStats
from sandbox.box import Abandoned, BoxError
from sandbox.languages import LANGUAGES, find_language
from sandbox.pool import SandboxPool, SandboxUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Maxima:
    """Server-wide caps on per-sample limits (a sample may ask for less, never more)."""

    time_s: float = 30.0
    memory_mb: int = 2048
    output_mb: int = 64
    response_chars: int = 1 << 20  # longer responses are not judged (output_limit)


def _limits(ref: CodeReference, maxima: Maxima) -> Limits:
    defaults = Limits()
    return Limits(
        time_s=min(ref.time_limit_s or defaults.time_s, maxima.time_s),
        memory_mb=min(ref.memory_limit_mb or defaults.memory_mb, maxima.memory_mb),
        output_bytes=min(defaults.output_bytes, maxima.output_mb << 20),
    )


def _validate(ref: CodeReference) -> ContractError | None:
    lang = find_language(ref.language)
    if lang is None:
        known = ", ".join(sorted(LANGUAGES))
        return ContractError("reference.language", f"unknown language {ref.language!r} (known: {known})")
    if ref.compare is not None and ref.compare not in MODES:
        return ContractError("reference.compare", f"unknown mode {ref.compare!r} (known: {', '.join(MODES)})")
    if lang.name != "python" and (isinstance(ref.tests, CallTests) or ref.test is not None):
        return ContractError("reference.tests", "function-call and assert tests need language 'python'")
    return None


class CodeScorer:
    """Scores ``code`` samples in a pool of ``containers`` sandbox containers, started on
    first use (a batch without code never touches Docker)."""

    def __init__(self, containers: int, maxima: Maxima | None = None) -> None:
        self.containers = containers
        self.maxima = maxima or Maxima()
        self._pool: SandboxPool | None = None
        self._lock = threading.Lock()
        self._threads = ThreadPoolExecutor(containers, thread_name_prefix="verirl-code")

    def ready(self) -> tuple[bool, str]:
        """Whether code can be scored right now, and why not."""
        pool = self._pool
        if pool is None:
            return True, ""  # starts on first use
        try:
            pool.client.ping()
        except Exception as error:  # any failure means Docker is not usable now
            return False, f"the Docker Engine is not reachable: {type(error).__name__}"
        if pool.live == 0:
            return False, f"no sandbox container is running: {pool.last_error}"
        return True, ""

    def stats(self) -> ScorerStats:
        pool = self._pool
        return ScorerStats() if pool is None else ScorerStats(workers=pool.live, replaced=pool.recycled)

    def pool(self) -> SandboxPool:
        with self._lock:
            if self._pool is None:
                self._pool = SandboxPool(self.containers)
            return self._pool

    def score(
        self, samples: Sequence[Sample], progress: Progress | None = None, budget: Budget = UNLIMITED
    ) -> list[Result]:
        def one(sample: Sample) -> Result:
            if budget.stopped:
                result = Result.failure(sample.id, Status.TIMEOUT, f"not run: {budget.why()}")
            else:
                try:
                    result = self.score_one(sample, budget)
                except Exception as error:  # a bug of ours stays in its own sample
                    log.exception("scoring code sample %s failed", sample.id)
                    why = text(f"verirl failed: {type(error).__name__}: {error}")
                    result = Result.failure(sample.id, Status.INTERNAL_ERROR, why)
            if progress:
                progress(1)
            return result

        return list(self._threads.map(one, samples))

    def score_one(self, sample: Sample, budget: Budget = UNLIMITED) -> Result:
        ref = sample.reference
        assert isinstance(ref, CodeReference)
        error = _validate(ref)
        if error is not None:
            return Result.invalid(sample.id, error)
        start = time.perf_counter()  # judge_s covers extraction too
        if len(sample.response) > self.maxima.response_chars:
            return _timed(
                Result.failure(
                    sample.id,
                    Status.OUTPUT_LIMIT,
                    f"the response has {len(sample.response)} characters; "
                    f"at most {self.maxima.response_chars} are judged",
                ),
                start,
            )
        code = extract_code(sample.response, ref.language, raw_allowed=ref.test is not None)
        if code is None:
            return _timed(
                Result.failure(sample.id, Status.NO_ANSWER, "no fenced code block in the response"), start
            )
        if ref.test is not None and ref.entry_point:
            code = complete_with_prompt(code, ref.prompt, ref.entry_point)
        for attempt in range(2):  # one retry on a fresh box if a container dies under us
            try:
                judgement = self._judge(ref, code, budget)
                break
            except SandboxUnavailable as error:
                return Result.failure(
                    sample.id, Status.INTERNAL_ERROR, f"the code sandbox is unavailable: {error}"
                )
            except Abandoned:
                return Result.failure(sample.id, Status.TIMEOUT, f"stopped: {budget.why()}")
            except BoxError as error:
                if attempt:
                    return Result.failure(
                        sample.id, Status.INTERNAL_ERROR, f"the sandbox failed twice: {error}"
                    )
                log.warning("retrying sample %s after a sandbox failure: %s", sample.id, error)
        return _result(sample, ref, judgement, time.perf_counter() - start)

    def _judge(self, ref: CodeReference, code: str, budget: Budget) -> Judgement:
        lang = find_language(ref.language)
        assert lang is not None
        with self.pool().box(timeout_s=min(600.0, max(budget.remaining(), 0.0))) as box:
            limits = _limits(ref, self.maxima)
            judge = Judge(box, lang, limits, bool(ref.stop_at_first_failure), budget)
            failed = judge.prepare(code)
            if failed is not None:
                return failed
            if isinstance(ref.tests, StdioTests):
                verdicts = judge.stdio(ref.tests, ref.compare or "default", ref.checker)
            elif isinstance(ref.tests, CallTests):
                verdicts = judge.calls(ref.tests)
            else:
                verdicts = judge.asserts(ref)
        first_failure = next((v for v in verdicts if v.status is not Status.OK), None)
        total = len(ref.tests.inputs) if ref.tests is not None else 1
        if first_failure is None and len(verdicts) == total:
            return Judgement(Status.OK, f"passed all {total} tests", verdicts)
        failed_at = verdicts.index(first_failure) + 1 if first_failure else len(verdicts) + 1
        message = f"test {failed_at} of {total}: {first_failure.message if first_failure else 'not run'}"
        return Judgement(first_failure.status if first_failure else Status.WRONG, message, verdicts)

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    def __enter__(self) -> CodeScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _timed(result: Result, start: float) -> Result:
    result.timings["judge_s"] = round(time.perf_counter() - start, 4)
    return result


def _result(sample: Sample, ref: CodeReference, judgement: Judgement, seconds: float) -> Result:
    total = len(ref.tests.inputs) if ref.tests is not None else 1
    passed = judgement.passed
    correct = judgement.status is Status.OK
    reward = passed / total if ref.partial_credit else float(correct)
    details = {
        "passed": passed,
        "total": total,
        "tests": [t.to_dict() for t in judgement.tests],
    }
    if judgement.compile_output:
        details["compile_output"] = text(judgement.compile_output)
    return Result(
        sample.id,
        reward,
        correct,
        judgement.status,
        text(judgement.message),
        details,
        {"judge_s": round(seconds, 4)},
    )
