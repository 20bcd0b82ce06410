"""The checked-in gRPC code is what protoc makes of proto/, and conversion is lossless."""

import json
import math
import subprocess
from pathlib import Path

import pytest

from rewards.schema import Result, Status, decode_sample
from verirl.convert import result_from_proto, result_to_proto, sample_to_dict, sample_to_proto
from verirl.v1 import reward_pb2 as pb

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ("reward_pb2.py", "reward_pb2.pyi", "reward_pb2_grpc.py")


def test_generated_code_is_current(tmp_path):
    subprocess.run(["bash", str(ROOT / "scripts/gen_proto.sh"), str(tmp_path)], check=True, cwd=ROOT)
    for name in GENERATED:
        fresh = (tmp_path / "verirl/v1" / name).read_text()
        assert fresh == (ROOT / "verirl/v1" / name).read_text(), f"{name} is stale: run scripts/gen_proto.sh"


SAMPLES = [
    {"id": "m", "kind": "math", "prompt": "p", "group": "g", "response": "r", "reference": {"answer": "1"},
     "response_tokens": 12,
     "metadata": {"n": 3, "x": 0.5, "s": "t", "l": [1, None, True], "d": {"k": -2}}},
    {"id": "c", "kind": "code", "response": "x", "reference": {
        "language": "python", "tests": {"fn_name": "f", "inputs": [[1, [2, 3], {"a": "b"}], [None]], "outputs": [1.5, [1]]},
        "time_limit_s": 2.0, "memory_limit_mb": 128, "compare": "exact", "stop_at_first_failure": True,
        "partial_credit": False}},
    {"id": "s", "kind": "code", "response": "x", "reference": {
        "language": "cpp", "tests": {"inputs": ["1\n"], "outputs": ["2\n"]}, "checker": "def check(i, e, a): ..."}},
    {"id": "a", "kind": "code", "response": "x", "reference": {
        "language": "python", "prompt": "def f():\n", "test": "def check(c): pass", "entry_point": "f"}},
    {"id": "rm", "kind": "model", "response": "x", "reference": {"reference": "y"}},
    {"id": "rm0", "kind": "model", "response": "x", "reference": {}},
]  # fmt: skip


def test_samples_round_trip_through_proto_bytes():
    for obj in SAMPLES:
        sample = decode_sample(obj)
        wire = pb.Sample.FromString(sample_to_proto(sample).SerializeToString())
        assert decode_sample(sample_to_dict(wire)) == sample, obj["id"]
        assert sample_to_dict(wire) == obj


def test_results_round_trip():
    from rewards.schema import Result, Status

    for status in Status:
        result = Result(
            "x", 0.25, status is Status.OK, status, "m", {"a": [1, {"b": None}], "f": 0.5}, {"t": 0.1}
        )
        wire = pb.Result.FromString(result_to_proto(result).SerializeToString())
        assert result_from_proto(wire) == result


def test_server_builds_the_same_samples_from_messages_as_the_cli_from_json():
    from verirl.convert import dict_to_proto, sample_from_proto

    for obj in SAMPLES:
        wire = pb.Sample.FromString(dict_to_proto(obj).SerializeToString())
        assert sample_from_proto(wire) == decode_sample(obj), obj["id"]


@pytest.mark.parametrize(
    "obj",
    [
        {"id": "a", "kind": "code", "response": "x", "reference": {"language": "python", "tests": {"inputs": ["1"], "outputs": []}}},
        {"id": "b", "kind": "code", "response": "x", "reference": {"language": "python", "test": "t"}},
        {"id": "c", "kind": "code", "response": "x", "reference": {"language": "python", "tests": {"inputs": ["1"], "outputs": ["1"]}, "time_limit_s": -1}},
        {"id": "d", "kind": "math", "response": "x", "reference": {"answer": "1"}, "response_tokens": -3},
        {"id": "e", "kind": "poem", "response": "x", "reference": {}},
        {"id": "f", "kind": "math", "response": "x"},
    ],
)  # fmt: skip
def test_cross_field_rules_are_the_same_on_both_paths(obj):
    from verirl.convert import dict_to_proto, sample_from_proto

    local = decode_sample(obj)
    remote = sample_from_proto(pb.Sample.FromString(dict_to_proto(obj).SerializeToString()))
    assert local.status.value == remote.status.value == "invalid_input"
    assert (local.message, local.details) == (remote.message, remote.details)


def test_a_message_with_a_mismatched_reference_is_invalid_not_an_error():
    from verirl.convert import sample_from_proto

    message = pb.Sample(id="x", kind="math", response="1")
    message.model.SetInParent()
    result = sample_from_proto(message)
    assert result.status.value == "invalid_input" and result.details["field"] == "reference"


@pytest.mark.parametrize(
    "obj",
    [
        {"id": "a", "kind": "math", "response": "x", "reference": {"answer": "1"}, "surplus": 1},
        {"id": 5, "kind": "math", "response": "x", "reference": {"answer": "1"}},
        {"id": "a", "kind": "math", "response": "x", "reference": {"answer": 1}},
        {"id": "a", "kind": "math", "response": "x", "reference": {"answer": "1"}, "response_tokens": True},
        {"id": "a", "kind": "math", "response": "x", "reference": {"answer": "1"}, "response_tokens": 2.0},
        {"id": "a", "kind": "code", "response": "x", "reference": {"language": "py", "tests": {"inputs": ["1"], "outputs": ["1"]}, "memory_limit_mb": 1.5}},
        {"id": "a", "kind": "math", "response": "\ud800", "reference": {"answer": "1"}},
    ],
)  # fmt: skip
def test_the_client_never_sends_what_the_contract_refuses(obj):
    from verirl.convert import dict_to_proto

    with pytest.raises((TypeError, ValueError, KeyError)):
        dict_to_proto(obj)


def test_odd_results_still_encode():
    result = Result(
        "\udc80id", 0.5, True, Status.OK, "bad \ud800 text", {"x": float("nan"), "t": (1, 2), 3: "k"}
    )
    wire = pb.Result.FromString(result_to_proto(result).SerializeToString())
    back = result_from_proto(wire)
    assert back.reward == 0.5 and back.status is Status.OK and "\\ud800" in back.message
    assert back.details == {"x": "nan", "t": [1, 2], "3": "k"}


def test_details_travel_as_json_text_and_odd_text_from_another_server_is_kept():
    result = Result("a", 1.0, True, Status.OK, "ok", {"n": 3, "x": 0.5, "l": [], "s": "é"})
    wire = result_to_proto(result)
    assert json.loads(wire.details_json) == {"n": 3, "x": 0.5, "l": [], "s": "é"}
    assert result_from_proto(wire).details == result.details  # 3 stays an int
    assert result_from_proto(pb.Result(id="b")).details == {}

    def details(text):
        return result_from_proto(pb.Result(id="c", details_json=text)).details

    assert details("[1]") == {"details": [1]}
    assert math.isnan(details('{"x": NaN}')["x"])  # verirl never sends NaN; another server may
    assert "details_unreadable" in details("not json")
