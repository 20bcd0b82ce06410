"""The checked-in gRPC code is what protoc makes of proto/, and conversion is lossless."""

import subprocess
from pathlib import Path

from rewards.schema import decode_sample
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
