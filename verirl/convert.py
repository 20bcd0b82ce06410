"""gRPC messages ↔ the data contract.

The server builds the contract's dataclasses straight from a request's messages
(:func:`sample_from_proto`) and runs the same cross-field rules as the CLI
(:meth:`rewards.schema.Sample.check`), so it validates exactly once and as the CLI does. A
sample that cannot be represented (a NaN or an infinity in a JSON value: JSON has neither)
becomes an ``invalid_input`` result for itself; the batch goes on. JSON-valued fields
of requests (metadata, call-test arguments) travel as ``google.protobuf.Struct``/``Value``,
which have one number type: integral numbers come back as Python ints, as ``json.loads``
would give them. A result's details travel as JSON text (``details_json``): every result
carries them, and a Struct cost more to build and walk than the rest of the result.

The client goes the other way without validating (:func:`dict_to_proto`): the server
checks, and a dictionary that cannot even be put in a message is decoded locally for its
``invalid_input`` result.

Example:
    >>> from rewards.schema import decode_sample
    >>> s = decode_sample({"id": "a", "kind": "math", "response": "2", "reference": {"answer": "2"}})
    >>> sample_from_proto(sample_to_proto(s)) == s
    True
"""

from __future__ import annotations

import json
import math
from typing import Any

from google.protobuf import json_format, struct_pb2

from rewards.compose import RewardSpec
from rewards.schema import (
    JSON,
    CallTests,
    CodeReference,
    ContractError,
    Kind,
    MathReference,
    ModelReference,
    Result,
    Sample,
    Status,
    StdioTests,
)
from verirl.v1 import reward_pb2 as pb

_CODE_OPTIONS = (
    "prompt",
    "test",
    "entry_point",
    "time_limit_s",
    "memory_limit_mb",
    "compare",
    "checker",
    "stop_at_first_failure",
    "partial_credit",
)


def _plain(value: Any) -> JSON:
    """Struct numbers are doubles; give integral ones back as ints."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- JSON values


class _NotFinite(Exception):
    pass


def _python(value: struct_pb2.Value) -> JSON:
    """A ``Value`` as plain Python, walking the message directly (``json_format`` is several
    times slower and fails the whole call on a non-finite number instead of naming it)."""
    which = value.WhichOneof("kind")
    if which == "string_value":
        return value.string_value
    if which == "number_value":
        number = value.number_value
        if number.is_integer():
            return int(number) if abs(number) < 2**53 else number
        if number != number or number in (math.inf, -math.inf):
            raise _NotFinite
        return number
    if which == "bool_value":
        return value.bool_value
    if which == "struct_value":
        return {key: _python(item) for key, item in value.struct_value.fields.items()}
    if which == "list_value":
        return [_python(item) for item in value.list_value.values]
    return None


def _find_non_finite(value: struct_pb2.Value, path: str) -> str:
    """Where the first NaN or infinity is (only walked once one was found)."""
    which = value.WhichOneof("kind")
    if which == "number_value" and not math.isfinite(value.number_value):
        return f"{path}: {value.number_value} cannot be represented in JSON"
    items: Any = ()
    if which == "struct_value":
        items = ((f"{path}.{k}", v) for k, v in value.struct_value.fields.items())
    elif which == "list_value":
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value.list_value.values))
    for where, item in items:
        found = _find_non_finite(item, where)
        if found:
            return found
    return ""


def _checked(convert: Any, message: Any, path: str, as_value: Any) -> Any:
    try:
        return convert(message)
    except _NotFinite:
        where, problem = _find_non_finite(as_value(message), path).split(": ", 1)
        raise ContractError(where, problem) from None


def _struct_value(message: struct_pb2.Struct) -> struct_pb2.Value:
    wrapper = struct_pb2.Value()
    wrapper.struct_value.CopyFrom(message)
    return wrapper


def _list_value(message: struct_pb2.ListValue) -> struct_pb2.Value:
    wrapper = struct_pb2.Value()
    wrapper.list_value.CopyFrom(message)
    return wrapper


def struct_from_proto(message: struct_pb2.Struct, path: str) -> dict[str, JSON]:
    """A ``Struct`` as a dict; a NaN or infinity raises :class:`ContractError` naming where."""
    return _checked(lambda m: {k: _python(v) for k, v in m.fields.items()}, message, path, _struct_value)


def list_from_proto(message: struct_pb2.ListValue, path: str) -> list[JSON]:
    return _checked(lambda m: [_python(v) for v in m.values], message, path, _list_value)


def value_from_proto(value: struct_pb2.Value, path: str) -> JSON:
    return _checked(_python, value, path, lambda v: v)


# --------------------------------------------------------------------------- samples


_KINDS = {kind.value: kind for kind in Kind}


def sample_from_proto(message: pb.Sample, fallback_id: str = "") -> Sample | Result:
    """A request sample as the contract's :class:`Sample`, checked once, or its
    ``invalid_input`` result. Never raises on what a client can send."""
    try:
        kind = _KINDS.get(message.kind)
        if kind is None:
            known = ", ".join(sorted(_KINDS))
            raise ContractError("kind", f"unknown kind {message.kind!r} (expected one of: {known})")
        which = message.WhichOneof("reference")
        reference: MathReference | CodeReference | ModelReference
        if which == "math":
            reference = MathReference(message.math.answer)
        elif which == "code":
            reference = _code_from_proto(message.code)
        elif which == "model":
            ref = message.model
            reference = ModelReference(ref.reference if ref.HasField("reference") else None)
        elif kind is Kind.MODEL:
            reference = ModelReference()
        else:
            raise ContractError("reference", "missing required field")
        sample = Sample(
            id=message.id,
            kind=kind,
            response=message.response,
            reference=reference,
            prompt=message.prompt if message.HasField("prompt") else None,
            group=message.group if message.HasField("group") else None,
            metadata=(
                struct_from_proto(message.metadata, "metadata") if message.HasField("metadata") else None
            ),
            response_tokens=message.response_tokens if message.HasField("response_tokens") else None,
        )
        sample.check()
        return sample
    except ContractError as error:
        return Result.invalid(message.id or fallback_id, error)


def _code_from_proto(ref: pb.CodeReference) -> CodeReference:
    which = ref.WhichOneof("tests")
    tests: StdioTests | CallTests | None = None
    if which == "stdio":
        tests = StdioTests(tuple(ref.stdio.inputs), tuple(ref.stdio.outputs))
    elif which == "call":
        path = "reference.tests"
        tests = CallTests(
            ref.call.fn_name,
            tuple(tuple(list_from_proto(a, f"{path}.inputs[{i}]")) for i, a in enumerate(ref.call.inputs)),
            tuple(value_from_proto(v, f"{path}.outputs[{i}]") for i, v in enumerate(ref.call.outputs)),
        )
    options = {name: getattr(ref, name) for name in _CODE_OPTIONS if ref.HasField(name)}
    return CodeReference(language=ref.language, tests=tests, **options)


def sample_to_dict(message: pb.Sample) -> dict[str, JSON]:
    """A request sample as a contract dictionary (for :func:`rewards.schema.decode_sample`)."""
    out: dict[str, JSON] = {"id": message.id, "kind": message.kind, "response": message.response}
    for name in ("prompt", "group", "response_tokens"):
        if message.HasField(name):
            out[name] = getattr(message, name)
    if message.HasField("metadata"):
        out["metadata"] = _plain(json_format.MessageToDict(message.metadata))
    which = message.WhichOneof("reference")
    if which == "math":
        out["reference"] = {"answer": message.math.answer}
    elif which == "model":
        ref = message.model
        out["reference"] = {"reference": ref.reference} if ref.HasField("reference") else {}
    elif which == "code":
        out["reference"] = _code_to_dict(message.code)
    return out


def _code_to_dict(ref: pb.CodeReference) -> dict[str, JSON]:
    out: dict[str, JSON] = {"language": ref.language}
    which = ref.WhichOneof("tests")
    if which == "stdio":
        out["tests"] = {"inputs": list(ref.stdio.inputs), "outputs": list(ref.stdio.outputs)}
    elif which == "call":
        out["tests"] = {
            "fn_name": ref.call.fn_name,
            "inputs": [_plain(json_format.MessageToDict(v)) for v in ref.call.inputs],
            "outputs": [_plain(json_format.MessageToDict(v)) for v in ref.call.outputs],
        }
    for name in _CODE_OPTIONS:
        if ref.HasField(name):
            out[name] = getattr(ref, name)
    return out


def sample_to_proto(sample: Sample) -> pb.Sample:
    message = pb.Sample(id=sample.id, kind=sample.kind.value, response=sample.response)
    if sample.prompt is not None:
        message.prompt = sample.prompt
    if sample.group is not None:
        message.group = sample.group
    if sample.response_tokens is not None:
        message.response_tokens = sample.response_tokens
    if sample.metadata is not None:
        message.metadata.update(sample.metadata)
    ref = sample.reference
    if isinstance(ref, MathReference):
        message.math.answer = ref.answer
    elif isinstance(ref, ModelReference):
        message.model.SetInParent()
        if ref.reference is not None:
            message.model.reference = ref.reference
    else:
        _code_into(message.code, ref)
    return message


def _code_into(message: pb.CodeReference, ref: CodeReference) -> None:
    message.language = ref.language
    if isinstance(ref.tests, StdioTests):
        message.stdio.inputs.extend(ref.tests.inputs)
        message.stdio.outputs.extend(ref.tests.outputs)
    elif isinstance(ref.tests, CallTests):
        _call_into(message.call, ref.tests.fn_name, ref.tests.inputs, ref.tests.outputs)
    for name in _CODE_OPTIONS:
        value = getattr(ref, name)
        if value is not None:
            setattr(message, name, value)


def _call_into(message: pb.CallTests, fn_name: str, inputs: Any, outputs: Any) -> None:
    message.fn_name = fn_name
    for args in inputs:
        message.inputs.add().extend(args)
    values = struct_pb2.ListValue()
    values.extend(list(outputs))
    message.outputs.extend(values.values)


_SAMPLE_KEYS = frozenset(
    ("id", "kind", "response", "reference", "prompt", "group", "metadata", "response_tokens")
)
_CODE_KEYS = frozenset(("language", "tests", *_CODE_OPTIONS))
_INT_FIELDS = frozenset(("response_tokens", "memory_limit_mb"))


def _no_bool(name: str, value: Any) -> Any:
    # protobuf takes True for a number; the contract does not
    if isinstance(value, bool) and name not in ("stop_at_first_failure", "partial_credit"):
        raise TypeError(f"{name}: a boolean is not a number")
    if name in _INT_FIELDS and not isinstance(value, int):
        raise TypeError(f"{name}: expected an integer")
    return value


def dict_to_proto(obj: dict[str, JSON]) -> pb.Sample:
    """A contract dictionary straight into a message, without validating it (the server
    does). Raises (``TypeError``, ``ValueError``, ``KeyError``…) for anything a message
    cannot carry as the contract means it: unknown fields, wrong types, text that is not
    UTF-8 (upb refuses it on assignment); the caller then decodes the dictionary for its
    error."""
    if not _SAMPLE_KEYS.issuperset(obj):
        raise KeyError("unknown field")
    sample_id, kind, response = obj["id"], obj["kind"], obj["response"]
    if type(sample_id) is not str or type(kind) is not str or type(response) is not str:
        raise TypeError("id, kind and response must be strings")
    message = pb.Sample(id=sample_id, kind=kind, response=response)
    for name in ("prompt", "group", "response_tokens"):
        value = obj.get(name)
        if value is not None:
            setattr(message, name, _no_bool(name, value))
    metadata = obj.get("metadata")
    if metadata is not None:
        message.metadata.update(metadata)
    reference = obj.get("reference")
    if reference is None:
        pass  # the server names it missing, where the kind needs one
    elif type(reference) is not dict:
        raise TypeError("reference: expected an object")
    elif kind == "math":
        if len(reference) != 1:
            raise KeyError("reference")
        message.math.answer = reference["answer"]
    elif kind == "model":
        if not {"reference"}.issuperset(reference):
            raise KeyError("reference")
        message.model.SetInParent()
        if reference.get("reference") is not None:
            message.model.reference = reference["reference"]
    elif kind == "code":
        _code_dict_into(message.code, reference)
    # another kind goes without its reference: the server names the kind as the problem
    return message


def _code_dict_into(message: pb.CodeReference, ref: dict[str, JSON]) -> None:
    if not _CODE_KEYS.issuperset(ref):
        raise KeyError("unknown field")
    message.language = ref["language"]
    tests = ref.get("tests")
    if tests is not None:
        if not isinstance(tests, dict):
            raise TypeError("tests: expected an object")
        if tests.get("fn_name") is None:
            if set(tests) - {"inputs", "outputs", "fn_name"}:
                raise KeyError("tests")
            message.stdio.inputs.extend(tests["inputs"])
            message.stdio.outputs.extend(tests["outputs"])
        else:
            if set(tests) != {"fn_name", "inputs", "outputs"}:
                raise KeyError("tests")
            if not all(isinstance(a, list) for a in tests["inputs"]):
                raise TypeError("tests.inputs: expected arrays of arguments")
            _call_into(message.call, tests["fn_name"], tests["inputs"], tests["outputs"])
    for name in _CODE_OPTIONS:
        value = ref.get(name)
        if value is not None:
            setattr(message, name, _no_bool(name, value))


# --------------------------------------------------------------------------- reward specs

_SPEC_FIELDS = tuple(f.name for f in pb.RewardSpec.DESCRIPTOR.fields)


def spec_to_dict(message: pb.RewardSpec) -> dict[str, JSON]:
    """The fields set in a request's spec (validated later by RewardSpec.from_dict)."""
    return {name: getattr(message, name) for name in _SPEC_FIELDS if message.HasField(name)}


def spec_to_proto(spec: RewardSpec | dict[str, JSON]) -> pb.RewardSpec:
    values = spec.to_dict() if isinstance(spec, RewardSpec) else spec
    return pb.RewardSpec(**{k: v for k, v in values.items() if v is not None})


# --------------------------------------------------------------------------- results

_STATUS_TO_PROTO = {status: pb.Status.Value(status.name) for status in Status}
_STATUS_FROM_PROTO = {v: k for k, v in _STATUS_TO_PROTO.items()}


def result_to_proto(result: Result) -> pb.Result:
    message = pb.Result()
    result_into(message, result)
    return message


def result_into(message: pb.Result, result: Result) -> None:
    """Fill ``message`` (e.g. ``response.results.add()``) from ``result``. Never raises: text
    that is not UTF-8 (lone surrogates) is escaped and values JSON cannot hold (NaN,
    infinity, other types) are written as text, so one odd result never loses its batch."""
    try:
        _fill(message, result.id, result.message, result.details, result)
    except (ValueError, TypeError, AttributeError):  # upb checks text as it is assigned
        message.Clear()
        _fill(message, _text(result.id), _text(result.message), _json_safe(result.details), result)


def _fill(message: pb.Result, id_: str, text: str, details: dict[str, JSON], result: Result) -> None:
    message.id = id_
    message.reward = result.reward
    message.correct = result.correct
    message.status = _STATUS_TO_PROTO[result.status]
    message.message = text
    message.timings.update(result.timings)
    if details:
        message.details_json = details_text(details)


def details_text(details: dict[str, JSON]) -> str:
    """``details`` as the compact JSON text of ``Result.details_json``. Raises
    ``ValueError``/``TypeError`` for what JSON cannot hold (NaN, other types)."""
    return _DETAILS_ENCODER.encode(details)


# one encoder: json.dumps with any non-default argument builds a new one per call
_DETAILS_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _text(value: str) -> str:
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _json_safe(value: Any) -> Any:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {_text(str(k)): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return _text(repr(value))


def result_from_proto(message: pb.Result) -> Result:
    return Result(
        id=message.id,
        reward=message.reward,
        correct=message.correct,
        status=_STATUS_FROM_PROTO.get(message.status, Status.INTERNAL_ERROR),
        message=message.message,
        details=_details_from_text(message.details_json),
        timings=dict(message.timings),
    )


def _details_from_text(text: str) -> dict[str, JSON]:
    if not text:
        return {}
    try:
        details = json.loads(text)  # takes NaN and Infinity: verirl never sends them, another server might
    except ValueError as error:
        return {"details_unreadable": f"{error}: {text[:200]}"}
    return details if isinstance(details, dict) else {"details": details}
