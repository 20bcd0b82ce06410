"""Judge one program against its tests inside one borrowed box.

Expected outputs never enter the sandbox: stdin/stdout tests send only the input and
compare the output here; function calls send only the arguments and compare the
decoded result here; assert tests run the dataset's ``check(candidate)`` here, with
``candidate`` a proxy that calls into the sandbox through the value codec. So nothing a
candidate does in its own process — ``sys.exit(0)``, ``atexit`` hooks, always-equal
objects, patched builtins, frame walking, fake result lines — can turn a failure into a
pass.

Everything a submission can cause is charged to it, never reported as verirl's fault: a
supervisor that dies, runs out of memory, faults or stops answering while the submission
runs gives that submission a ``runtime_error``/``memory_limit``/``timeout`` and marks the
box broken (the pool replaces it). Only a box that vanished from outside (removed, or
Docker unreachable) is a :class:`~sandbox.box.BoxError` for the caller to retry.
"""

from __future__ import annotations

import contextlib
import reprlib
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rewards.code.outputs import outputs_match, run_checker, values_match
from rewards.schema import JSON, CallTests, CodeReference, Status, StdioTests
from rewards.scoring import UNLIMITED, Budget
from sandbox.box import Abandoned, Box, BoxError, Fault, NoAnswer
from sandbox.guest import wire
from sandbox.languages import Language, source_files

_EXCERPT = 300
_MEMORY_MARKERS = (
    "MemoryError",
    "std::bad_alloc",
    "OutOfMemoryError",
    "heap out of memory",
    "Cannot allocate memory",
)
_RAISED = "the call raised an exception"
_CHANNEL_SLACK_S = 10  # how much longer than a job's own limit the host waits for a reply
R = TypeVar("R", bound=wire.Message)


@dataclass(frozen=True, slots=True)
class Limits:
    time_s: float = 5.0
    memory_mb: int = 512
    output_bytes: int = 8 << 20
    compile_time_s: float = 20.0
    compile_memory_mb: int = 1536
    value_bytes: int = wire.VALUE_BYTES  # one encoded function-call result


def text(value: str) -> str:
    """``value`` as text that any UTF-8 writer accepts: lone surrogates (which a
    submission's strings and exception messages can hold) become ``\\udXXX`` escapes."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")


_SHOW = reprlib.Repr()
_SHOW.maxlevel, _SHOW.maxstring, _SHOW.maxother, _SHOW.maxlong = 4, 120, 120, 120
_SHOW.maxlist = _SHOW.maxtuple = _SHOW.maxset = _SHOW.maxfrozenset = _SHOW.maxdict = 12


def show(value: Any) -> str:
    """A short repr of a submission's value, whatever it holds (huge ints included)."""
    try:
        return text(_SHOW.repr(value))[:_EXCERPT]
    except Exception:  # e.g. an int too long for decimal conversion
        return f"<{type(value).__name__}>"


def stdout_of(result: wire.RunResult) -> str:
    return result.stdout.decode("utf-8", "replace")


class SubmissionFault(Exception):
    """The box broke while running this submission; ``verdict`` charges it."""

    def __init__(self, verdict: TestVerdict) -> None:
        super().__init__(verdict.message)
        self.verdict = verdict


@dataclass(slots=True)
class TestVerdict:
    status: Status
    message: str = ""
    time_s: float = 0.0
    memory_kb: int = 0
    output: str = ""  # an excerpt, for a person

    def to_dict(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {
            "status": self.status.value,
            "time_s": self.time_s,
            "memory_kb": self.memory_kb,
        }
        if self.message:
            out["message"] = text(self.message)
        if self.output:
            out["output"] = text(self.output)
        return out


@dataclass(slots=True)
class Judgement:
    status: Status
    message: str
    tests: list[TestVerdict] = field(default_factory=list)
    compile_output: str = ""

    @property
    def passed(self) -> int:
        return sum(t.status is Status.OK for t in self.tests)


def _run_limits(
    lang: Language, limits: Limits, time_s: float | None = None, cpu_s: float | None = None
) -> wire.RunLimits:
    time_s = time_s or limits.time_s
    return wire.RunLimits(
        cpu_s=cpu_s or time_s,
        wall_s=time_s,
        memory_bytes=limits.memory_mb << 20 if lang.address_space_limit else None,
        output_bytes=limits.output_bytes,
        processes=lang.processes,
    )


def classify(reply: wire.RunResult | wire.CallReply, limits: Limits, memory_mb: int) -> TestVerdict | None:
    """The verdict for a run (or a call's crash) that did not finish normally; None when
    it exited 0."""
    verdict = TestVerdict(
        Status.OK,
        time_s=reply.wall_s,
        memory_kb=reply.max_rss_kb,
        output=reply.stderr[-_EXCERPT:],
    )
    sig = reply.signal
    if reply.output_exceeded:
        verdict.status, verdict.message = (
            Status.OUTPUT_LIMIT,
            f"output exceeded {limits.output_bytes} bytes",
        )
    elif (
        reply.timed_out
        or sig == signal.SIGXCPU
        or (sig == signal.SIGKILL and reply.cpu_s >= limits.time_s - 0.05)
    ):
        verdict.status, verdict.message = (
            Status.TIMEOUT,
            f"exceeded the {limits.time_s:g}s time limit",
        )
    elif (sig is not None or reply.exit_code) and (
        reply.max_rss_kb >= 0.9 * memory_mb * 1024
        or any(marker in reply.stderr for marker in _MEMORY_MARKERS)
    ):
        verdict.status, verdict.message = (
            Status.MEMORY_LIMIT,
            f"exceeded the {memory_mb} MB memory limit",
        )
    elif sig is not None:
        verdict.status, verdict.message = Status.RUNTIME_ERROR, f"killed by signal {sig}"
    elif reply.exit_code:
        verdict.status, verdict.message = (
            Status.RUNTIME_ERROR,
            f"exited with code {reply.exit_code}",
        )
    elif reply.spawn_error:
        verdict.status, verdict.message = Status.RUNTIME_ERROR, reply.spawn_error
    elif isinstance(reply, wire.CallReply) and reply.crashed:
        verdict.status = Status.RUNTIME_ERROR
        verdict.message = reply.error or "the program exited during a call"
    else:
        return None
    return verdict


class Judge:
    """Runs one submission in ``box``. ``stop_at_first_failure`` skips the remaining tests."""

    def __init__(
        self,
        box: Box,
        lang: Language,
        limits: Limits,
        stop_at_first_failure: bool = False,
        budget: Budget = UNLIMITED,
    ) -> None:
        self.box = box
        self.lang = lang
        self.limits = limits
        self.stop = stop_at_first_failure
        self.budget = budget  # the request's deadline and cancellation
        self.failed: TestVerdict | None = None  # a call failure that ends the program
        self.run_argv: list[str] = lang.run_argv(limits.memory_mb)

    def _ask(
        self, message: wire.Request[R], job_s: float, max_reply: int = 1 << 20, ran_code: bool = True
    ) -> R:
        """The supervisor's reply; SubmissionFault when the box broke under the submission
        (``ran_code`` false: only an out-of-memory box is charged, anything else retried)."""
        # A cancelled request abandons the box mid-test; the pool then replaces it, which
        # kills the test instead of letting it run to its limit.
        try:
            return self.box.request(
                message,
                timeout_s=job_s + _CHANNEL_SLACK_S,
                abandon=self._cancelled,
                max_reply=max_reply,
            )
        except Abandoned:
            raise
        except BoxError as error:
            self.box.broken = str(error)
            verdict = self._blame(error, ran_code)
            if verdict is None:
                raise
            raise SubmissionFault(verdict) from error

    def _blame(self, error: BoxError, ran_code: bool) -> TestVerdict | None:
        """The verdict for a box that broke while this submission ran, or None when the
        break is not the submission's doing (the container vanished from outside)."""
        if isinstance(error, NoAnswer):
            state = "running"
        elif isinstance(error, Fault):
            state = "fault"
        else:
            state = self.box.diagnose()
        if state == "oom":
            return TestVerdict(
                Status.MEMORY_LIMIT,
                f"the sandbox ran out of memory ({self.box.spec.memory_mb} MB for the whole box) "
                "and its supervisor was killed",
            )
        if state == "gone" or not ran_code:
            return None
        if state == "running" and isinstance(error, NoAnswer):
            return TestVerdict(Status.TIMEOUT, f"the sandbox stopped answering: {error}")
        return TestVerdict(Status.RUNTIME_ERROR, f"the sandbox broke while this program ran: {error}")

    def _cancelled(self) -> bool:
        return self.budget.cancelled

    def prepare(self, code: str) -> Judgement | None:
        """Write and compile; a Judgement only when compilation failed."""
        files, run_argv = source_files(self.lang, code)
        compile_argv = list(self.lang.compile) if self.lang.compile else None
        if run_argv is not None:  # Java: a public class not named Main
            self.run_argv = [part.format(memory_mb=self.limits.memory_mb) for part in run_argv]
            if compile_argv:
                compile_argv = [next(iter(files)) if part == "Main.java" else part for part in compile_argv]
        compile_limits = wire.RunLimits(
            cpu_s=self.limits.compile_time_s,
            wall_s=self.limits.compile_time_s,
            memory_bytes=self.limits.compile_memory_mb << 20 if self.lang.address_space_limit else None,
            output_bytes=1 << 20,
            processes=self.lang.processes,
        )
        try:
            reply = self._ask(
                wire.Prepare(files=files, compile=compile_argv, compile_limits=compile_limits),
                self.limits.compile_time_s,
                ran_code=compile_argv is not None,
            )
        except SubmissionFault as fault:
            return Judgement(fault.verdict.status, fault.verdict.message, [fault.verdict])
        if reply.ok:
            return None
        result = reply.compile
        if result is None:
            return Judgement(Status.INVALID_INPUT, reply.error or "could not write the program")
        output = (result.stderr or stdout_of(result))[-2000:]
        reason = (
            "compilation exceeded its limits" if result.timed_out or result.signal else "compilation failed"
        )
        return Judgement(Status.COMPILE_ERROR, f"{reason}: {output[-_EXCERPT:]}", compile_output=output)

    def stdio(self, tests: StdioTests, compare: str, checker: str | None) -> list[TestVerdict]:
        verdicts = []
        for test_input, expected in zip(tests.inputs, tests.outputs, strict=True):
            if self.budget.stopped:  # the request's deadline or cancellation ends the run
                verdicts.append(TestVerdict(Status.TIMEOUT, f"not run: {self.budget.why()}"))
                break
            time_s = min(self.limits.time_s, self.budget.remaining())  # a deadline caps each test
            limits = _run_limits(self.lang, self.limits, time_s)
            if self.lang.warm_python:
                run = wire.Run(limits=limits, stdin=test_input, python=self.lang.file)
            else:
                run = wire.Run(limits=limits, stdin=test_input, argv=self.run_argv)
            try:
                reply = self._ask(
                    run,
                    time_s,
                    max_reply=self.limits.output_bytes * 4 // 3 + (1 << 20),
                )
            except SubmissionFault as fault:
                verdicts.append(fault.verdict)
                break
            verdict = classify(reply, self.limits, self.limits.memory_mb)
            if verdict is None:
                actual = stdout_of(reply)
                if checker is not None:
                    ok, why = run_checker(checker, test_input, expected, actual)
                else:
                    ok, why = outputs_match(expected, actual, compare)
                verdict = TestVerdict(
                    Status.OK if ok else Status.WRONG,
                    why,
                    reply.wall_s,
                    reply.max_rss_kb,
                    "" if ok else actual[:_EXCERPT],
                )
            verdicts.append(verdict)
            if self.stop and verdict.status is not Status.OK:
                break
        return verdicts

    def _open(self, entry: str) -> TestVerdict | None:
        # cpu_s is cumulative over all calls; each call has its wall limit
        limits = _run_limits(self.lang, self.limits, cpu_s=self.limits.time_s * 20)
        try:
            reply = self._ask(
                wire.CallOpen(
                    source=self.lang.file, entry=entry, limits=limits, value_bytes=self.limits.value_bytes
                ),
                self.limits.time_s,
            )
        except SubmissionFault as fault:
            return fault.verdict
        if reply.loaded:
            return None
        return self._call_failure(reply) or TestVerdict(
            Status.RUNTIME_ERROR,
            f"could not load the program: {(reply.error or '')[-_EXCERPT:]}",
        )

    def _call_failure(self, reply: wire.CallReply) -> TestVerdict | None:
        if reply.timed_out:
            return TestVerdict(Status.TIMEOUT, f"a call exceeded the {self.limits.time_s:g}s time limit")
        if reply.output_exceeded:
            return TestVerdict(Status.OUTPUT_LIMIT, f"output exceeded {self.limits.output_bytes} bytes")
        if reply.too_large:
            return TestVerdict(Status.OUTPUT_LIMIT, f"the result is too large: {reply.too_large}")
        if reply.crashed:
            verdict = classify(reply, self.limits, self.limits.memory_mb)
            return verdict or TestVerdict(Status.RUNTIME_ERROR, "the program exited during a call")
        return None

    def call(self, args: list[Any]) -> tuple[Any, TestVerdict | None]:
        """Call the loaded entry point; (value, None) or (None, failure verdict)."""
        try:
            encoded = wire.encode(list(args))
        except TypeError as error:
            return None, TestVerdict(Status.INVALID_INPUT, f"test arguments cannot be sent: {error}")
        if self.failed is not None:  # the program is gone or stuck: no more calls
            return None, self.failed
        wall_s = min(self.limits.time_s, self.budget.remaining())  # a deadline caps each call
        try:
            reply = self._ask(
                wire.Call(args=encoded, wall_s=wall_s),
                wall_s,
                max_reply=self.limits.value_bytes * 4 // 3 + (1 << 20),
            )
        except SubmissionFault as fault:
            self.failed = fault.verdict
            return None, fault.verdict
        failure = self._call_failure(reply)
        if failure is not None:
            self.failed = failure
            return None, failure
        if reply.error is not None:
            return None, TestVerdict(Status.RUNTIME_ERROR, _RAISED, output=reply.error[-_EXCERPT:])
        try:
            if reply.value is None:
                raise wire.ProtocolError("the reply holds no value")
            return wire.loads(reply.value, self.limits.value_bytes), None
        except wire.TooLarge as error:
            verdict = TestVerdict(Status.OUTPUT_LIMIT, f"the result is too large: {error}")
        except (wire.ProtocolError, ValueError, TypeError, MemoryError, RecursionError) as error:
            verdict = TestVerdict(Status.RUNTIME_ERROR, f"the result could not be decoded: {error}")
        self.failed = verdict
        return None, verdict

    def _close(self) -> None:
        if not self.box.broken:
            with contextlib.suppress(SubmissionFault):
                self._ask(wire.CallClose(), 5)

    def calls(self, tests: CallTests) -> list[TestVerdict]:
        failure = self._open(tests.fn_name)
        if failure is not None:
            return [failure]
        verdicts = []
        for args, expected in zip(tests.inputs, tests.outputs, strict=True):
            if self.budget.stopped:
                verdicts.append(TestVerdict(Status.TIMEOUT, f"not run: {self.budget.why()}"))
                break
            value, failure = self.call(list(args))
            if failure is None:
                try:
                    ok = values_match(expected, value)
                except (RecursionError, MemoryError, ValueError, TypeError):
                    ok = False
                failure = TestVerdict(
                    Status.OK if ok else Status.WRONG,
                    "" if ok else f"returned {show(value)}",
                )
            verdicts.append(failure)
            if self.stop and failure.status is not Status.OK:
                break
            if failure.status not in (Status.OK, Status.WRONG) and failure.message != _RAISED:
                break  # the program is gone or stuck: the remaining tests count as not passed
        self._close()
        return verdicts

    def asserts(self, ref: CodeReference) -> list[TestVerdict]:
        assert ref.test is not None and ref.entry_point is not None
        failure = self._open(ref.entry_point)
        if failure is not None:
            return [failure]
        verdict = _run_check(ref, self.call)
        if self.failed is not None:  # a crash or timeout the tests may have caught and ignored
            verdict = self.failed
        self._close()
        return [verdict]


class _CandidateFailed(Exception):
    def __init__(self, verdict: TestVerdict) -> None:
        super().__init__(verdict.message)
        self.verdict = verdict


def _run_check(
    ref: CodeReference, call: Callable[[list[Any]], tuple[Any, TestVerdict | None]]
) -> TestVerdict:
    """The dataset's ``check(candidate)`` on the host; ``candidate`` crosses into the box."""

    def candidate(*args: Any) -> Any:
        value, failure = call(list(args))
        if failure is not None:
            raise _CandidateFailed(failure)
        return value

    namespace: dict[str, Any] = {"__name__": "verirl_check"}
    try:
        # Trusted: the prompt (helpers the tests use) and the tests come from the dataset.
        exec(compile(ref.prompt or "", "prompt.py", "exec"), namespace)
        namespace[ref.entry_point] = candidate
        exec(compile(ref.test or "", "test.py", "exec"), namespace)
        namespace["check"](candidate)
    except _CandidateFailed as failed:
        return failed.verdict
    except AssertionError as error:
        return TestVerdict(Status.WRONG, f"assertion failed {str(error)[:_EXCERPT]}".strip())
    except Exception as error:
        return TestVerdict(Status.WRONG, f"the tests raised {type(error).__name__}: {str(error)[:_EXCERPT]}")
    return TestVerdict(Status.OK)
