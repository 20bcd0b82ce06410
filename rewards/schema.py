"""The data contract: samples in, results out (README, "The data contract"), defined once.

Every other part of verirl (the engine, the CLI, the server, the trainer) speaks in these
types. Decoding never raises on bad input: :func:`decode_sample` returns either a
:class:`Sample` or an ``invalid_input`` :class:`Result` whose message names the field.

Example:
    >>> from rewards.schema import decode_sample
    >>> s = decode_sample({"id": "a", "kind": "math", "response": "\\\\boxed{2}",
    ...                    "reference": {"answer": "2"}})
    >>> s.reference.answer
    '2'
    >>> bad = decode_sample({"id": "b", "kind": "poem", "response": "", "reference": {}})
    >>> bad.status.value, bad.details["field"]
    ('invalid_input', 'kind')
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO, Any


class Status(StrEnum):
    """The fixed set of result statuses. Nothing else ever appears in a result."""

    OK = "ok"  # the answer was checked and is correct
    WRONG = "wrong"  # the answer was checked and is not correct
    NO_ANSWER = "no_answer"  # no answer could be found in the response (no \boxed{}, no code block)
    TIMEOUT = "timeout"  # checking or running exceeded its time budget
    MEMORY_LIMIT = "memory_limit"  # the program exceeded its memory limit
    OUTPUT_LIMIT = "output_limit"  # the program wrote more than its output limit
    RUNTIME_ERROR = "runtime_error"  # the program crashed or exited non-zero
    COMPILE_ERROR = "compile_error"  # the program did not compile
    INVALID_INPUT = "invalid_input"  # the sample itself is malformed; the message names the field
    INTERNAL_ERROR = "internal_error"  # verirl failed; never the sample's fault


class Kind(StrEnum):
    MATH = "math"
    CODE = "code"
    MODEL = "model"


JSON = Any  # a value json.loads can return


class ContractError(ValueError):
    """A sample violates the contract at ``path`` (e.g. ``reference.tests.inputs``)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


# --------------------------------------------------------------------------- references


@dataclass(frozen=True, slots=True)
class MathReference:
    """The gold answer, raw LaTeX or plain text; ``$…$`` wrapping is optional."""

    answer: str


@dataclass(frozen=True, slots=True)
class StdioTests:
    """APPS/CodeContests style: feed ``inputs[i]`` on stdin, expect ``outputs[i]`` on stdout."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CallTests:
    """LeetCode style: call ``fn_name(*inputs[i])`` and expect ``outputs[i]`` (JSON values)."""

    fn_name: str
    inputs: tuple[tuple[JSON, ...], ...]
    outputs: tuple[JSON, ...]


@dataclass(frozen=True, slots=True)
class CodeReference:
    """How to judge a program: either ``tests`` or an assert-style ``test`` (HumanEval/MBPP)."""

    language: str
    tests: StdioTests | CallTests | None = None
    prompt: str | None = None
    test: str | None = None
    entry_point: str | None = None
    time_limit_s: float | None = None
    memory_limit_mb: int | None = None
    compare: str | None = None
    checker: str | None = None
    stop_at_first_failure: bool | None = None  # skip the remaining tests after a failure
    partial_credit: bool | None = None  # reward = fraction of tests passed (default: all or nothing)

    def check(self, path: str = "reference") -> None:
        """The cross-field rules, in one place for every way a reference is built (JSON
        decoding, gRPC messages); raises :class:`ContractError` naming the field."""
        tests = self.tests
        if tests is not None:
            if len(tests.inputs) != len(tests.outputs):
                raise ContractError(
                    f"{path}.tests.outputs",
                    f"has {len(tests.outputs)} items but inputs has {len(tests.inputs)}; they must pair up",
                )
            if not tests.inputs:
                raise ContractError(f"{path}.tests.inputs", "no tests given")
        if tests is None and self.test is None:
            raise ContractError(f"{path}.tests", "give either 'tests' or an assert-style 'test'")
        if tests is not None and self.test is not None:
            raise ContractError(f"{path}.test", "give 'tests' or 'test', not both")
        if self.test is not None and self.entry_point is None:
            raise ContractError(f"{path}.entry_point", "required with an assert-style 'test'")
        for name in ("time_limit_s", "memory_limit_mb"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ContractError(f"{path}.{name}", f"must be a positive number, got {value:g}")


@dataclass(frozen=True, slots=True)
class ModelReference:
    """Optional reference answer shown to the reward model."""

    reference: str | None = None


Reference = MathReference | CodeReference | ModelReference
_REFERENCE_OF = {Kind.MATH: MathReference, Kind.CODE: CodeReference, Kind.MODEL: ModelReference}


# --------------------------------------------------------------------------- sample, result


@dataclass(frozen=True, slots=True)
class Sample:
    id: str
    kind: Kind
    response: str
    reference: Reference
    prompt: str | None = None
    group: str | None = None
    metadata: dict[str, JSON] | None = None
    response_tokens: int | None = None  # the response's length in tokens, when the trainer knows it

    def check(self) -> None:
        """The cross-field rules (types are the decoder's job); raises :class:`ContractError`."""
        if not isinstance(self.reference, _REFERENCE_OF[self.kind]):
            raise ContractError("reference", f"a {self.kind} sample needs a {self.kind} reference")
        if self.response_tokens is not None and self.response_tokens < 0:
            raise ContractError("response_tokens", f"must be >= 0, got {self.response_tokens}")
        if isinstance(self.reference, CodeReference):
            self.reference.check()
        if self.metadata:
            _check_finite(self.metadata, "metadata")  # echoed in results, which must be JSON

    def to_dict(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {
            "id": self.id,
            "kind": self.kind.value,
            "response": self.response,
            "reference": _reference_to_dict(self.reference),
        }
        for name in ("prompt", "group", "metadata", "response_tokens"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


def _check_finite(value: JSON, path: str) -> None:
    """JSON has no NaN or infinity; a value holding one cannot be echoed or sent."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ContractError(path, f"{value} cannot be represented in JSON")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_finite(item, f"{path}[{i}]")


MAX_MESSAGE_CHARS = 2000  # a result's message is cut to this many characters
MAX_ECHO_CHARS = 1000  # ... and every string it echoes in details (golds, output) to this


@dataclass(slots=True)
class Result:
    id: str
    reward: float
    correct: bool
    status: Status
    message: str = ""
    details: dict[str, JSON] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, JSON]:
        return {
            "id": self.id,
            "reward": self.reward,
            "correct": self.correct,
            "status": self.status.value,
            "message": self.message,
            "details": self.details,
            "timings": self.timings,
        }

    @classmethod
    def from_dict(cls, obj: dict[str, JSON]) -> Result:
        return cls(
            id=obj["id"],
            reward=float(obj["reward"]),
            correct=bool(obj["correct"]),
            status=Status(obj["status"]),
            message=obj.get("message", ""),
            details=dict(obj.get("details") or {}),
            timings=dict(obj.get("timings") or {}),
        )

    @classmethod
    def failure(cls, sample_id: str, status: Status, message: str, **details: JSON) -> Result:
        """A zero-reward result; the usual way to report anything but a checked answer."""
        return cls(sample_id, 0.0, False, status, message, dict(details))

    @classmethod
    def invalid(cls, sample_id: str, error: ContractError) -> Result:
        return cls.failure(sample_id, Status.INVALID_INPUT, str(error), field=error.path)


# --------------------------------------------------------------------------- decoding

_NUMBER = (int, float)


class _Fields:
    """Reads typed fields out of one JSON object, then rejects whatever was not read."""

    def __init__(self, obj: JSON, path: str) -> None:
        if not isinstance(obj, dict):
            raise ContractError(path or "sample", f"expected an object, got {_type_name(obj)}")
        self.obj = obj
        self.path = path
        self.seen: set[str] = set()

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, types: type | tuple[type, ...], *, required: bool = False) -> Any:
        self.seen.add(key)
        value = self.obj.get(key)
        if value is None:
            if required:
                raise ContractError(self._name(key), "missing required field")
            return None
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in _tuple(types)):
            raise ContractError(self._name(key), f"expected {_type_names(types)}, got {_type_name(value)}")
        return value

    def sub(self, key: str) -> _Fields | None:
        self.seen.add(key)
        value = self.obj.get(key)
        return None if value is None else _Fields(value, self._name(key))

    def done(self) -> None:
        unknown = sorted(set(self.obj) - self.seen)
        if unknown:
            raise ContractError(self._name(unknown[0]), "unknown field")


def _tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _type_name(value: JSON) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number" if isinstance(value, _NUMBER) else type(value).__name__)


def _type_names(types: type | tuple[type, ...]) -> str:
    if types == _NUMBER:
        return "number"
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer"}
    return " or ".join(names.get(t, "number") for t in _tuple(types))


def _string_list(fields: _Fields, key: str) -> tuple[str, ...]:
    items = fields.get(key, list, required=True)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise ContractError(f"{fields._name(key)}[{i}]", f"expected string, got {_type_name(item)}")
    return tuple(items)


def _decode_tests(fields: _Fields) -> StdioTests | CallTests:
    fn_name = fields.get("fn_name", str)
    if fn_name is None:
        tests: StdioTests | CallTests = StdioTests(
            _string_list(fields, "inputs"), _string_list(fields, "outputs")
        )
    else:
        args = fields.get("inputs", list, required=True)
        for i, item in enumerate(args):
            if not isinstance(item, list):
                raise ContractError(
                    f"{fields._name('inputs')}[{i}]",
                    f"expected an array of arguments, got {_type_name(item)}",
                )
        outputs = fields.get("outputs", list, required=True)
        tests = CallTests(fn_name, tuple(tuple(a) for a in args), tuple(outputs))
    fields.done()
    return tests


def _decode_code(fields: _Fields) -> CodeReference:
    tests_fields = fields.sub("tests")
    ref = CodeReference(
        language=fields.get("language", str, required=True),
        tests=_decode_tests(tests_fields) if tests_fields else None,
        prompt=fields.get("prompt", str),
        test=fields.get("test", str),
        entry_point=fields.get("entry_point", str),
        time_limit_s=fields.get("time_limit_s", _NUMBER),
        memory_limit_mb=fields.get("memory_limit_mb", int),
        compare=fields.get("compare", str),
        checker=fields.get("checker", str),
        stop_at_first_failure=fields.get("stop_at_first_failure", bool),
        partial_credit=fields.get("partial_credit", bool),
    )
    fields.done()
    return ref  # the cross-field rules run in Sample.check()


def _decode_reference(kind: Kind, fields: _Fields | None) -> Reference:
    if kind is Kind.CODE:
        if fields is None:
            raise ContractError("reference", "missing required field")
        return _decode_code(fields)
    if kind is Kind.MATH:
        if fields is None:
            raise ContractError("reference", "missing required field")
        ref: Reference = MathReference(fields.get("answer", str, required=True))
    else:
        ref = ModelReference(fields.get("reference", str) if fields else None)
    if fields:
        fields.done()
    return ref


def _decode_kind(value: JSON) -> Kind:
    try:
        return Kind(value)
    except ValueError:
        known = ", ".join(sorted(k.value for k in Kind))
        raise ContractError("kind", f"unknown kind {value!r} (expected one of: {known})") from None


def decode_sample(obj: JSON, fallback_id: str = "") -> Sample | Result:
    """Validate one decoded JSON value; bad input becomes an ``invalid_input`` result.

    ``fallback_id`` names the result when the object carries no usable ``id``
    (the CLI passes the line number).
    """
    sample_id = obj.get("id") if isinstance(obj, dict) else None
    result_id = sample_id if isinstance(sample_id, str) else fallback_id
    try:
        fields = _Fields(obj, "")
        sample_id = fields.get("id", str, required=True)
        kind = _decode_kind(fields.get("kind", str, required=True))
        sample = Sample(
            id=sample_id,
            kind=kind,
            response=fields.get("response", str, required=True),
            reference=_decode_reference(kind, fields.sub("reference")),
            prompt=fields.get("prompt", str),
            group=fields.get("group", str),
            metadata=fields.get("metadata", dict),
            response_tokens=fields.get("response_tokens", int),
        )
        fields.done()
        sample.check()
        return sample
    except ContractError as error:
        return Result.invalid(result_id, error)


def _reference_to_dict(ref: Reference) -> dict[str, JSON]:
    if isinstance(ref, MathReference):
        return {"answer": ref.answer}
    if isinstance(ref, ModelReference):
        return {} if ref.reference is None else {"reference": ref.reference}
    out: dict[str, JSON] = {}
    for name in CodeReference.__slots__:
        value = getattr(ref, name)
        if value is None:
            continue
        if isinstance(value, StdioTests):
            value = {"inputs": list(value.inputs), "outputs": list(value.outputs)}
        elif isinstance(value, CallTests):
            value = {
                "fn_name": value.fn_name,
                "inputs": [list(a) for a in value.inputs],
                "outputs": list(value.outputs),
            }
        out[name] = value
    return out


# --------------------------------------------------------------------------- JSON Lines


def read_samples(lines: Iterable[str]) -> Iterator[Sample | Result]:
    """Decode JSON Lines; a line that is not JSON becomes an ``invalid_input`` result
    named by its 1-based line number. Blank lines are skipped."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as error:
            yield Result.invalid(str(number), ContractError("line", f"not valid JSON ({error})"))
            continue
        yield decode_sample(obj, fallback_id=str(number))


def write_results(results: Iterable[Result], stream: IO[str]) -> None:
    for result in results:
        line = json.dumps(result.to_dict(), ensure_ascii=False, allow_nan=False)
        # Text from a submission may hold lone surrogates, which UTF-8 cannot encode: a
        # lone surrogate only occurs inside a JSON string, where its \udXXX escape is
        # valid JSON that decodes back to the same character.
        stream.write(line.encode("utf-8", "backslashreplace").decode("utf-8") + "\n")
