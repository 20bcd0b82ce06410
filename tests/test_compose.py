"""Reward composition: the Kimi length penalty on hand-computed groups, warm-up, DAPO
overlong, format rewards, weights, and split groups as clear errors."""

import pytest

from rewards.compose import GroupLedger, Reservation, RewardSpec, compose, format_reward, kimi_length_rewards
from rewards.engine import Engine
from rewards.math.scorer import MathScorer
from rewards.schema import ContractError, Kind, Result, Status, decode_sample


def math_sample(i, response, group="g", tokens=None, answer="4"):
    obj = {"id": f"s{i}", "kind": "math", "response": response, "reference": {"answer": answer}}
    if group is not None:
        obj["group"] = group
    if tokens is not None:
        obj["response_tokens"] = tokens
    return decode_sample(obj)


def checked(sample, correct):
    return Result(sample.id, float(correct), correct, Status.OK if correct else Status.WRONG)


# --------------------------------------------------------------------------- formulas


def test_kimi_length_reward_hand_computed():
    # min 100, max 300: λ = 0.5 − (len − 100)/200
    assert kimi_length_rewards([100, 200, 300], [True, True, True]) == [0.5, 0.0, -0.5]
    # incorrect responses never gain: min(0, λ)
    assert kimi_length_rewards([100, 200, 300], [False, False, False]) == [0.0, 0.0, -0.5]
    assert kimi_length_rewards([100, 150, 300, 300], [True, False, False, True]) == [0.5, 0.0, -0.5, -0.5]
    assert kimi_length_rewards([50, 50, 50], [True, False, True]) == [0.0, 0.0, 0.0]
    assert kimi_length_rewards([7], [True]) == [0.0]


@pytest.mark.parametrize(
    ("response", "fmt", "expected"),
    [
        ("so \\boxed{4}", "boxed", 1.0),
        ("so 4", "boxed", 0.0),
        ("<think>2+2</think> \\boxed{4}", "think", 1.0),
        ("<think>2+2</think>", "think", 0.0),  # no answer after the thinking
        ("<think>a</think> <think>b</think> 4", "think", 0.0),  # two blocks
        ("4 <think>late</think> 4", "think", 0.0),
        ("<think>2+2</think> \\boxed{4}", "think_boxed", 1.0),
        ("<think>\\boxed{4}</think> four", "think_boxed", 0.0),  # the box must be in the answer
    ],
)
def test_format_reward(response, fmt, expected):
    assert format_reward(response, fmt) == expected


# --------------------------------------------------------------------------- composition


def test_length_penalty_uses_tokens_when_given_and_reports_components():
    samples = [
        math_sample(0, "a", tokens=10),
        math_sample(1, "b" * 50, tokens=30),
        math_sample(2, "c", tokens=20),
    ]
    results = [checked(samples[0], True), checked(samples[1], True), checked(samples[2], False)]
    spec = RewardSpec(length_weight=0.5)
    out = compose(samples, results, spec, step=0)
    # λ = [0.5, -0.5, 0.0]; the wrong one gets min(0, 0) = 0
    assert [r.reward for r in out] == [1.0 + 0.25, 1.0 - 0.25, 0.0]
    summary = out[0].details["reward"]
    assert summary["components"] == {"correctness": 1.0, "length": 0.5}
    assert summary["weights"] == {"correctness": 1.0, "length": 0.5}
    assert summary["final"] == 1.25
    assert (summary["length"], summary["length_unit"], summary["length_penalty"]) == (10, "tokens", "on")
    assert results[0].reward == 1.0  # inputs are not modified


def test_length_in_characters_without_token_counts():
    samples = [math_sample(0, "x" * 10), math_sample(1, "x" * 20)]
    out = compose(samples, [checked(s, True) for s in samples], RewardSpec(length_weight=1.0))
    assert [r.reward for r in out] == [1.5, 0.5]
    assert out[0].details["reward"]["length_unit"] == "characters"


def test_groups_are_independent_and_ungrouped_samples_get_no_penalty():
    samples = [
        math_sample(0, "x" * 10, group="a"),
        math_sample(1, "x" * 30, group="a"),
        math_sample(2, "x" * 99, group="b"),
        math_sample(3, "x" * 5, group=None),
    ]
    out = compose(samples, [checked(s, True) for s in samples], RewardSpec(length_weight=1.0))
    assert [r.reward for r in out] == [1.5, 0.5, 1.0, 1.0]


def test_warm_up_turns_the_penalty_on_at_the_given_step():
    samples = [math_sample(0, "x", tokens=1), math_sample(1, "x", tokens=3)]
    results = [checked(s, True) for s in samples]
    spec = RewardSpec(length_weight=1.0, length_warmup_step=100)
    before = compose(samples, results, spec, step=99)
    assert [r.reward for r in before] == [1.0, 1.0]
    assert before[0].details["reward"]["length_penalty"].startswith("off: warm-up until step 100")
    assert before[0].details["reward"]["components"]["length"] == 0.5  # computed, weighted 0
    assert [r.reward for r in compose(samples, results, spec, step=100)] == [1.5, 0.5]
    no_step = compose(samples, results, spec, step=None)
    assert [r.reward for r in no_step] == [1.0, 1.0]
    assert "no training step" in no_step[0].details["reward"]["length_penalty"]


def test_overlong_format_and_binary_correctness_compose():
    spec = RewardSpec(
        correctness="binary",
        overlong_max_length=100,
        overlong_buffer=20,
        overlong_weight=1.0,
        format="boxed",
        format_weight=0.1,
    )
    samples = [
        math_sample(0, "\\boxed{4}", group=None, tokens=50),  # right, short, boxed
        math_sample(1, "4", group=None, tokens=90),  # right, in the buffer, unboxed
        math_sample(2, "\\boxed{5}", group=None, tokens=150),  # wrong, over the limit
    ]
    results = [checked(samples[0], True), checked(samples[1], True), checked(samples[2], False)]
    out = compose(samples, results, spec)
    assert [r.reward for r in out] == pytest.approx([1.1, 0.5, -0.9])
    assert out[1].details["reward"]["components"] == {
        "correctness": 1.0,
        "length": 0.0,
        "overlong": -0.5,
        "format": 0.0,
    }


def test_fraction_correctness_uses_tests_passed():
    sample = decode_sample(
        {
            "id": "c",
            "kind": "code",
            "response": "x",
            "reference": {"language": "python", "tests": {"inputs": ["1"], "outputs": ["1"]}},
        }
    )
    result = Result("c", 0.0, False, Status.WRONG, details={"passed": 3, "total": 4})
    assert compose([sample], [result], RewardSpec(correctness="fraction"))[0].reward == 0.75
    assert compose([sample], [result], RewardSpec(correctness="binary"))[0].reward == 0.0


def test_unscored_samples_are_left_alone_and_take_no_part():
    samples = [
        math_sample(0, "x", tokens=10),
        math_sample(1, "x", tokens=1000),
        math_sample(2, "x", tokens=30),
    ]
    results = [
        checked(samples[0], True),
        Result.failure("s1", Status.INTERNAL_ERROR, "worker died"),
        checked(samples[2], True),
    ]
    out = compose(samples, results, RewardSpec(length_weight=1.0))
    assert out[1] is results[1]
    assert [out[0].reward, out[2].reward] == [1.5, 0.5]  # 1000 did not stretch the range


def test_group_size_mismatch_is_an_error_not_a_per_slice_penalty():
    samples = [math_sample(i, "x" * (i + 1), group="g") for i in range(3)] + [
        math_sample(3 + i, "x" * (i + 1), group="h") for i in range(4)
    ]
    out = compose(samples, [checked(s, True) for s in samples], RewardSpec(length_weight=1.0, group_size=4))
    assert [r.status for r in out[:3]] == [Status.INVALID_INPUT] * 3
    assert "group 'g' has 3 samples in this request but the spec's group_size is 4" in out[0].message
    assert out[0].details["field"] == "group" and out[0].details["scored"]["status"] == "ok"
    assert [r.status for r in out[3:]] == [Status.OK] * 4


def test_a_sample_verirl_failed_on_still_counts_towards_group_size():
    samples = [math_sample(i, "x" * (10 * i + 10), tokens=10 * i + 10) for i in range(3)]
    results = [
        checked(samples[0], True),
        Result.failure("s1", Status.INTERNAL_ERROR, "worker died"),
        checked(samples[2], True),
    ]
    out = compose(samples, results, RewardSpec(length_weight=1.0, group_size=3))
    assert [r.status for r in out] == [Status.OK, Status.INTERNAL_ERROR, Status.OK]
    assert [out[0].reward, out[2].reward] == [1.5, 0.5]


def test_a_group_mixing_tokens_and_characters_is_an_error():
    samples = [math_sample(0, "x", tokens=10), math_sample(1, "x" * 20), math_sample(2, "y", group="h")]
    out = compose(samples, [checked(s, True) for s in samples], RewardSpec(length_weight=1.0))
    assert [r.status for r in out] == [Status.INVALID_INPUT, Status.INVALID_INPUT, Status.OK]
    assert "mixes samples with and without response_tokens" in out[0].message


def test_a_group_seen_again_for_the_same_step_is_an_error():
    ledger = GroupLedger()
    first = [math_sample(0, "x", group="g"), math_sample(1, "xx", group="g")]
    second = [math_sample(2, "xxx", group="g"), math_sample(3, "x", group="other")]
    spec = RewardSpec(length_weight=1.0)
    assert all(
        r.status is Status.OK for r in compose(first, [checked(s, True) for s in first], spec, 7, ledger)
    )
    out = compose(second, [checked(s, True) for s in second], spec, 7, ledger)
    assert (
        out[0].status is Status.INVALID_INPUT
        and "already scored in an earlier request for step 7" in out[0].message
    )
    assert out[1].status is Status.OK
    # the same group id is fine at the next step (group ids are usually prompt ids)
    again = compose(first, [checked(s, True) for s in first], spec, 8, ledger)
    assert all(r.status is Status.OK for r in again)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"length_weigth": 1}, "spec.length_weigth"),
        ({"correctness": "partial"}, "spec.correctness"),
        ({"length_weight": "high"}, "spec.length_weight"),
        ({"group_size": 0}, "spec.group_size"),
        ({"group_size": True}, "spec.group_size"),
        ({"format": "xml"}, "spec.format"),
        ({"overlong_max_length": 100}, "spec.overlong_buffer"),
        ({"overlong_max_length": 100, "overlong_buffer": 200}, "spec.overlong_buffer"),
    ],
)
def test_spec_validation_names_the_field(spec, field):
    with pytest.raises(ContractError) as error:
        RewardSpec.from_dict(spec)
    assert error.value.path == field


def test_spec_round_trips():
    spec = RewardSpec.from_dict({"length_weight": 1, "length_warmup_step": 5, "format": "think"})
    assert spec.length_weight == 1.0 and isinstance(spec.length_weight, float)
    assert RewardSpec.from_dict(spec.to_dict()) == spec


def test_engine_composes_after_real_math_scoring():
    with MathScorer(processes=1) as scorer:
        engine = Engine({Kind.MATH: scorer}, {})
        samples = [
            math_sample(0, "\\boxed{4}", tokens=100),
            math_sample(1, "so the answer is \\boxed{4}", tokens=300),
            math_sample(2, "\\boxed{5}", tokens=100),
            math_sample(3, "no idea", tokens=200),
        ]
        out = engine.score(samples, spec=RewardSpec(length_weight=1.0, group_size=4), step=1)
    assert [r.status for r in out] == [Status.OK, Status.OK, Status.WRONG, Status.NO_ANSWER]
    # λ = [0.5, -0.5, 0.5, 0.0]; wrong ones keep min(0, λ)
    assert [r.reward for r in out] == [1.5, 0.5, 0.0, 0.0]
    assert engine.score(samples[:1])[0].reward == 1.0  # no spec: the scorer's reward as is


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"correctness_weight": float("nan")}, "spec.correctness_weight"),
        ({"length_weight": float("inf")}, "spec.length_weight"),
        (
            {"overlong_weight": -float("inf"), "overlong_max_length": 10, "overlong_buffer": 2},
            "spec.overlong_weight",
        ),
        ({"format_weight": 1e7}, "spec.format_weight"),
        ({"correctness_weight": 10**400}, "spec.correctness_weight"),  # too large for a float
        ({"length_warmup_step": -1}, "spec.length_warmup_step"),
        ({"overlong_max_length": 0, "overlong_buffer": 0}, "spec.overlong_max_length"),
        ({"group_size": 2**63}, "spec.group_size"),
    ],
)
def test_spec_values_must_be_finite_and_in_range(spec, field):
    with pytest.raises(ContractError) as error:
        RewardSpec.from_dict(spec)
    assert error.value.path == field


def test_a_checked_spec_never_gives_a_non_finite_reward_with_status_ok():
    samples = [math_sample(i, "x" * (i + 1)) for i in range(3)]
    spec = RewardSpec(correctness_weight=1e6, length_weight=1e6, format="boxed", format_weight=-1e6)
    huge = [Result(s.id, 1e303, True, Status.OK) for s in samples]  # a reward model's wild score
    out = compose(samples, huge, spec)
    assert all(r.status is Status.INTERNAL_ERROR and "not finite" in r.message for r in out)
    assert all(r.reward == 0.0 for r in out)


def test_ledger_records_a_group_only_when_its_call_commits():
    ledger = GroupLedger()
    first = [math_sample(0, "x", group="g"), math_sample(1, "xx", group="g")]
    spec = RewardSpec(length_weight=1.0)
    expired = Reservation()
    assert all(
        r.status is Status.OK
        for r in compose(first, [checked(s, True) for s in first], spec, 7, ledger, expired)
    )
    # while the first call holds the group, the same group elsewhere is caught
    held = compose(first, [checked(s, True) for s in first], spec, 7, ledger, Reservation())
    assert held[0].status is Status.INVALID_INPUT and "being scored" in held[0].message
    ledger.abort(expired)  # its results were never delivered: the retry is scored
    retry = Reservation()
    assert all(
        r.status is Status.OK
        for r in compose(first, [checked(s, True) for s in first], spec, 7, ledger, retry)
    )
    ledger.commit(retry)
    again = compose(first, [checked(s, True) for s in first], spec, 7, ledger, Reservation())
    assert again[0].status is Status.INVALID_INPUT and "already scored" in again[0].message
    # a call that ended (aborted) before it reserved leaves nothing behind
    late = Reservation()
    ledger.abort(late)
    other = [math_sample(2, "x", group="h"), math_sample(3, "xx", group="h")]
    compose(other, [checked(s, True) for s in other], spec, 7, ledger, late)
    assert all(
        r.status is Status.OK for r in compose(other, [checked(s, True) for s in other], spec, 7, ledger)
    )


def test_ledger_is_bounded_in_entries_whatever_the_names():
    ledger = GroupLedger(steps=4, max_entries=1000)
    for step in range(10):
        ledger.claim(step, {f"{step}-{'n' * 5000}-{i}" for i in range(600)})  # long names cost nothing extra
        assert len(ledger) <= 1000
    # the newest step is kept (what fitted of it); older ones are evicted first
    remembered = sum(bool(ledger.claim(9, {f"9-{'n' * 5000}-{i}"})) for i in range(600))
    assert 300 <= remembered < 600
    assert not ledger.claim(0, {f"0-{'n' * 5000}-0"})  # step 0 was forgotten
    full = GroupLedger(steps=4, max_entries=10)
    assert not full.claim(1, {f"g{i}" for i in range(50)})
    assert len(full) == 10  # past the bound, further groups of the step are not remembered
