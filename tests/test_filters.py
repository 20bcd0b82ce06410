"""`verirl filter`: each rule on problems it must drop and on look-alikes it must keep;
references checked with the real math parser and a real sandboxed server; guessing with a
tiny policy against a real server."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT, ServerProcess

from trainer.arithmetic import main as make_arithmetic
from trainer.filters import (
    HeldoutIndex,
    filter_problems,
    multiple_choice,
    proof,
    true_false,
    unverifiable_golds,
)
from trainer.problems import Problem, read_problems
from trainer.recipe_config import FilterConfig
from trainer.reward_channel import RewardChannel

pytestmark = pytest.mark.timeout(600)


def math(prompt: str, answer: str = "5", pid: str = "m") -> Problem:
    return Problem(pid, prompt, "math", {"answer": answer})


# --------------------------------------------------------------------------- question types

MULTIPLE_CHOICE = [
    ("Which of the following is prime? 4, 6, 7", "7"),
    ("which one of the options below is even: 3, 5, 8", "8"),
    ("What is 2 + 3? (A) 4 (B) 5 (C) 6", "B"),
    ("What is 2 + 3? (A) 4 (B) 5 (C) 6", "5"),  # the options betray it even with a numeric gold
    ("Pick the sum of 2 and 3.\nA. 4\nB. 5\nC. 6", "5"),
    ("Compute 2+3.\nA) 4\nB) 5", "5"),
    ("Select the right value of 7 - 2:\n1) 4\n2) 5\n3) 6", "2"),
    ("What is 7 - 2?\n1. 4\n2. 5\n3. 6", "2"),  # the gold is an option number
    ("Which is the answer? A. 3 B. 5", "B"),  # the gold is an option letter
]
NOT_MULTIPLE_CHOICE = [
    ("Points A and B are 5 units apart and C is the midpoint of AB. What is AC?", "2.5"),
    ("Ana has (a) 3 apples and (b) 4 pears. How many fruits?", "7"),
    ("1. Add 3 and 4.\n2. Multiply the result by 2.\nWhat number do you get?", "14"),
    ("Plan A costs 5 dollars and plan B costs 7. How much do both cost?", "12"),
    ("Which number is larger, 12 or 21?", "21"),  # "which" alone is a real question
    ("Solve (x - 1)(x - 2) = 0 for the larger root.", "2"),
]


@pytest.mark.parametrize(("prompt", "answer"), MULTIPLE_CHOICE)
def test_multiple_choice_is_dropped(prompt, answer):
    assert multiple_choice(math(prompt, answer))


@pytest.mark.parametrize(("prompt", "answer"), NOT_MULTIPLE_CHOICE)
def test_look_alikes_of_multiple_choice_are_kept(prompt, answer):
    assert multiple_choice(math(prompt, answer)) is None


@pytest.mark.parametrize(
    ("prompt", "answer"),
    [
        ("True or false: 91 is prime.", "False"),
        ("Is 7 prime?", "yes"),
        ("Is 8 odd?", "\\text{No}"),
        ("Answer yes or no: is 12 divisible by 4? Give 1 for yes and 0 for no.", "1"),
        ("Decide (true/false) whether 2 + 2 = 4.", "T"),
    ],
)
def test_true_false_and_yes_no_are_dropped(prompt, answer):
    assert true_false(math(prompt, answer))


@pytest.mark.parametrize(
    ("prompt", "answer"),
    [
        ("How many of the statements 'x > 1', 'x > 2' are true when x = 3?", "2"),
        ("Is there a smallest prime? Give it.", "2"),
        ("The word 'yes' has how many letters?", "3"),
        ("What day follows Sunday?", "Monday"),
    ],
)
def test_look_alikes_of_true_false_are_kept(prompt, answer):
    assert true_false(math(prompt, answer)) is None


@pytest.mark.parametrize(
    "prompt",
    [
        "Prove that there are infinitely many primes.",
        "Let n be odd. Show that n^2 - 1 is divisible by 8.",
        "Let x > 0, and show why x + 1/x >= 2.",
        "Give a short proof of the AM-GM inequality for two numbers.",
        "prove: the sum of two even numbers is even",
    ],
)
def test_proofs_are_dropped(prompt):
    assert proof(math(prompt))


@pytest.mark.parametrize(
    "prompt",
    [
        "The show that night sold 30 tickets and the matinee 20. How many tickets were sold?",
        "A proven method plants 3 rows of 4 trees. How many trees?",
        "Approve 3 requests a day for 5 days: how many requests?",
        "What does the table show? The values are 2 and 3; give their sum.",
    ],
)
def test_look_alikes_of_proofs_are_kept(prompt):
    assert proof(math(prompt)) is None


# --------------------------------------------------------------------------- references


def test_unparseable_math_golds_are_unverifiable():
    problems = [
        math("q", "5", "number"),
        math("q", "\\frac{1}{2}", "fraction"),
        math("q", "x^2 + 1", "expression"),
        math("q", "Monday", "word"),  # text: the checker compares words
        math("q", "\\sqrt{", "broken"),
        math("q", "\\begin{pmatrix}", "unclosed"),
        math("q", "???", "noise"),
    ]
    found = unverifiable_golds(problems)
    assert set(found) == {"broken", "unclosed", "noise"}
    assert all("cannot parse" in why for why in found.values())


# --------------------------------------------------------------------------- held-out duplicates


def test_heldout_duplicates_and_near_duplicates():
    heldout = [
        math("Ana has 3 apples and picks 5 more. How many apples does Ana have now?", pid="h1"),
        math("What is 12 \\times 7?", pid="h2"),
    ]
    index = HeldoutIndex(heldout, similarity=FilterConfig().similarity)
    assert "same text" in index.match(math("what is 12 × 7 ?"))  # case, spacing and the times sign
    assert "same text" in index.match(math("WHAT IS 12 \\cdot 7"))
    near = index.match(math("Ben has 3 apples and picks 5 more. How many apples does Ben have now?"))
    assert near and "near duplicate of held-out 'h1'" in near
    # other numbers make another question, however alike the words
    assert index.match(math("Ana has 3 apples and picks 6 more. How many apples does Ana have now?")) is None
    assert index.match(math("What is 7 \\times 12?")) is None
    assert index.match(math("A box holds 3 red pens and 5 blue pens. How many pens are in the box?")) is None


def test_filter_report_counts_each_rule_and_keeps_the_rest(tmp_path):
    rows = [
        {"id": "mc", "prompt": "What is 2 + 3? (A) 4 (B) 5", "kind": "math", "reference": {"answer": "B"}},
        {"id": "tf", "prompt": "True or false: 4 is even.", "kind": "math", "reference": {"answer": "True"}},
        {"id": "pr", "prompt": "Prove that 2 is prime.", "kind": "math", "reference": {"answer": "2"}},
        {"id": "bad", "prompt": "What is 1 + 1?", "kind": "math", "reference": {"answer": "\\frac{"}},
        {"id": "dup", "prompt": "What is 6 + 7?", "kind": "math", "reference": {"answer": "13"}},
        {"id": "ok1", "prompt": "What is 6 + 8?", "kind": "math", "reference": {"answer": "14"}},
        {"id": "ok2", "prompt": "Which is larger, 3 or 4?", "kind": "math", "reference": {"answer": "4"}},
    ]
    data, held = tmp_path / "train.jsonl", tmp_path / "heldout.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    held.write_text(
        json.dumps({"id": "h", "prompt": "what is 6+7", "kind": "math", "reference": {"answer": "13"}})
    )
    kept, rejects = tmp_path / "kept.jsonl", tmp_path / "rejects.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "verirl.cli", "filter", "--data", str(data), "--output", str(kept),
         "--rejects", str(rejects), "--heldout", str(held)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["problems"] == 7 and report["kept"] == 2 and report["dropped"] == 5
    # "mc" fires twice (options in the text, a letter for a gold)
    assert report["rules_fired"] == {
        "multiple_choice": 1,
        "true_false": 1,
        "proof": 1,
        "unverifiable": 1,
        "heldout_duplicate": 1,
        "guessable": 0,
    }
    assert report["skipped"] == ["guessable"]
    assert [json.loads(line)["id"] for line in kept.read_text().splitlines()] == ["ok1", "ok2"]
    dropped = {
        json.loads(line)["id"]: json.loads(line)["reasons"] for line in rejects.read_text().splitlines()
    }
    assert set(dropped) == {"mc", "tf", "pr", "bad", "dup"}
    assert dropped["bad"][0].startswith("unverifiable: ")
    assert dropped["dup"][0].startswith("heldout_duplicate: ")


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="unknown"):
        filter_problems([math("q")], FilterConfig(rules=["nonsense"]))


# --------------------------------------------------------------------------- against a server


@pytest.fixture(scope="module")
def sandbox_server():
    process = ServerProcess("--workers", "1")
    yield process.target
    process.stop()


def _code(pid: str, solution: str | None) -> Problem:
    reference = {"language": "python", "tests": {"inputs": ["2\n", "5\n"], "outputs": ["4\n", "10\n"]}}
    return Problem(
        pid,
        "Read n, print 2n.",
        "code",
        reference,
        metadata={"canonical_solution": solution} if solution else {},
    )


def test_code_reference_whose_own_solution_fails_is_unverifiable(sandbox_server):
    problems = [
        _code("good", "print(int(input()) * 2)"),
        _code("wrong_tests", "print(int(input()) + 2)"),  # the tests disagree with the solution
        _code("crashes", "print(undefined_name)"),
        _code("unchecked", None),  # nothing to check it with: kept
    ]
    with RewardChannel(sandbox_server) as channel:
        kept, reasons, counts = filter_problems(problems, FilterConfig(), channel)
    assert [p.id for p in kept] == ["good", "unchecked"]
    assert set(reasons) == {"wrong_tests", "crashes"}
    assert "gets wrong: test 2 of 2" in reasons["wrong_tests"][0] and counts["unverifiable"] == 2


def test_guessable_problems_are_dropped(tmp_path, sandbox_server):
    """A digits-only tiny policy answering in one token guesses a one-digit gold within a
    few dozen tries, but can never write a six-digit one."""
    import torch

    from trainer.policy import load_policy
    from trainer.tiny_policy import save_tiny_policy

    model, tokenizer = load_policy(str(save_tiny_policy(tmp_path / "m", chars="0123456789 ")))
    model.eval()
    torch.manual_seed(0)
    problems = [math("say 4", "4", "easy"), math("say a big number", "123456", "hard")]
    cfg = FilterConfig(guesses=48, guess_tokens=1, rules=["guessable"])
    with RewardChannel(sandbox_server) as channel:
        kept, reasons, counts = filter_problems(problems, cfg, channel, (model, tokenizer))
    assert [p.id for p in kept] == ["hard"]
    assert reasons["easy"][0].startswith("guessable: guessed right in") and counts == {"guessable": 1}


def test_heldout_ops_differ_so_questions_differ():
    index = HeldoutIndex([math("What is 3 + 5?", pid="h")], similarity=FilterConfig().similarity)
    assert index.match(math("What is 3 - 5?")) is None
    # an answer-format instruction is not part of the question
    assert "same text" in index.match(math("What is 3 + 5? Put the final answer in \\boxed{}."))


def test_the_arithmetic_generator_set_passes_untouched(tmp_path):
    """Hundreds of clean questions, many worded as stories (names, "how many … are left"):
    no rule may fire on them, and the generator's held-out split shares no question."""
    make_arithmetic(["--n", "300", "--heldout", "60", "--levels", "1,2,3,4,5,6", "--out", str(tmp_path)])
    problems = read_problems(tmp_path / "train.jsonl")
    cfg = FilterConfig(heldout=[str(tmp_path / "heldout.jsonl")])
    kept, reasons, counts = filter_problems(problems, cfg)
    assert len(kept) == 300 and reasons == {}, list(reasons.values())[:3]
    assert counts["heldout_duplicate"] == 0
