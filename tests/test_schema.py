"""The data contract: every field round-trips, every validation error names its field."""

import io
import json

import pytest

from rewards.schema import (
    CallTests,
    CodeReference,
    Kind,
    MathReference,
    ModelReference,
    Result,
    Sample,
    Status,
    StdioTests,
    decode_sample,
    read_samples,
    write_results,
)

FULL_SAMPLES = [
    {
        "id": "m",
        "kind": "math",
        "prompt": "1+1?",
        "response": "\\boxed{2}",
        "reference": {"answer": "2"},
        "group": "g1",
        "metadata": {"source": "gsm8k", "n": [1, 2]},
        "response_tokens": 7,
    },
    {
        "id": "stdio",
        "kind": "code",
        "response": "print(3)",
        "reference": {
            "language": "python",
            "tests": {"inputs": ["1 2\n"], "outputs": ["3\n"]},
            "time_limit_s": 2.5,
            "memory_limit_mb": 256,
            "compare": "exact",
            "checker": "def check(i, e, a): return True",
        },
    },
    {
        "id": "call",
        "kind": "code",
        "response": "def add(a, b): return a + b",
        "reference": {
            "language": "python",
            "tests": {
                "fn_name": "add",
                "inputs": [[1, 2], [[1], {"a": None}]],
                "outputs": [3, None],
            },
        },
    },
    {
        "id": "assert",
        "kind": "code",
        "response": "    return a + b",
        "reference": {
            "language": "python",
            "prompt": "def add(a, b):\n",
            "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n",
            "entry_point": "add",
        },
    },
    {"id": "rm", "kind": "model", "response": "hi", "reference": {"reference": "hello"}},
    {"id": "rm2", "kind": "model", "response": "hi", "reference": {}},
]


@pytest.mark.parametrize("obj", FULL_SAMPLES, ids=lambda o: o["id"])
def test_every_field_round_trips(obj):
    sample = decode_sample(obj)
    assert isinstance(sample, Sample), sample
    assert sample.to_dict() == obj
    assert decode_sample(json.loads(json.dumps(sample.to_dict()))) == sample


def test_decoded_types():
    math_s, stdio, call, asserts, rm, rm2 = (decode_sample(o) for o in FULL_SAMPLES)
    assert math_s.kind is Kind.MATH and math_s.reference == MathReference("2")
    assert isinstance(stdio.reference, CodeReference)
    assert stdio.reference.tests == StdioTests(("1 2\n",), ("3\n",))
    assert call.reference.tests == CallTests("add", ((1, 2), ([1], {"a": None})), (3, None))
    assert asserts.reference.entry_point == "add" and asserts.reference.tests is None
    assert rm.reference == ModelReference("hello") and rm2.reference == ModelReference(None)


def test_result_round_trips():
    result = Result("x", 0.5, True, Status.OK, "fine", {"extracted": "2"}, {"score_s": 0.01})
    stream = io.StringIO()
    write_results([result], stream)
    assert Result.from_dict(json.loads(stream.getvalue())) == result


def test_status_set_is_fixed():
    assert {s.value for s in Status} == {
        "ok", "wrong", "no_answer", "timeout", "memory_limit", "output_limit",
        "runtime_error", "compile_error", "invalid_input", "internal_error",
    }  # fmt: skip


def _base(**changes):
    obj = {"id": "s", "kind": "math", "response": "r", "reference": {"answer": "1"}}
    obj.update(changes)
    return {k: v for k, v in obj.items() if v is not ...}


CODE_REF = {"language": "python", "tests": {"inputs": ["1"], "outputs": ["1"]}}
INVALID = [
    (_base(id=...), "id", "missing required field"),
    (_base(id=7), "id", "expected string, got number"),
    (_base(kind=...), "kind", "missing required field"),
    (_base(kind="poem"), "kind", "unknown kind 'poem'"),
    (_base(kind=3), "kind", "expected string"),
    (_base(response=...), "response", "missing required field"),
    (_base(response=["a"]), "response", "expected string, got array"),
    (_base(response=True), "response", "expected string, got boolean"),
    (_base(reference=...), "reference", "missing required field"),
    (_base(reference="2"), "reference", "expected an object, got string"),
    (_base(reference={}), "reference.answer", "missing required field"),
    (_base(reference={"answer": 2}), "reference.answer", "expected string, got number"),
    (_base(reference={"answer": "2", "tol": 1}), "reference.tol", "unknown field"),
    (_base(prompt=1), "prompt", "expected string"),
    (_base(group=1), "group", "expected string"),
    (_base(response_tokens="7"), "response_tokens", "expected integer"),
    (_base(response_tokens=1.5), "response_tokens", "expected integer"),
    (_base(response_tokens=-1), "response_tokens", "must be >= 0"),
    (_base(metadata=[1]), "metadata", "expected object, got array"),
    (_base(extra=1), "extra", "unknown field"),
    (_base(kind="model", reference={"reference": 1}), "reference.reference", "expected string"),
    (_base(kind="code", reference={"tests": CODE_REF["tests"]}), "reference.language", "missing"),
    (_base(kind="code", reference={"language": "python"}), "reference.tests", "either 'tests'"),
    (
        _base(kind="code", reference={**CODE_REF, "test": "x", "entry_point": "f"}),
        "reference.test",
        "not both",
    ),
    (
        _base(kind="code", reference={"language": "python", "test": "x"}),
        "reference.entry_point",
        "required",
    ),
    (
        _base(kind="code", reference={**CODE_REF, "tests": {"inputs": ["1", "2"], "outputs": ["1"]}}),
        "reference.tests.outputs",
        "pair up",
    ),
    (
        _base(kind="code", reference={**CODE_REF, "tests": {"inputs": [], "outputs": []}}),
        "reference.tests.inputs",
        "no tests",
    ),
    (
        _base(kind="code", reference={**CODE_REF, "tests": {"inputs": [1], "outputs": ["1"]}}),
        "reference.tests.inputs[0]",
        "expected string",
    ),
    (
        _base(kind="code", reference={**CODE_REF, "tests": {"fn_name": "f", "inputs": [1], "outputs": [1]}}),
        "reference.tests.inputs[0]",
        "array of arguments",
    ),
    (
        _base(kind="code", reference={**CODE_REF, "tests": {"inputs": ["1"], "outputs": ["1"], "x": 1}}),
        "reference.tests.x",
        "unknown field",
    ),
    (_base(kind="code", reference={**CODE_REF, "time_limit_s": -1}), "reference.time_limit_s", "positive"),
    (_base(kind="code", reference={**CODE_REF, "time_limit_s": "1"}), "reference.time_limit_s", "number"),
    (_base(kind="code", reference={**CODE_REF, "memory_limit_mb": 1.5}), "reference.memory_limit_mb", "integer"),
    (_base(kind="code", reference={**CODE_REF, "compare": 1}), "reference.compare", "string"),
    ([1, 2], "sample", "expected an object, got array"),
]  # fmt: skip


@pytest.mark.parametrize(("obj", "path", "problem"), INVALID)
def test_every_validation_error_names_its_field(obj, path, problem):
    result = decode_sample(obj, fallback_id="line-1")
    assert isinstance(result, Result)
    assert result.status is Status.INVALID_INPUT
    assert result.details["field"] == path
    assert result.message.startswith(f"{path}: ")
    assert problem in result.message
    expected_id = obj["id"] if isinstance(obj, dict) and isinstance(obj.get("id"), str) else "line-1"
    assert result.id == expected_id
    assert result.reward == 0.0 and result.correct is False


def test_bad_lines_never_abort_the_file():
    lines = [
        json.dumps(FULL_SAMPLES[0]),
        "{not json",
        "",
        json.dumps({"id": "z", "kind": "nope", "response": "", "reference": {}}),
        json.dumps(FULL_SAMPLES[4]),
    ]
    items = list(read_samples(lines))
    assert [type(i).__name__ for i in items] == ["Sample", "Result", "Result", "Sample"]
    assert items[1].id == "2" and items[1].details["field"] == "line"
    assert items[2].id == "z" and items[2].details["field"] == "kind"
