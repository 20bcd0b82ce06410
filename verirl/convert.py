"""gRPC messages ↔ the data contract.

A request's samples are turned into contract dictionaries and validated by
:func:`rewards.schema.decode_sample`, so the server validates exactly as the CLI does.
JSON-valued fields (metadata, details, call-test arguments) travel as
``google.protobuf.Struct``/``Value``, which have one number type: integral numbers come
back as Python ints, as ``json.loads`` would give them.

Example:
    >>> from rewards.schema import decode_sample
    >>> s = decode_sample({"id": "a", "kind": "math", "response": "2", "reference": {"answer": "2"}})
    >>> decode_sample(sample_to_dict(sample_to_proto(s))) == s
    True
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2

from rewards.compose import RewardSpec
from rewards.schema import (
    JSON,
    CallTests,
    CodeReference,
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


def _struct(value: dict[str, JSON]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def _value(value: JSON) -> struct_pb2.Value:
    message = struct_pb2.Value()
    json_format.ParseDict(value, message)
    return message


# --------------------------------------------------------------------------- samples


def sample_to_dict(message: pb.Sample) -> dict[str, JSON]:
    """A request sample as a contract dictionary (validated later by decode_sample)."""
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
        message.metadata.CopyFrom(_struct(sample.metadata))
    ref = sample.reference
    if isinstance(ref, MathReference):
        message.math.answer = ref.answer
    elif isinstance(ref, ModelReference):
        message.model.SetInParent()
        if ref.reference is not None:
            message.model.reference = ref.reference
    else:
        message.code.CopyFrom(_code_to_proto(ref))
    return message


def _code_to_proto(ref: CodeReference) -> pb.CodeReference:
    message = pb.CodeReference(language=ref.language)
    if isinstance(ref.tests, StdioTests):
        message.stdio.inputs.extend(ref.tests.inputs)
        message.stdio.outputs.extend(ref.tests.outputs)
    elif isinstance(ref.tests, CallTests):
        message.call.fn_name = ref.tests.fn_name
        for args in ref.tests.inputs:
            message.call.inputs.append(_value(list(args)).list_value)
        message.call.outputs.extend(_value(v) for v in ref.tests.outputs)
    for name in _CODE_OPTIONS:
        value = getattr(ref, name)
        if value is not None:
            setattr(message, name, value)
    return message


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
    message = pb.Result(
        id=result.id,
        reward=result.reward,
        correct=result.correct,
        status=_STATUS_TO_PROTO[result.status],
        message=result.message,
        timings=result.timings,
    )
    message.details.CopyFrom(_struct(result.details))
    return message


def result_from_proto(message: pb.Result) -> Result:
    return Result(
        id=message.id,
        reward=message.reward,
        correct=message.correct,
        status=_STATUS_FROM_PROTO.get(message.status, Status.INTERNAL_ERROR),
        message=message.message,
        details=_plain(json_format.MessageToDict(message.details)),
        timings=dict(message.timings),
    )
