"""Samplers against expectations computed by hand: switch points, frequencies, floors,
retirement, and that a sampler restored from its state draws what the original draws."""

import json
import random
from collections import Counter
from types import SimpleNamespace

import pytest

from rewards.schema import Status
from trainer.problems import Problem
from trainer.samplers import (
    CurriculumSampler,
    MixtureSampler,
    PrioritizedSampler,
    UniformSampler,
    UniformThenHardSampler,
    make_sampler,
    parse_tag_weights,
    refill_informative,
)


def _problem(i: int, level: int | None = None, tags=(), pass_rate=None) -> Problem:
    return Problem(
        f"p{i}", f"q{i}", "math", {"answer": "1"}, difficulty=level, tags=tuple(tags), pass_rate=pass_rate
    )


def _levelled(per_level: int = 4, levels=(1, 2, 3)) -> list[Problem]:
    return [_problem(len(levels) * k + n, level) for n, level in enumerate(levels) for k in range(per_level)]


def _levels_of(problems, batch):
    return {problems[i].difficulty for i in batch}


# --------------------------------------------------------------------------- curriculum


def test_curriculum_moves_on_at_the_set_steps():
    problems = _levelled()
    sampler = CurriculumSampler(problems, batch_size=3, seed=1, switch_steps=[2, 5])
    seen = [_levels_of(problems, sampler.next_batch(step, {})) for step in range(7)]
    assert seen == [{1}, {1}, {2}, {2}, {2}, {3}, {3}]


def test_curriculum_moves_on_when_running_accuracy_passes_the_threshold():
    problems = _levelled()
    sampler = CurriculumSampler(problems, batch_size=4, seed=0, threshold=0.75, window=2)
    first = sampler.next_batch(0, {})
    # the window holds step 0's 2/8, then also step 1's 8/8: 10/16 < 0.75, stay
    second = sampler.next_batch(1, {first[0]: (2, 8)})
    assert _levels_of(problems, second) == {1}
    third = sampler.next_batch(2, {second[0]: (8, 8)})
    assert _levels_of(problems, third) == {1}
    # 8/8 and 6/8: 14/16 = 0.875 ≥ 0.75 → level 2 from step 3
    fourth = sampler.next_batch(3, {third[0]: (6, 8)})
    assert _levels_of(problems, fourth) == {2}
    assert sampler.switches == [(3, 1)]
    # the window restarts on the new level: one perfect step is not yet a full window
    fifth = sampler.next_batch(4, {fourth[0]: (8, 8)})
    assert _levels_of(problems, fifth) == {2}


def test_curriculum_ignores_stats_of_other_levels_and_stays_on_the_last_level():
    problems = _levelled(levels=(1, 2))
    sampler = CurriculumSampler(problems, batch_size=2, seed=0, threshold=0.5, window=1, switch_steps=[1])
    sampler.next_batch(0, {})
    level2 = [i for i, p in enumerate(problems) if p.difficulty == 2]
    assert _levels_of(problems, sampler.next_batch(1, {})) == {2}
    for step in range(2, 6):  # perfect accuracy on the top level: nowhere further to go
        assert _levels_of(problems, sampler.next_batch(step, {level2[0]: (4, 4)})) == {2}


def test_curriculum_covers_a_level_before_repeating_it():
    problems = _levelled(per_level=4)
    sampler = CurriculumSampler(problems, batch_size=2, seed=3)
    drawn = sampler.next_batch(0, {}) + sampler.next_batch(1, {})
    assert sorted(drawn) == sorted(i for i, p in enumerate(problems) if p.difficulty == 1)


def test_curriculum_needs_difficulties():
    with pytest.raises(ValueError, match="difficulty"):
        CurriculumSampler([_problem(0, 1), _problem(1)], batch_size=1)


def test_uniform_then_hard_switches_at_the_set_iteration():
    problems = _levelled(per_level=5)
    sampler = UniformThenHardSampler(problems, batch_size=5, seed=0, switch_step=3)
    before = [sampler.next_batch(step, {}) for step in range(3)]
    after = [sampler.next_batch(step, {}) for step in range(3, 6)]
    assert sorted(i for b in before for i in b) == list(range(15))  # one whole epoch of everything
    assert all(_levels_of(problems, b) == {3} for b in after)
    lowered = UniformThenHardSampler(problems, batch_size=5, seed=0, switch_step=0, hard_level=2)
    assert _levels_of(problems, lowered.next_batch(0, {}) + lowered.next_batch(1, {})) <= {2, 3}


# --------------------------------------------------------------------------- prioritized


def test_prioritized_probabilities_follow_one_minus_success():
    problems = [_problem(0, pass_rate=0.0), _problem(1, pass_rate=0.5), _problem(2, pass_rate=0.75)]
    sampler = PrioritizedSampler(problems, batch_size=50, seed=0, floor=0.05)
    # weights 1, 0.5, 0.25 → 4/7, 2/7, 1/7
    assert sampler.probabilities() == pytest.approx([4 / 7, 2 / 7, 1 / 7])
    counts = Counter(i for step in range(400) for i in sampler.next_batch(step, {}))
    total = sum(counts.values())  # 20 000 draws: a standard error under 0.004
    for i, expected in enumerate([4 / 7, 2 / 7, 1 / 7]):
        assert counts[i] / total == pytest.approx(expected, abs=0.015)


def test_prioritized_floor_keeps_solved_problems_alive():
    problems = [_problem(0, pass_rate=1.0), _problem(1, pass_rate=0.0)]
    sampler = PrioritizedSampler(problems, batch_size=100, seed=0, floor=0.1)
    assert sampler.probabilities() == pytest.approx([0.1 / 1.1, 1 / 1.1])
    counts = Counter(i for step in range(100) for i in sampler.next_batch(step, {}))
    assert counts[0] / 10_000 == pytest.approx(1 / 11, abs=0.01)
    with pytest.raises(ValueError, match="floor"):
        PrioritizedSampler(problems, batch_size=1, floor=0.0)


def test_prioritized_success_is_a_running_average_of_the_groups():
    problems = [_problem(0), _problem(1, pass_rate=0.2)]
    sampler = PrioritizedSampler(problems, batch_size=1, seed=0, ema=0.5)
    assert sampler.success == [0.5, 0.2]  # no pass_rate: the uninformed 0.5
    sampler.next_batch(0, {0: (8, 8), 1: (0, 8)})
    assert sampler.success == pytest.approx([0.75, 0.1])
    sampler.next_batch(1, {0: (2, 8)})
    assert sampler.success == pytest.approx([0.5, 0.1])
    assert sampler.probabilities() == pytest.approx([0.5 / 1.4, 0.9 / 1.4])


def test_prioritized_retires_after_m_fully_solved_groups_in_a_row():
    problems = [_problem(i) for i in range(3)]
    sampler = PrioritizedSampler(problems, batch_size=30, seed=0, retire_after=2)
    sampler.next_batch(0, {0: (4, 4), 1: (4, 4)})
    sampler.next_batch(1, {0: (3, 4), 1: (4, 4)})  # problem 0 missed once: its run restarts
    assert sampler.retired == {1}
    sampler.next_batch(2, {0: (4, 4)})
    assert sampler.retired == {1}  # one solved group since the miss
    batch = sampler.next_batch(3, {0: (4, 4)})
    assert sampler.retired == {0, 1}
    assert set(batch) == {2} and sampler.probabilities()[:2] == [0, 0]
    # all retired: the floor applies to everyone again rather than an empty draw
    sampler.next_batch(4, {2: (4, 4)})
    sampler.next_batch(5, {2: (4, 4)})
    assert sampler.retired == {0, 1, 2}
    assert len(set(sampler.next_batch(6, {}))) > 1


# --------------------------------------------------------------------------- mixture


def test_mixture_draws_tags_in_the_given_proportions():
    problems = [_problem(i, tags=["add"]) for i in range(3)] + [
        _problem(3 + i, tags=["mul"]) for i in range(9)
    ]
    problems.append(_problem(12))
    sampler = MixtureSampler(problems, batch_size=100, seed=0, weights=parse_tag_weights(["add=3", "mul=1"]))
    counts = Counter()
    for step in range(100):
        for i in sampler.next_batch(step, {}):
            counts[problems[i].tags[0] if problems[i].tags else "untagged"] += 1
    # weights 3 : 1 : 1 (untagged gets the default 1), whatever the pools' sizes
    assert counts["add"] / 10_000 == pytest.approx(0.6, abs=0.02)
    assert counts["mul"] / 10_000 == pytest.approx(0.2, abs=0.02)
    assert counts["untagged"] / 10_000 == pytest.approx(0.2, abs=0.02)


def test_mixture_rejects_bad_weights():
    problems = [_problem(0, tags=["add"])]
    for bad in (["add"], ["add=-1"], ["add=x"], ["=2"]):
        with pytest.raises(ValueError, match="TAG=WEIGHT"):
            parse_tag_weights(bad)
    with pytest.raises(ValueError, match="no problem has"):
        MixtureSampler(problems, 1, weights={"mul": 1.0})


# --------------------------------------------------------------------------- resume and the factory


def _settings(**kw):
    base = dict(
        curriculum_steps=[3],
        curriculum_threshold=0.5,
        curriculum_window=1,
        hard_from_step=2,
        hard_level=None,
        priority_floor=0.05,
        priority_ema=0.5,
        retire_after=2,
        tag_weights=["a=2"],
    )
    return SimpleNamespace(**{**base, **kw})


@pytest.mark.parametrize("name", ["uniform", "curriculum", "uniform_then_hard", "prioritized", "mixture"])
def test_restored_sampler_draws_what_the_original_draws(name):
    problems = [
        _problem(i, level=1 + i % 3, tags=["a" if i % 2 else "b"], pass_rate=(i % 5) / 5) for i in range(15)
    ]
    rng = random.Random(0)

    def stats_for(batch):
        return {i: (rng.randint(0, 4), 4) for i in batch}

    original = make_sampler(name, problems, 4, seed=7, settings=_settings())
    stats = {}
    for step in range(5):
        stats = stats_for(original.next_batch(step, stats))
    saved = json.loads(json.dumps(original.state_dict()))  # checkpoints must survive serialisation
    restored = make_sampler(name, problems, 4, seed=999, settings=_settings())
    restored.load_state_dict(saved)
    for step in range(5, 12):
        a, b = original.next_batch(step, stats), restored.next_batch(step, stats)
        assert a == b, (step, a, b)
        stats = stats_for(a)


def test_make_sampler_names_the_choices():
    with pytest.raises(ValueError, match="prioritized"):
        make_sampler("nope", [_problem(0)], 1, 0)
    assert isinstance(make_sampler("uniform", [_problem(0)], 1, 0), UniformSampler)


# --------------------------------------------------------------------------- dynamic sampling


def _result(reward: float, status: Status = Status.OK):
    return SimpleNamespace(reward=reward, status=status)


def test_dynamic_sampling_drops_uniform_groups_and_refills():
    sampler = UniformSampler(n_problems=10, batch_size=3, seed=0)
    mine = sampler.next_batch(0, {})
    # group 0 all correct, group 1 mixed, group 2 all wrong but one failed sample
    rewards = {mine[0]: [1, 1], mine[1]: [0, 1], mine[2]: [0, 0]}
    results = [_result(r) for i in mine for r in rewards[i]]
    results[5] = _result(1.0, Status.INTERNAL_ERROR)  # no signal: not a difference of rewards
    calls = []

    def score(indices, round_):
        calls.append((list(indices), round_))
        groups = [[f"g{i}a", f"g{i}b"] for i in indices]
        # first refill: one informative, one not; second: informative
        table = {0: [[1, 0], [1, 1]], 1: [[0, 1]]}[round_]
        return groups, [_result(r) for pair in table[: len(indices)] for r in pair]

    groups = [[f"g{i}a", f"g{i}b"] for i in mine]
    out = refill_informative(sampler, 0, mine, groups, results, 3, score, {Status.INTERNAL_ERROR})
    assert [len(c[0]) for c in calls] == [2, 1]  # asked for exactly what was missing
    assert out.mine == [mine[1], calls[0][0][0], calls[1][0][0]]
    assert out.dropped == 3 and len(out.results) == 6
    assert len(out.seen[0]) == 6 and len(out.seen[1]) == 12  # every scored group reaches the stats


def test_dynamic_sampling_stops_after_max_rounds():
    sampler = UniformSampler(n_problems=4, batch_size=2, seed=0)
    mine = sampler.next_batch(0, {})
    results = [_result(1.0)] * 4

    def score(indices, round_):
        return [["x", "y"] for _ in indices], [_result(0.0)] * (2 * len(indices))

    out = refill_informative(sampler, 0, mine, [["a", "b"]] * 2, results, 2, score)
    assert out.mine == [] and out.dropped == 6
