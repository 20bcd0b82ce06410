"""`verirl score` end to end, as a subprocess."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "verirl.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_malformed_file_gives_one_invalid_result_per_bad_line():
    proc = run_cli("score", "--input", "examples/malformed.jsonl", "--output", "-")
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    source = [line for line in (ROOT / "examples/malformed.jsonl").read_text().splitlines() if line]
    assert len(results) == len(source)
    by_id = {r["id"]: r for r in results}
    assert by_id["2"]["details"]["field"] == "line"  # not JSON: named by its line number
    assert by_id["unknown-kind"]["details"]["field"] == "kind"
    assert by_id["missing-response"]["details"]["field"] == "response"
    assert by_id["unpaired-tests"]["details"]["field"] == "reference.tests.outputs"
    assert results[0]["status"] != "invalid_input"  # the good first line is scored
    assert results[8]["message"].startswith("id: duplicate id 'ok'")
    assert "scored 11 samples" in proc.stderr


def test_examples_file_scores_every_sample(tmp_path):
    out = tmp_path / "results.jsonl"
    proc = run_cli("score", "-i", "examples/samples.jsonl", "-o", str(out), "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in out.read_text().splitlines()]
    ids = [json.loads(line)["id"] for line in (ROOT / "examples/samples.jsonl").open()]
    assert [r["id"] for r in results] == ids
    status = {r["id"]: r["status"] for r in results}
    assert status == {
        "sum": "ok",
        "half": "ok",
        "interval": "ok",
        "self-correction": "ok",
        "wrong": "wrong",
        "no-answer": "no_answer",
        "code-add": "ok",
        "open-ended": "invalid_input",  # until a reward model is configured
    }
    assert "ok=5" in proc.stderr and "mean reward 0.6250" in proc.stderr


def test_stdin_to_stdout():
    line = json.dumps({"id": "x", "kind": "poem", "response": "", "reference": {}})
    proc = run_cli("score", "-i", "-", stdin=line + "\n")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["status"] == "invalid_input"


def test_run_failure_is_nonzero():
    proc = run_cli("score", "-i", "does/not/exist.jsonl")
    assert proc.returncode == 2
    assert "does/not/exist.jsonl" in proc.stderr


def test_spec_and_step_compose_rewards(tmp_path):
    group = [
        {
            "id": f"g{i}",
            "kind": "math",
            "group": "g",
            "response": r,
            "reference": {"answer": "4"},
            "response_tokens": n,
        }
        for i, (r, n) in enumerate([(r"\boxed{4}", 10), (r"so \boxed{4}", 30)])
    ]
    samples = "".join(json.dumps(s) + "\n" for s in group)
    spec = tmp_path / "spec.toml"
    spec.write_text("length_weight = 1.0\nlength_warmup_step = 3\n")
    warm = run_cli("score", "-i", "-", "--spec", str(spec), "--step", "2", "--workers", "1", stdin=samples)
    on = run_cli("score", "-i", "-", "--spec", str(spec), "--step", "3", "--workers", "1", stdin=samples)
    assert [json.loads(line)["reward"] for line in warm.stdout.splitlines()] == [1.0, 1.0]
    assert [json.loads(line)["reward"] for line in on.stdout.splitlines()] == [1.5, 0.5]
    spec.write_text("length_weigth = 1.0\n")
    bad = run_cli("score", "-i", "-", "--spec", str(spec), stdin=samples)
    assert bad.returncode == 2 and "spec.length_weigth: unknown field" in bad.stderr
