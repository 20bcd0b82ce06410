"""``verirl bench`` against real servers on loopback: short runs, pacing, accounting, replicas."""

import asyncio
import itertools
import json
import statistics

import pytest
from conftest import ServerProcess

from bench import harness, workloads
from bench.load import Generator, LoadSpec
from verirl.cli import build_parser, main


def bench_args(*argv: str):
    return build_parser().parse_args(["bench", "--workers", "1", "--warmup", "0.5", *argv])


def check_counts(run: dict, batch: int) -> None:
    """Every count in a run's report adds up, client side and server side."""
    assert run["samples"] > 0
    assert run["samples"] == sum(run["statuses"].values())
    assert run["samples"] == sum(sum(v.values()) for v in run["by_kind"].values())
    assert run["rpcs"] == sum(run["call_codes"].values()) == run["rpcs_ok"] + run["rpcs_failed"]
    assert run["samples"] == run["rpcs_ok"] * batch  # bundled samples: no groups, every call full
    assert run["accounting"]["exactly_one_each"], run["accounting"]
    server = run["server"]
    assert server["samples"] == run["samples"]
    assert server["calls_by_code"]["OK"] == run["rpcs_ok"]
    merged: dict[str, int] = {}
    for by_status in server["replicas"][0]["samples_by_kind"].values():
        for status, n in by_status.items():
            merged[status] = merged.get(status, 0) + n
    assert merged == run["statuses"]
    for scope in ("rpc", "sample"):
        lat = run["latency_ms"][scope]
        assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    assert run["samples_per_s"] == pytest.approx(run["samples"] / run["seconds"], rel=1e-3)
    assert server["queue"]["count"] == server["scoring"]["count"] == run["rpcs_ok"]
    assert server["scoring"]["mean_ms"] > 0


def test_math_run_through_the_cli_writes_json_markdown_and_a_cdf(tmp_path, capsys):
    out = tmp_path / "report.json"
    code = main(["bench", "--workers", "1", "--warmup", "0.5", "--workload", "math", "-c", "2", "-b", "4",
                 "--duration", "1.5", "--json", str(out), "--plots", str(tmp_path)])  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    check_counts(report["runs"][0], 4)
    assert report["runs"][0]["by_kind"].keys() == {"math"}
    assert {"ok", "wrong"} <= report["runs"][0]["statuses"].keys()  # the labelled set has both
    assert (tmp_path / "latency_cdf.png").stat().st_size > 10_000
    table = capsys.readouterr().out
    assert "| math | closed loop 2 × 4 |" in table


@pytest.mark.parametrize("workload", ["code", "model", "mixed"])
def test_each_bundled_workload_short_run(workload):
    report = harness.run_bench(bench_args("--workload", workload, "-c", "2", "-b", "4", "--duration", "2"))
    run = report["runs"][0]
    check_counts(run, 4)
    kinds = set(run["by_kind"])
    assert kinds == set(workloads.KINDS_OF[workload]) or (workload == "mixed" and kinds >= {"math", "code"})
    if workload == "code":
        assert "ok" in run["statuses"] and len(run["statuses"]) > 1  # canonical and broken solutions


def test_code_pool_has_every_sandbox_language_right_and_wrong():
    from sandbox.languages import LANGUAGES

    pool = {s["id"]: s for s in workloads.code_samples()}
    for language in LANGUAGES:
        assert f"{language}-ok" in pool and f"{language}-wrong" in pool
    assert sum(i.startswith("he-") for i in pool) == 2 * 164


def test_every_language_program_scores_as_labelled(start_server):
    """The a+b programs the code workload sends really pass (and the a-b ones fail)."""
    from verirl.client import RewardClient

    server = start_server()
    samples = [s for s in workloads.code_samples() if not s["id"].startswith("he-")]
    with RewardClient(server.target) as client:
        results = client.score(samples)
    assert {r.id: r.status.value for r in results} == {
        s["id"]: ("ok" if s["id"].endswith("-ok") else "wrong") for s in samples
    }


def test_input_file_groups_stay_whole(tmp_path):
    lines = [
        {
            "id": f"g{i}",
            "kind": "math",
            "group": "q1",
            "response": rf"\boxed{{{i}}}",
            "reference": {"answer": "1"},
        }
        for i in range(3)
    ] + [{"id": "s", "kind": "math", "response": r"\boxed{2}", "reference": {"answer": "2"}}]
    path = tmp_path / "samples.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    report = harness.run_bench(bench_args("--input", str(path), "-c", "1", "-b", "2", "--requests", "20"))
    run = report["runs"][0]
    # Units are [g0 g1 g2] and [s]: a batch of 2 takes the whole group (3) or s plus the group (4).
    assert run["rpcs_ok"] == 20 and run["samples"] in range(60, 81)
    assert run["samples"] == sum(run["statuses"].values()) == run["server"]["samples"]
    assert run["accounting"]["exactly_one_each"]


def test_input_file_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "1"}\nnot json\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:2"):
        workloads.from_jsonl(path)


# --------------------------------------------------------------------------- open loop


@pytest.fixture(scope="module")
def math_server():
    server = ServerProcess("--workers", "2", "--no-sandbox")
    yield server
    server.stop()


def run_generator(target: str, spec: LoadSpec, tamper=None):
    async def go():
        async with Generator(target, workloads.build("math"), spec, tamper=tamper) as generator:
            return await generator.run()

    return asyncio.run(go())


def test_open_loop_follows_its_poisson_schedule(math_server):
    from bench.report import summarise

    spec = LoadSpec(rate=50, batch=1, duration_s=4, warmup_s=0, seed=3)
    phase, ledger = run_generator(math_server.target, spec)
    loop = summarise(phase, rate=50)["open_loop"]
    assert loop["sent_rps"] == pytest.approx(50, rel=0.2)
    # The plan is Poisson: exponential gaps have a coefficient of variation of 1 (a fixed
    # interval would give 0). Sends follow the plan (lag below); a busy machine bunches the
    # actual sends, so the plan is read back from them (sent - lag).
    planned = [t - lag for t, lag in zip(phase.sent_at, phase.send_lag, strict=True)]
    gaps = [b - a for a, b in itertools.pairwise(planned)]
    cv = statistics.pstdev(gaps) / statistics.mean(gaps)
    assert 0.7 < cv < 1.3
    # Sends follow the schedule (generous bounds: CI machines are busy).
    assert loop["send_lag_ms"]["p50"] < 100 and loop["send_lag_ms"]["p99"] < 1000
    assert loop["skipped"] == 0  # whether the server kept up is not this test's business
    assert ledger["exactly_one_each"]


def test_open_loop_reports_a_server_that_falls_behind(math_server):
    from bench.report import summarise

    # 300 calls/s of 64 samples is ~20,000 samples/s, far past two math processes.
    spec = LoadSpec(rate=300, batch=64, duration_s=2, warmup_s=0, max_outstanding=8, seed=1)
    phase, ledger = run_generator(math_server.target, spec)
    loop = summarise(phase, rate=300)["open_loop"]
    assert loop["server_behind"] and loop["skipped"] > 0
    assert loop["max_outstanding"] == 8
    assert ledger["exactly_one_each"]  # skipped arrivals were never sent: nothing to lose


# --------------------------------------------------------------------------- accounting


def test_ledger_catches_a_dropped_result_a_duplicate_and_a_lost_answer(math_server):
    def tamper(seq, results):
        if seq == 3:
            return results[1:]  # one result dropped
        if seq == 5:
            return [*results, results[0]]  # one result twice
        if seq == 7:
            return None  # the whole answer lost
        return results

    spec = LoadSpec(concurrency=2, batch=4, duration_s=None, requests=20, warmup_s=0)
    _, ledger = run_generator(math_server.target, spec, tamper)
    assert not ledger["exactly_one_each"]
    assert ledger["lost"] == 1 + 4 and ledger["duplicated"] == 1
    assert ledger["examples"]["lost"] == ["3.0", "7.0", "7.1", "7.2", "7.3"]
    assert ledger["examples"]["duplicated"] == ["5.0"]

    _, clean = run_generator(math_server.target, spec)  # the same run untouched: nothing flagged
    assert clean["exactly_one_each"] and clean["lost"] == clean["duplicated"] == 0


def test_cancelled_and_expired_calls_are_outcomes_not_losses(math_server):
    spec = LoadSpec(concurrency=4, batch=16, duration_s=None, requests=120, warmup_s=0, seed=5,
                    cancel_fraction=0.25, cancel_within_s=0.004,
                    deadline_fraction=0.25, deadline_range_s=(0.0005, 0.003))  # fmt: skip
    phase, ledger = run_generator(math_server.target, spec)
    assert ledger["exactly_one_each"], ledger
    assert phase.call_codes["CANCELLED"] > 0 and phase.call_codes["DEADLINE_EXCEEDED"] > 0
    failed = sum(n for code, n in phase.call_codes.items() if code != "OK")
    assert sum(ledger["call_errors"].values()) == 16 * failed
    assert sum(phase.statuses.values()) == 16 * phase.call_codes["OK"]


def test_short_soak_checks_every_sample_and_samples_the_server(tmp_path):
    report = harness.run_bench(
        bench_args(
            "--soak", "0.1", "--rate", "8", "-b", "8", "--probe-interval", "0.5", "--plots", str(tmp_path)
        )
    )
    soak = report["soak"]
    assert soak["workload"] == "mixed"
    assert soak["verdict"]["exactly_one_outcome_each"], soak["accounting"]
    assert soak["verdict"]["in_flight_released"]
    rows = soak["resources"][0]["samples"]
    assert len(rows) >= 8 and all({"rss_mb", "threads", "fds", "containers"} <= r.keys() for r in rows)
    # --workers 1: one sandbox container; a box being replaced (after a cancelled or endless
    # program) may briefly leave none, but never two: no leak.
    counts = [r["containers"] for r in rows]
    assert max(counts) == 1 and counts.count(1) >= len(counts) / 2
    assert (tmp_path / "soak.png").stat().st_size > 10_000


# --------------------------------------------------------------------------- scale-out


@pytest.mark.parametrize("stop", [None, "term", "kill"])
def test_two_replicas_share_the_load_and_losing_one_loses_nothing(stop):
    argv = ["--workload", "math", "--replicas", "2", "-c", "4", "-b", "8", "--duration", "4"]
    if stop:
        argv += ["--stop-replica-after", "1.5", "--stop-signal", stop]
    report = harness.run_bench(bench_args(*argv))
    run = report["runs"][0]
    assert run["accounting"]["exactly_one_each"], run["accounting"]
    assert run["rpcs_failed"] == 0, run["call_errors"]  # UNAVAILABLE was retried on the other
    served = [r.get("samples", 0) for r in run["server"]["replicas"]]
    assert all(n > 0 for n in served)
    if stop is None:
        # round robin, not pick_first (which leaves one at 0); loose, because on a busy
        # machine a subchannel that connects late misses the first calls
        assert min(served) / max(served) > 0.5
        assert sum(served) == run["samples"]
    else:
        assert served[1] > served[0]  # the survivor carried the rest of the run
        assert run["stopped_replica"]["signal"] == stop
