"""The code sandbox end to end: a real Docker Engine, real containers, real toolchains."""

import contextlib
import time

import docker
import pytest

from bench.humaneval import problems, sample
from rewards.code import CodeScorer, complete_with_prompt, extract_code
from rewards.schema import Status, decode_sample
from sandbox.box import LABEL, BoxError
from sandbox.guest import wire
from sandbox.pool import SandboxPool


@pytest.fixture(scope="module")
def scorer():
    with CodeScorer(containers=2) as s:
        yield s


def stdio(response, language, inputs, outputs, **options):
    return decode_sample(
        {
            "id": "s",
            "kind": "code",
            "response": response,
            "reference": {
                "language": language,
                "tests": {"inputs": inputs, "outputs": outputs},
                **options,
            },
        }
    )


def fenced(code, language="python"):
    return f"Here is my solution.\n```{language}\n{code}\n```\n"


def score(scorer, item):
    return scorer.score([item])[0]


# --------------------------------------------------------------------------- HumanEval


def test_humaneval_canonical_solutions_all_pass(scorer):
    items = [decode_sample(sample(p, p["canonical_solution"])) for p in problems()]
    assert len(items) == 164
    results = scorer.score(items)
    failed = [(r.id, r.status, r.message) for r in results if not r.correct]
    assert failed == []
    assert all(r.reward == 1.0 for r in results)


def test_humaneval_return_none_bodies_all_fail(scorer):
    items = [decode_sample(sample(p, "    return None\n")) for p in problems()]
    results = scorer.score(items)
    assert [r.id for r in results if r.correct] == []
    assert all(r.reward == 0.0 for r in results)


# --------------------------------------------------------------------------- languages

SUM = {
    "python": "a, b = map(int, input().split())\nprint(a + b)",
    "cpp": '#include <iostream>\nint main(){long long a,b;std::cin>>a>>b;std::cout<<a+b<<"\\n";}',
    "c": '#include <stdio.h>\nint main(){long long a,b;scanf("%lld %lld",&a,&b);printf("%lld\\n",a+b);return 0;}',
    "java": (
        "import java.util.*;\npublic class Main{public static void main(String[] x){"
        "Scanner s=new Scanner(System.in);long a=s.nextLong(),b=s.nextLong();System.out.println(a+b);}}"
    ),
    "javascript": (
        "const [a,b]=require('fs').readFileSync(0,'utf8').trim().split(/\\s+/).map(BigInt);"
        "console.log((a+b).toString());"
    ),
    "bash": "read a b\necho $((a + b))",
}
WRONG = {
    "python": "a, b = map(int, input().split())\nprint(a - b)",
    "cpp": '#include <iostream>\nint main(){long long a,b;std::cin>>a>>b;std::cout<<a-b<<"\\n";}',
    "c": '#include <stdio.h>\nint main(){long long a,b;scanf("%lld %lld",&a,&b);printf("%lld\\n",a-b);return 0;}',
    "java": "public class Main{public static void main(String[] x){System.out.println(0);}}",
    "javascript": "console.log('0');",
    "bash": "read a b\necho 0",
}
INPUTS, OUTPUTS = ["1 2\n", "100 -7\n", "123456789 987654321\n"], ["3\n", "93\n", "1111111110\n"]


@pytest.mark.parametrize("language", sorted(SUM))
def test_each_language_passes_and_fails(scorer, language):
    good = score(scorer, stdio(fenced(SUM[language], language), language, INPUTS, OUTPUTS))
    assert good.status is Status.OK, good
    assert good.reward == 1.0 and good.details["passed"] == 3
    bad = score(scorer, stdio(fenced(WRONG[language], language), language, INPUTS, OUTPUTS))
    assert bad.status is Status.WRONG and bad.reward == 0.0
    assert bad.details["tests"][0]["status"] == "wrong"


@pytest.mark.parametrize(
    ("language", "code"),
    [
        ("cpp", "int main( { return 0; }"),
        ("c", "int main() { return x; }"),
        ("java", "public class Main { void }"),
    ],
)
def test_compile_errors(scorer, language, code):
    result = score(scorer, stdio(fenced(code, language), language, ["\n"], ["\n"]))
    assert result.status is Status.COMPILE_ERROR
    assert result.details["compile_output"]


def test_java_public_class_with_another_name(scorer):
    code = "public class Solution { public static void main(String[] a) { System.out.println(3); } }"
    assert score(scorer, stdio(fenced(code, "java"), "java", ["\n"], ["3\n"])).correct


# A second problem per language: n, then n integers; print the largest and the count of evens.
MAX_EVENS = {
    "python": "n = int(input())\nxs = list(map(int, input().split()))\nprint(max(xs), sum(x % 2 == 0 for x in xs))",
    "cpp": (
        "#include <bits/stdc++.h>\nint main(){int n;std::cin>>n;long long m=LLONG_MIN;int e=0;"
        "for(int i=0;i<n;i++){long long x;std::cin>>x;m=std::max(m,x);e+=x%2==0;}std::cout<<m<<' '<<e<<'\\n';}"
    ),
    "c": (
        '#include <stdio.h>\nint main(){int n;scanf("%d",&n);long long m=-(1LL<<62);int e=0;'
        'for(int i=0;i<n;i++){long long x;scanf("%lld",&x);if(x>m)m=x;e+=x%2==0;}printf("%lld %d\\n",m,e);return 0;}'
    ),
    "java": (
        "import java.util.*;\npublic class Main{public static void main(String[] a){Scanner s=new Scanner(System.in);"
        "int n=s.nextInt();long m=Long.MIN_VALUE;int e=0;for(int i=0;i<n;i++){long x=s.nextLong();m=Math.max(m,x);"
        'if(x%2==0)e++;}System.out.println(m+" "+e);}}'
    ),
    "javascript": (
        "const t=require('fs').readFileSync(0,'utf8').trim().split(/\\s+/).map(Number);const xs=t.slice(1,1+t[0]);"
        "console.log(Math.max(...xs)+' '+xs.filter(x=>x%2===0).length);"
    ),
    "bash": 'read n\nread -a xs\nm=${xs[0]}; e=0\nfor x in "${xs[@]}"; do (( x > m )) && m=$x; (( x % 2 == 0 )) && e=$((e+1)); done\necho "$m $e"',
}


@pytest.mark.parametrize("language", sorted(MAX_EVENS))
def test_each_language_second_problem(scorer, language):
    inputs = ["3\n1 2 3\n", "5\n-4 -8 7 10 3\n", "1\n-5\n"]
    outputs = ["3 1\n", "10 3\n", "-5 0\n"]
    result = score(scorer, stdio(fenced(MAX_EVENS[language], language), language, inputs, outputs))
    assert result.status is Status.OK, result


# --------------------------------------------------------------------------- function calls


def call_sample(response, fn_name, inputs, outputs):
    return decode_sample(
        {
            "id": "c",
            "kind": "code",
            "response": response,
            "reference": {
                "language": "python",
                "tests": {"fn_name": fn_name, "inputs": inputs, "outputs": outputs},
            },
        }
    )


def test_function_call_top_level_and_solution_method(scorer):
    top = fenced("def two_sum(nums, target):\n    seen = {}\n    for i, n in enumerate(nums):\n"
                 "        if target - n in seen:\n            return [seen[target - n], i]\n        seen[n] = i")  # fmt: skip
    cases = ([[[2, 7, 11, 15], 9], [[3, 2, 4], 6]], [[0, 1], [1, 2]])
    assert score(scorer, call_sample(top, "two_sum", *cases)).correct
    method = fenced("class Solution:\n    def twoSum(self, nums, target):\n        return (0, 1)")
    result = score(scorer, call_sample(method, "twoSum", *cases))
    assert result.status is Status.WRONG and result.details["passed"] == 1  # a tuple equals a list


def test_function_call_float_tolerance_and_types(scorer):
    code = fenced("def f(x):\n    return x / 3")
    assert score(scorer, call_sample(code, "f", [[1]], [0.3333333])).correct
    assert not score(scorer, call_sample(fenced("def f(x):\n    return True"), "f", [[1]], [1])).correct


def test_missing_function_is_a_runtime_error(scorer):
    result = score(scorer, call_sample(fenced("def g(): pass"), "f", [[1]], [1]))
    assert result.status is Status.RUNTIME_ERROR and "no function" in result.details["tests"][0]["message"]


# --------------------------------------------------------------------------- comparison


@pytest.mark.parametrize(
    ("printed", "expected", "passes"),
    [
        ("print('1 2')", "1 2\n", True),
        ("print('1 2   ')\nprint()\nprint()", "1 2\n", True),  # trailing space and blank lines
        ("import sys; sys.stdout.write('1 2\\r\\n')", "1 2\n", True),  # CRLF
        ("print('YES')", "yes\n", False),  # case matters
        ("print('1')", "1\n2\n", False),  # a prefix never passes
        ("print('1\\n2\\n3')", "1\n2\n", False),  # nor extra lines
        ("print('0.3333333')", "0.333333\n", True),  # decimal tolerance
        ("print('4')", "3\n", False),  # integers exactly
        ("print('NO')", "YES\n", False),
        ("print('1 2 3')", "1 2\n", False),
    ],
)
def test_default_comparison(scorer, printed, expected, passes):
    assert score(scorer, stdio(fenced(printed), "python", ["\n"], [expected])).correct is passes


def test_exact_mode_and_checker(scorer):
    assert not score(scorer, stdio(fenced("print('1 ')"), "python", ["\n"], ["1\n"], compare="exact")).correct
    checker = (
        "def check(inp, expected, actual):\n    return sorted(actual.split()) == sorted(expected.split())"
    )
    item = stdio(fenced("print('3 1 2')"), "python", ["\n"], ["1 2 3\n"], checker=checker)
    assert score(scorer, item).correct


# --------------------------------------------------------------------------- scoring and statuses


def test_every_test_runs_and_options(scorer):
    code = fenced("x = int(input())\nprint(x if x != 2 else 0)")
    inputs, outputs = ["1\n", "2\n", "3\n", "4\n"], ["1\n", "2\n", "3\n", "4\n"]
    result = score(scorer, stdio(code, "python", inputs, outputs))
    assert result.reward == 0.0 and len(result.details["tests"]) == 4 and result.details["passed"] == 3
    partial = score(scorer, stdio(code, "python", inputs, outputs, partial_credit=True))
    assert partial.reward == 0.75 and partial.status is Status.WRONG
    stopped = score(scorer, stdio(code, "python", inputs, outputs, stop_at_first_failure=True))
    assert len(stopped.details["tests"]) == 2 and "test 2 of 4" in stopped.message


def test_no_code_block_and_bad_language(scorer):
    assert (
        score(scorer, stdio("I think the answer is 3.", "python", ["\n"], ["3\n"])).status is Status.NO_ANSWER
    )
    bad = score(scorer, stdio(fenced("x"), "cobol", ["\n"], ["3\n"]))
    assert bad.status is Status.INVALID_INPUT and bad.details["field"] == "reference.language"


def test_per_test_details_and_limits(scorer):
    result = score(
        scorer,
        stdio(fenced("import time; time.sleep(3)"), "python", ["\n"], ["\n"], time_limit_s=1),
    )
    assert result.status is Status.TIMEOUT
    test = result.details["tests"][0]
    assert test["status"] == "timeout" and test["time_s"] < 3


def test_code_extraction():
    response = "```\nprint(0)\n```\ntext\n```python\nprint(1)\n```\n```cpp\nint main(){}\n```"
    assert extract_code(response, "python", raw_allowed=False) == "print(1)\n"
    assert extract_code(response, "c++", raw_allowed=False) == "int main(){}\n"
    assert extract_code("no fence", "python", raw_allowed=False) is None
    assert extract_code("    return 1", "python", raw_allowed=True) == "    return 1"
    prompt = "import math\ndef f(x):\n    '''doc'''\n"
    assert complete_with_prompt("    return x", prompt, "f") == prompt + "    return x"
    assert complete_with_prompt("def f(x):\n    return x", prompt, "f").startswith(prompt)


# --------------------------------------------------------------------------- the pool


def test_supervisor_leaks_no_descriptors(scorer):
    slow = stdio(fenced("while True: pass"), "python", ["\n"], ["\n"], time_limit_s=1)
    calls = call_sample(fenced("def f(x):\n    return x"), "f", [[1], [2]], [1, 2])
    for item in (slow, calls, slow, calls):
        score(scorer, item)
    with scorer.pool().box() as box:
        fds = box.request(wire.Fds(), timeout_s=10).fds
    # the host channel (0, 1, 2) and the one socket to the process template, nothing else
    assert sorted(fds) == ["0", "1", "2", "3"] and fds["3"].startswith("socket:"), fds


def test_pool_recycles_and_leaves_no_containers():
    client = docker.from_env()
    with SandboxPool(size=1, recycle_after=2) as pool:
        owner = pool.owner
        ids = []
        for _ in range(3):
            with pool.box() as box:
                ids.append(box.id)
                box.request(wire.Hello(), timeout_s=10)
        assert ids[0] == ids[1] != ids[2] and pool.recycled == 1
    time.sleep(0.5)
    assert client.containers.list(all=True, filters={"label": f"{LABEL}={owner}"}) == []


def test_only_containers_of_a_provably_dead_owner_are_orphans():
    """A pool removes the containers of owners that are gone. Owners are told apart by host
    name and pid, because replicas in containers (deploy/) are all pid 1 on one engine."""
    import os
    import socket
    import subprocess

    from sandbox.image import ensure_image
    from sandbox.pool import owner_label, remove_labelled

    client = docker.from_env()
    image = ensure_image(client)
    host = socket.gethostname()
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid of this host that has exited
    replica = client.containers.create(image, command="true")  # a server's container, never started
    labels = {
        "ours_alive": f"pool-{host}-{os.getpid()}-aaaa",
        "ours_dead": f"pool-{host}-{gone.pid}-bbbb",
        "replica_stopped": f"pool-{replica.id[:12]}-1-cccc",
        "other_machine": "pool-some-other-machine-1-dddd",
        "old_format": "pool-12345-140000000",
    }
    made = {
        name: client.containers.create(
            image, command="true", labels={LABEL: value}, name=f"verirl-owner-{name}-{gone.pid}"
        )
        for name, value in labels.items()
    }
    try:
        remove_labelled(client)
        left = {c.name for c in client.containers.list(all=True, filters={"label": LABEL})}
        kept = {name for name, c in made.items() if c.name in left}
        assert kept == {"ours_alive", "other_machine"}
        assert owner_label().startswith(f"pool-{host}-{os.getpid()}-") and owner_label() != owner_label()
    finally:
        for container in [*made.values(), replica]:
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)


def test_a_dead_container_is_replaced():
    with SandboxPool(size=1) as pool:
        with pool.box() as box:
            first = box.id
        box.container.kill()
        with pytest.raises(BoxError), pool.box() as same:  # the dead box's channel fails
            same.request(wire.Hello(), timeout_s=10)
        with pool.box(timeout_s=60) as fresh:
            assert fresh.id != first
            assert fresh.request(wire.Hello(), timeout_s=10).pid == 1


# --------------------------------------------------------------------------- the wire messages


def _wire_samples(wire):
    """At least one instance of every message, with the optional parts both set and unset."""
    limits = wire.RunLimits(cpu_s=1.5, wall_s=2.0, memory_bytes=None, output_bytes=1 << 20, processes=4)
    result = wire.RunResult(
        exit_code=None,
        signal=9,
        timed_out=True,
        output_exceeded=False,
        stdout=b"\x00\xff\n raw bytes",
        stderr="Killed \u2620",
        wall_s=2.01,
        cpu_s=0.5,
        max_rss_kb=12345,
    )
    return [
        limits,
        wire.RunLimits(cpu_s=3, wall_s=3, memory_bytes=1 << 30, output_bytes=10, processes=1, file_bytes=5),
        result,
        wire.RunResult(
            exit_code=None,
            signal=None,
            timed_out=False,
            output_exceeded=False,
            stdout=b"",
            stderr="",
            wall_s=0.0,
            cpu_s=0.0,
            max_rss_kb=0,
            spawn_error="could not start the program",
        ),
        wire.Hello(),
        wire.Fds(),
        wire.Reset(),
        wire.CallClose(),
        wire.Prepare(
            files={"Main.java": "class Main {}", "s.py": "print('\udcff')"},  # a lone surrogate too
            compile=["javac", "Main.java"],
            compile_limits=limits,
        ),
        wire.Prepare(files={}, compile=None, compile_limits=limits),
        wire.Run(limits=limits, stdin="1 2\n", python="solution.py"),
        wire.Run(limits=limits, argv=["./main"]),
        wire.CallOpen(source="solution.py", entry="f", limits=limits, value_bytes=1000),
        wire.Call(args=wire.encode([1, (2, 3), {"k": b"v"}, 2**20000]), wall_s=0.5),
        wire.Call(args=[]),
        wire.FaultReply("KeyError: 'x'"),
        wire.HelloReply(pid=1, uid=20000, python="3.11.2", template=7, memory_baseline=None),
        wire.FdsReply({"0": "pipe:[1]", "3": "socket:[2]"}),
        wire.ResetReply(clean=False, problems=["processes survived: [12]"]),
        wire.PrepareReply(ok=True),
        wire.PrepareReply(ok=False, error="bad file name '.x'"),
        wire.PrepareReply(ok=False, compile=result),
        wire.CallReply(loaded=True),
        wire.CallReply(loaded=False, error="SyntaxError"),
        wire.CallReply(value=b"[1,2]"),
        wire.CallReply(error="ZeroDivisionError"),
        wire.CallReply(timed_out=True),
        wire.CallReply(output_exceeded=True),
        wire.CallReply(too_large="a frame of 9999999 bytes"),
        wire.CallReply(crashed=True, stderr="boom", signal=11, wall_s=0.2, cpu_s=0.1, max_rss_kb=100),
        wire.CallReply(crashed=True, spawn_error="fork failed"),
        wire.CloseReply(cpu_s=0.25),
        wire.CloseReply(),
        wire.Job(mode="run", cwd="/work/s1", path="solution.py", limits=limits),
        wire.Job(
            mode="call", cwd="/work/s1", path="s.py", limits=limits, entry="f", nonce="0123456789abcdef"
        ),
        wire.HarnessCall(args=wire.encode([[1], "x"]), nonce="0123456789abcdef"),
    ]


def test_every_wire_message_round_trips_through_its_wire_form():
    from sandbox.guest import wire

    samples = _wire_samples(wire)
    every = {
        cls
        for cls in vars(wire).values()
        if isinstance(cls, type) and issubclass(cls, wire.Message) and cls not in (wire.Message, wire.Request)
    }
    assert {type(m) for m in samples} == every  # a new message needs a sample here
    for message in samples:
        data = wire.parse(wire.COMPACT.encode(message.to_dict()).encode())  # through real JSON bytes
        assert type(message).from_dict(data) == message, message
        if isinstance(message, wire.Request):
            assert wire.parse_request(data) == message
            assert isinstance(message.reply_from({"fault": "x"}), wire.FaultReply)
    # The JSON itself is the contract with the supervisor of a running box: pinned.
    assert wire.Call(args=[1], wall_s=2.0).to_dict() == {"op": "call", "args": [1], "wall_s": 2.0}
    assert wire.CallReply(value=b"[1]").to_dict() == {"value_b64": "WzFd"}
    assert wire.CallReply(loaded=False, error="e").to_dict() == {"loaded": False, "error": "e"}
    assert wire.Run(limits=samples[0], argv=["./a"]).to_dict().keys() == {"op", "limits", "stdin", "argv"}
    assert samples[2].to_dict()["stdout_b64"] == "AP8KIHJhdyBieXRlcw=="
    assert wire.HarnessCall(args=[], nonce="n").to_dict() == {"args": [], "nonce": "n"}
    assert wire.FdsReply({"0": "x"}).to_dict() == {"0": "x"}


def test_malformed_wire_messages_are_protocol_errors():
    from sandbox.guest import wire

    limits = wire.RunLimits(cpu_s=1, wall_s=1, memory_bytes=None, output_bytes=10, processes=1).to_dict()
    requests = [
        {"op": "format_disk"},  # unknown op
        {"op": 5},
        {"files": {}},  # no op at all
        {"op": "run", "stdin": ""},  # missing limits
        {"op": "prepare", "files": {}, "compile": None},  # missing compile_limits
        {"op": "run", "limits": {**limits, "cpu_s": True}, "python": "s.py"},  # a bool is not a number
        {"op": "run", "limits": {**limits, "processes": 1.5}, "python": "s.py"},
        {"op": "run", "limits": {k: v for k, v in limits.items() if k != "wall_s"}, "python": "s.py"},
        {"op": "run", "limits": limits, "python": "s.py", "argv": ["x"]},  # both targets
        {"op": "run", "limits": limits},  # neither
        {"op": "prepare", "files": {"a": 1}, "compile": None, "compile_limits": limits},
        {"op": "prepare", "files": [], "compile": None, "compile_limits": limits},
        {"op": "prepare", "files": {}, "compile": "gcc", "compile_limits": limits},
        {"op": "call", "args": "[1]"},
        {"op": "call", "args": [], "wall_s": "1"},
        {"op": "hello", "extra": 1},  # unknown field
        {"op": "call_close", "op2": None},
    ]
    for data in [*requests, [], "hello", None]:
        with pytest.raises(wire.ProtocolError):
            wire.parse_request(data)
    run = wire.Run(limits=wire.RunLimits.from_dict(limits), python="s.py")
    replies = [
        (wire.RunResult, {"exit_code": 0}),  # missing fields
        (wire.RunResult, {**_ok_run(), "stdout_b64": "**"}),
        (wire.RunResult, {**_ok_run(), "exit_code": "0"}),
        (wire.RunResult, {**_ok_run(), "surprise": 1}),
        (wire.HelloReply, {"pid": 1, "uid": 1, "python": "3", "template": 2}),
        (wire.FdsReply, {"0": 1}),
        (wire.FdsReply, []),
        (wire.ResetReply, {"clean": 1, "problems": []}),
        (wire.ResetReply, {"clean": True, "problems": [1]}),
        (wire.PrepareReply, {"ok": True, "compile": {"exit_code": 0}}),
        (wire.CallReply, {"value_b64": "not base64!"}),
        (wire.CallReply, {"crashed": "yes"}),
        (wire.CallReply, {"loaded": True, "__class__": 1}),
        (wire.FaultReply, {"fault": None}),
        (wire.Job, {"mode": "exec", "cwd": "/", "path": "p", "limits": limits}),
        (wire.Job, {"mode": "call", "cwd": "/", "path": "p", "limits": limits, "entry": "f"}),
        (wire.HarnessCall, {"args": [1]}),
    ]
    for cls, data in replies:
        with pytest.raises(wire.ProtocolError):
            cls.from_dict(data)
    with pytest.raises(wire.ProtocolError, match="limits"):  # the error names the field
        wire.parse_request({"op": "run", "limits": {**limits, "wall_s": None}, "python": "s.py"})
    with pytest.raises(wire.ProtocolError):  # a reply checked against its request's reply type
        run.reply_from({"loaded": True})
    assert run.reply_from(_ok_run()).exit_code == 0


def _ok_run():
    return {
        "exit_code": 0,
        "signal": None,
        "timed_out": False,
        "output_exceeded": False,
        "stdout_b64": "",
        "stderr": "",
        "wall_s": 0,
        "cpu_s": 0,
        "max_rss_kb": 0,
    }


def test_the_supervisor_answers_a_malformed_request_with_a_fault_and_keeps_serving(scorer):
    from sandbox.box import Fault
    from sandbox.guest import wire

    class Unchecked(wire.Hello):  # a request the host would never send: wire form forged below
        __slots__ = ()

        def to_dict(self):
            return {"op": "prepare", "files": {"a.py": 1}, "compile": None}

    with scorer.pool().box() as box:
        with pytest.raises(Fault, match="Prepare"):
            box.request(Unchecked(), timeout_s=10)
        assert box.request(wire.Hello(), timeout_s=10).pid == 1  # PID 1 is still there
