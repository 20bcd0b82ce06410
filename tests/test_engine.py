"""The engine's guarantees: one result per sample, in order, whatever its scorers do."""

import threading

from rewards.engine import Engine
from rewards.schema import Kind, Result, Status, decode_sample


def sample(i, kind="math"):
    ref = {"math": {"answer": "1"}, "model": {}}[kind]
    return decode_sample({"id": f"s{i}", "kind": kind, "response": str(i), "reference": ref})


class EchoScorer:
    """Reward = the response as a number; optionally waits for another scorer to start."""

    def __init__(self, barrier=None):
        self.barrier = barrier
        self.closed = False

    def score(self, samples, progress=None, budget=None):
        if self.barrier:
            self.barrier.wait()  # both kinds must be in flight at once to pass
        out = [Result(s.id, float(s.response), True, Status.OK) for s in samples]
        if progress:
            progress(len(samples))
        return out

    def close(self):
        self.closed = True


class Broken:
    def __init__(self, behaviour):
        self.behaviour = behaviour

    def score(self, samples, progress=None, budget=None):
        if self.behaviour == "raise":
            raise RuntimeError("boom")
        if self.behaviour == "short":
            return [Result(samples[0].id, 1.0, True, Status.OK)]
        if self.behaviour == "nan":
            return [Result(s.id, float("nan"), True, Status.OK) for s in samples]
        return [Result("other", 1.0, True, Status.OK) for s in samples]

    def close(self):
        pass


def test_order_and_one_result_per_sample_across_kinds():
    barrier = threading.Barrier(2, timeout=10)
    math_scorer, model_scorer = EchoScorer(barrier), EchoScorer(barrier)
    engine = Engine({Kind.MATH: math_scorer, Kind.MODEL: model_scorer}, {})
    items = [sample(i, "math" if i % 3 else "model") for i in range(300)]
    done = []
    results = engine.score(items, progress=done.append)
    assert [r.id for r in results] == [f"s{i}" for i in range(300)]
    assert [r.reward for r in results] == [float(i) for i in range(300)]
    assert sum(done) == 300
    engine.close()
    assert math_scorer.closed and model_scorer.closed


def test_ready_results_pass_through_in_place():
    bad = decode_sample({"id": "bad", "kind": "poem", "response": "", "reference": {}})
    results = Engine({Kind.MATH: EchoScorer()}, {}).score([sample(1), bad, sample(2)])
    assert [r.id for r in results] == ["s1", "bad", "s2"]
    assert results[1].status is Status.INVALID_INPUT


def test_unavailable_kind_is_invalid_input_with_reason():
    engine = Engine({}, {Kind.MODEL: "no reward model configured"})
    (result,) = engine.score([sample(1, "model")])
    assert result.status is Status.INVALID_INPUT
    assert result.message == "kind: kind 'model' is not available: no reward model configured"


def test_duplicate_ids_rejected_after_the_first():
    engine = Engine({Kind.MATH: EchoScorer()}, {})
    results = engine.score([sample(1), sample(1), sample(2)])
    assert [r.status for r in results] == [Status.OK, Status.INVALID_INPUT, Status.OK]
    assert "duplicate id 's1'" in results[1].message


def test_scorer_failures_become_internal_errors_not_lost_batches():
    for behaviour, words in [
        ("raise", "RuntimeError: boom"),
        ("short", "returned 1 results for 3"),
        ("nan", "non-finite"),
        ("wrong-id", "in the place of"),
    ]:
        engine = Engine({Kind.MATH: Broken(behaviour), Kind.MODEL: EchoScorer()}, {})
        results = engine.score([sample(1), sample(2, "model"), sample(3), sample(4)])
        assert [r.id for r in results] == ["s1", "s2", "s3", "s4"]
        assert results[1].status is Status.OK, behaviour
        for r in (results[0], results[2], results[3]):
            assert r.status is Status.INTERNAL_ERROR and words in r.message, (behaviour, r)
            assert r.reward == 0.0


def test_empty_batch():
    assert Engine({}, {}).score([]) == []
