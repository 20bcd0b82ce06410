"""The engine's guarantees: one result per sample, in order, whatever its scorers do."""

import threading

from rewards.engine import CHUNK, Engine
from rewards.schema import MAX_ECHO_CHARS, MAX_MESSAGE_CHARS, Kind, Result, Status, decode_sample
from rewards.scoring import Budget


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


class Counting:
    """Counts the samples it was given; stops the budget after ``stop_after`` of them."""

    def __init__(self, budget, stop_after):
        self.budget, self.stop_after, self.seen, self.calls = budget, stop_after, 0, 0

    def score(self, samples, progress=None, budget=None):
        self.calls += 1
        self.seen += len(samples)
        if self.seen >= self.stop_after:
            self.budget.cancel()
        return [Result(s.id, 1.0, True, Status.OK) for s in samples]

    def close(self):
        pass


def test_the_budget_is_checked_per_chunk():
    budget = Budget()
    scorer = Counting(budget, stop_after=CHUNK)
    results = Engine({Kind.MATH: scorer}, {}).score([sample(i) for i in range(5 * CHUNK)], budget=budget)
    assert scorer.seen == CHUNK and scorer.calls == 1  # the call stopped: later chunks never started
    assert [r.id for r in results] == [f"s{i}" for i in range(5 * CHUNK)]
    assert {r.status for r in results[CHUNK:]} == {Status.TIMEOUT}
    assert "cancelled" in results[-1].message


def test_echoes_are_cut_and_metadata_comes_back():
    class Echo:
        def score(self, samples, progress=None, budget=None):
            return [Result(s.id, 0.0, False, Status.WRONG, "m" * 10_000, {"gold": "g" * 10_000, "l": ["x" * 5000]})
                    for s in samples]  # fmt: skip

        def close(self):
            pass

    item = decode_sample({"id": "a", "kind": "math", "response": "", "reference": {"answer": "1"},
                          "metadata": {"source": "gsm8k"}})  # fmt: skip
    (result,) = Engine({Kind.MATH: Echo()}, {}).score([item])
    assert len(result.message) < MAX_MESSAGE_CHARS + 50 and "8000 more characters cut" in result.message
    assert (
        len(result.details["gold"]) < MAX_ECHO_CHARS + 50
        and len(result.details["l"][0]) < MAX_ECHO_CHARS + 50
    )
    assert result.details["metadata"] == {"source": "gsm8k"}
    bad = decode_sample({"id": "b", "kind": "p" * 50_000, "response": "", "reference": {}})
    (result,) = Engine({}, {}).score([bad])
    assert result.status is Status.INVALID_INPUT and len(result.message) < MAX_MESSAGE_CHARS + 50
