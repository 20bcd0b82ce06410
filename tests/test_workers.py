"""The time-bounded worker pool: real processes, killed and replaced for real."""

import os
import threading
import time

import pytest

from rewards.workers import WorkerPool


@pytest.fixture(scope="module")
def pool():
    with WorkerPool("pool_targets:echo", processes=2) as p:
        yield p


def make(target, processes=1, **kw):
    return WorkerPool(f"pool_targets:{target}", processes, **kw)


def test_values_come_back_in_order(pool):
    outcomes = pool.map([(i,) for i in range(200)], budget_s=5)
    assert [o.value for o in outcomes] == list(range(200))


def test_overrun_is_killed_replaced_and_the_pool_lives_on():
    with make("sleep_then") as p:
        start = time.monotonic()
        slow = p.run((30, "late"), budget_s=0.5)
        assert slow.timed_out and slow.value is None
        assert time.monotonic() - start < 10
        assert p.replaced == 1
        assert p.run((0, "next"), budget_s=5).value == "next"


def test_killed_worker_process_is_gone():
    with make("pid") as p:
        assert p.run((), budget_s=5).value in p.pids()  # the task ran in a worker, not here
    with make("sleep_then") as p:
        before = set(p.pids())
        p.run((30, None), budget_s=0.3)
        time.sleep(0.2)
        for old in before:
            with pytest.raises(ProcessLookupError):
                os.kill(old, 0)


def test_crash_is_reported_and_replaced():
    with make("die") as p:
        outcome = p.run((3,), budget_s=5)
        assert outcome.crashed and "exit code 3" in outcome.error
        assert p.replaced == 1


def test_exception_is_an_error_value_not_a_crash():
    with make("raise_value_error") as p:
        outcome = p.run(("bad input",), budget_s=5)
        assert outcome.error == "ValueError: bad input" and not outcome.crashed


def test_memory_limit_is_enforced():
    with make("allocate", memory_limit_mb=512) as p:
        outcome = p.run((2048,), budget_s=10)
        assert outcome.out_of_memory
        assert p.run((1,), budget_s=10).value == 1024 * 1024


def test_many_threads_submit_at_once(pool):
    results = {}

    def work(t):
        results[t] = [o.value for o in pool.map([(t * 1000 + i,) for i in range(50)], budget_s=5)]

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == {t: [t * 1000 + i for i in range(50)] for t in range(8)}


def test_tasks_whose_caller_gave_up_are_never_started():
    """A stopped call's queue drains at once: each queued task is asked, when a worker is
    free, whether it is still wanted; the ones that are not are cancelled unrun."""
    from concurrent.futures import CancelledError

    gave_up = threading.Event()
    with make("sleep_then") as p:
        first = p.submit((0.5, "first"), budget_s=5)
        rest = [p.submit((0.5, i), budget_s=5, skip=gave_up.is_set) for i in range(6)]
        time.sleep(0.2)  # the first is running; six wait behind it
        gave_up.set()
        start = time.monotonic()
        assert first.result().value == "first"
        for future in rest:
            with pytest.raises(CancelledError):
                future.result()
        assert time.monotonic() - start < 2.0  # six runs would take 3 s
        assert p.run((0, "still serving"), budget_s=5).value == "still serving"


# A user's script as the README invites it: no `if __name__ == "__main__":`, work at the top
# level, then a grade that needs the worker processes (a symbolic comparison).
SCRIPT = """\
import os
print("top level ran in", os.getpid(), flush=True)
from rewards.math import grade
print("correct:", grade(r"so \\boxed{x^2+2x+1}", "(x+1)^2").correct, flush=True)
"""


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_a_script_without_a_main_guard_runs_once(tmp_path, how):
    """Workers must not re-run the caller's script (multiprocessing's default for spawned
    children): it would load the user's model once per worker; from stdin it cannot start."""
    import subprocess
    import sys

    from conftest import ROOT

    script = tmp_path / "user_script.py"
    script.write_text(SCRIPT)
    argv, stdin = ([sys.executable, str(script)], None) if how == "file" else ([sys.executable, "-"], SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("top level ran in") == 1, done.stdout
    assert "correct: True" in done.stdout
