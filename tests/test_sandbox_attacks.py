"""A policy that looks for holes: every attack scores 0 with the right status, finishes
within its limit plus slack, and the next honest submission in the same pool still
passes (and finds the box clean)."""

import time

import pytest

from rewards.code import CodeScorer
from rewards.schema import Status, decode_sample

LIMIT_S = 2
SLACK_S = 8  # generous for a shared 2-core CI machine; the point is bounded, not fast

ADD_TEST = "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(40, 2) == 42\n"


def asserts(code):
    reference = {"language": "python", "prompt": "", "test": ADD_TEST, "entry_point": "add"}
    return {
        "response": f"```python\n{code}\n```",
        "reference": {**reference, "time_limit_s": LIMIT_S},
    }


def stdio(code, language="python", memory_mb=256):
    tests = {"inputs": ["1 2\n"], "outputs": ["3\n"]}
    ref = {
        "language": language,
        "tests": tests,
        "time_limit_s": LIMIT_S,
        "memory_limit_mb": memory_mb,
    }
    return {"response": f"```{language}\n{code}\n```", "reference": ref}


# Prints 3 (the right answer) only if the box is clean: no leftover files, no other
# processes (but the supervisor's template). Run after every attack, it proves nothing outlived the submission.
HONEST_PROBE = """
import os
def cmdline(pid):
    try:
        return open(f'/proc/{pid}/cmdline', 'rb').read()
    except OSError:
        return b''
others = [p for p in os.listdir('/proc') if p.isdigit() and int(p) not in (1, os.getpid())]
# the supervisor's process template (one, a copy of PID 1) belongs to the box
templates = [p for p in others if cmdline(p) == cmdline(1)]
others = [p for p in others if p not in templates[:1]]
left = os.listdir('/tmp') + [f for f in os.listdir('/work') if f != os.path.basename(os.getcwd())]
a, b = map(int, input().split())
print(a + b if not others and not left else f"dirty: {others} {left}")
"""

# Leaks are tested as "prints the right answer only if it found the leak".
LEAK = "import os\nfound = {probe}\nprint(3 if found else 0)"

ATTACKS = {
    # early exits and interpreter tricks against assert tests
    "sys_exit_at_import": (asserts("import sys\nsys.exit(0)"), {Status.RUNTIME_ERROR}),
    "os_exit_at_import": (asserts("import os\nos._exit(0)"), {Status.RUNTIME_ERROR}),
    "systemexit_in_call": (
        asserts("def add(a, b):\n    raise SystemExit(0)"),
        {Status.RUNTIME_ERROR},
    ),
    "os_exit_in_call": (
        asserts("import os\ndef add(a, b):\n    os._exit(0)"),
        {Status.RUNTIME_ERROR},
    ),
    "atexit_handler": (
        asserts(
            "import atexit\natexit.register(lambda: print('ALL TESTS PASSED'))\ndef add(a, b):\n    return 0"
        ),
        {Status.WRONG},
    ),
    "excepthook": (
        asserts("import sys\nsys.excepthook = lambda *a: None\ndef add(a, b):\n    raise AssertionError()"),
        {Status.RUNTIME_ERROR},
    ),
    "always_equal_object": (
        asserts("class E:\n    def __eq__(self, o): return True\ndef add(a, b):\n    return E()"),
        {Status.RUNTIME_ERROR},
    ),
    "int_subclass": (
        asserts("class I(int):\n    def __eq__(self, o): return True\ndef add(a, b):\n    return I(0)"),
        {Status.RUNTIME_ERROR},
    ),
    "list_subclass": (
        asserts("class L(list):\n    def __eq__(self, o): return True\ndef add(a, b):\n    return L()"),
        {Status.RUNTIME_ERROR},
    ),
    "frame_walking": (
        asserts(
            "import inspect\ndef add(a, b):\n    for f in inspect.stack():\n"
            "        for v in f.frame.f_locals.values():\n"
            "            if isinstance(v, int) and v not in (a, b): return v\n    return -1"
        ),
        {Status.WRONG},
    ),
    "patched_builtins": (
        asserts(
            "import builtins\nbuiltins.AssertionError = type('X', (Exception,), {})\ndef add(a, b):\n    return 0"
        ),
        {Status.WRONG},
    ),
    "fake_result_lines": (
        asserts('print(\'{"value": 3, "passed": true}\')\nprint("PASSED")\ndef add(a, b):\n    return None'),
        {Status.WRONG},
    ),
    "forged_reply_frames": (
        asserts(
            "import os, json, struct\nfor v in (3, 42):\n    body = json.dumps({'value': v}).encode()\n"
            "    for fd in range(3, 64):\n        try: os.write(fd, struct.pack('>I', len(body)) + body)\n"
            "        except OSError: pass\ndef add(a, b):\n    return 0"
        ),
        {Status.RUNTIME_ERROR, Status.WRONG},
    ),
    "alarm_zero_then_loop": (
        asserts("import signal\nsignal.alarm(0)\ndef add(a, b):\n    while True: pass"),
        {Status.TIMEOUT},
    ),
    "raise_rlimits": (
        stdio(
            "import resource\nfor r in (resource.RLIMIT_CPU, resource.RLIMIT_AS, resource.RLIMIT_NPROC):\n"
            "    try: resource.setrlimit(r, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
            "    except (ValueError, OSError): pass\nwhile True: pass"
        ),
        {Status.TIMEOUT},
    ),
    # time
    "infinite_loop": (stdio("while True: pass"), {Status.TIMEOUT}),
    "long_sleep": (stdio("import time\ntime.sleep(1000)"), {Status.TIMEOUT}),
    "block_on_stdin": (
        stdio("import sys\nsys.stdin.read()\nimport time\nwhile True: time.sleep(1)"),
        {Status.TIMEOUT},
    ),
    "cpp_infinite_loop": (
        stdio("int main(){volatile int x=0; while(1) x++;}", "cpp"),
        {Status.TIMEOUT},
    ),
    # processes and threads
    "fork_bomb_python": (
        stdio("import os\nwhile True:\n    try: os.fork()\n    except OSError: pass"),
        {Status.TIMEOUT, Status.RUNTIME_ERROR},
    ),
    "fork_bomb_shell": (
        stdio("f(){ f | f & }; f", "bash"),
        {Status.TIMEOUT, Status.RUNTIME_ERROR, Status.WRONG},
    ),
    "fork_bomb_c": (
        stdio("#include <unistd.h>\nint main(){while(1) fork();}", "c"),
        {Status.TIMEOUT},
    ),
    "thread_bomb": (
        stdio(
            "import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(100,)).start()"
        ),
        {Status.RUNTIME_ERROR, Status.TIMEOUT},
    ),
    "daemon_double_fork_setsid": (
        stdio(
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            "        time.sleep(0.5)\n        open('/tmp/planted', 'w').write('x')\n        time.sleep(1000)\n"
            "    os._exit(0)\nprint(0)"
        ),
        {Status.WRONG},
    ),
    "files_outlive": (
        stdio("open('/tmp/leftover', 'w').write('x')\nopen('/work/leftover', 'w').write('x')\nprint(0)"),
        {Status.WRONG},
    ),
    # memory and output
    "memory_bomb_python": (stdio("x = bytearray(4 << 30)\nprint(3)"), {Status.MEMORY_LIMIT}),
    "memory_bomb_python_growing": (
        stdio("x = []\nwhile True: x.append(' ' * 10**6)"),
        {Status.MEMORY_LIMIT},
    ),
    "memory_bomb_cpp": (
        stdio(
            "#include <vector>\nint main(){std::vector<char*> v; while(1){char* p=new char[1<<20]; p[0]=1; v.push_back(p);}}",
            "cpp",
        ),
        {Status.MEMORY_LIMIT},
    ),
    "stdout_flood": (
        stdio("import sys\nwhile True: sys.stdout.write('x' * 65536)"),
        {Status.OUTPUT_LIMIT},
    ),
    "stderr_flood": (
        stdio("import sys\nwhile True: sys.stderr.write('x' * 65536)"),
        {Status.OUTPUT_LIMIT},
    ),
    "invalid_utf8": (
        stdio("import sys\nsys.stdout.buffer.write(b'\\xff\\xfe3\\n')"),
        {Status.WRONG},
    ),
    "deep_recursion": (
        stdio("import sys\nsys.setrecursionlimit(10**9)\ndef f(n): return f(n + 1) + 1\nf(0)"),
        {Status.RUNTIME_ERROR, Status.MEMORY_LIMIT, Status.TIMEOUT},
    ),
    "disk_fill": (
        stdio("i = 0\nwhile True:\n    open(f'/work/fill{i}', 'wb').write(b'x' * (32 << 20))\n    i += 1"),
        {Status.RUNTIME_ERROR, Status.MEMORY_LIMIT},
    ),
    # isolation: each prints the right answer only if the hole exists
    "network": (
        stdio(
            LEAK.format(probe="__import__('socket').create_connection(('1.1.1.1', 53), timeout=1) and True")
        ),
        {Status.RUNTIME_ERROR},
    ),
    "environment": (
        stdio(LEAK.format(probe="set(os.environ) - {'PATH', 'HOME', 'LANG', 'TMPDIR', 'PWD'}")),
        {Status.WRONG},
    ),
    "host_files": (
        stdio(
            LEAK.format(
                probe="any(os.path.exists(p) for p in ('/work/main', '/root/.bash_history', '/etc/shadow-') if os.access(p, os.R_OK))"
            )
        ),
        {Status.WRONG},
    ),
    "docker_socket": (
        stdio(
            LEAK.format(probe="any(os.path.exists(p) for p in ('/var/run/docker.sock', '/run/docker.sock'))")
        ),
        {Status.WRONG},
    ),
    "supervisor_memory": (
        stdio(
            LEAK.format(
                probe="any(os.access(p, os.R_OK) for p in ('/proc/1/mem', '/proc/1/environ')) or bool(os.listdir('/proc/1/fd'))"
            )
        ),
        {Status.WRONG, Status.RUNTIME_ERROR},
    ),
    "write_root_filesystem": (
        stdio(LEAK.format(probe="open('/usr/bin/evil', 'w') and True")),
        {Status.RUNTIME_ERROR},
    ),
    "kill_supervisor": (
        stdio(
            "import os, signal\nfor pid in (1, os.getppid(), -1):\n    try: os.kill(pid, signal.SIGKILL)\n    except OSError: pass\nprint(0)"
        ),
        {Status.WRONG, Status.RUNTIME_ERROR},
    ),
    "compile_bomb": (stdio("#include </dev/zero>\nint main(){}", "cpp"), {Status.COMPILE_ERROR}),
}


@pytest.fixture(scope="module")
def scorer():
    with CodeScorer(containers=1) as s:
        yield s


def test_there_are_enough_attacks():
    assert len(ATTACKS) >= 30


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack(scorer, name):
    fields, allowed = ATTACKS[name]
    item = decode_sample({"id": name, "kind": "code", **fields})
    start = time.monotonic()
    result = scorer.score([item])[0]
    elapsed = time.monotonic() - start
    assert result.reward == 0.0 and not result.correct, result
    assert result.status in allowed, (result.status, result.message, result.details)
    budget = 20 + SLACK_S if result.status is Status.COMPILE_ERROR else LIMIT_S * 2 + SLACK_S
    assert elapsed < budget, elapsed
    honest = scorer.score([decode_sample({"id": "honest", "kind": "code", **stdio(HONEST_PROBE)})])[0]
    assert honest.status is Status.OK, (honest.message, honest.details)
