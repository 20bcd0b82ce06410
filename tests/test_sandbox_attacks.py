"""A policy that looks for holes: every attack scores 0 with the right status, finishes
within its limit plus slack, and the next honest submission in the same pool still
passes (and finds the box clean)."""

import io
import json
import os
import threading
import time

import pytest

from rewards.code import CodeScorer
from rewards.schema import Status, decode_sample

LIMIT_S = 2
SLACK_S = 15  # generous for a shared, loaded 2-core machine; the point is bounded, not fast

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


# Prints 3 (the right answer) only if the box is clean: no leftover files, shared
# memory or IPC objects, no other processes (but the supervisor's template). Run after every attack, it proves nothing outlived the submission.
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
left += os.listdir('/dev/shm') + os.listdir('/dev/mqueue')
for kind in ('shm', 'msg', 'sem'):  # SysV IPC objects of the box's namespace
    left += open(f'/proc/sysvipc/{kind}').read().splitlines()[1:]
a, b = map(int, input().split())
print(a + b if not others and not left else f"dirty: {others} {left}")
"""


def stdio2(code):
    """Two tests: the second runs after whatever the first did to the box."""
    fields = stdio(code)
    fields["reference"]["tests"] = {"inputs": ["1\n", "2\n"], "outputs": ["1\n", "2\n"]}
    return fields


FIND_TEMPLATE = """import os, signal
def cmdline(pid):
    try:
        return open(f'/proc/{pid}/cmdline', 'rb').read()
    except OSError:
        return b''
template = next(int(p) for p in os.listdir('/proc') if p.isdigit() and p != '1' and cmdline(p) == cmdline(1))
"""

# Writes a reply of its own on the call channel, with the nonce of the current call
# (read from the harness's frame: the candidate owns its process).
FORGE = """import json, os, struct, sys
def forge(kind, payload):
    serve = sys._getframe(2)
    body = serve.f_locals['nonce'].encode() + kind + payload
    data = memoryview(struct.pack('>I', len(body)) + body)
    while data:
        data = data[os.write(serve.f_locals['replies'], data):]
"""

# 50,000 distinct ints that all share one hash (hash(k * (2**61 - 1)) == 0).
COLLIDE = "big = [k * (2**61 - 1) for k in range(1, 50001)]\n"

# Leaves every kind of IPC object and shared memory behind (each within the box's own
# limits), then exits: reset must remove all of it.
PLANT = """import ctypes, os, mmap
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
for i in range(4):  # SysV shared memory, touched: 4 x 32 MB
    ident = libc.shmget(0, 32 << 20, 0o1600)
    if ident >= 0:
        address = libc.shmat(ident, None, 0)
        if address not in (None, ctypes.c_void_p(-1).value):
            ctypes.memset(address, 1, 32 << 20)
            libc.shmdt(ctypes.c_void_p(address))
class Message(ctypes.Structure):
    _fields_ = [('mtype', ctypes.c_long), ('mtext', ctypes.c_char * 4096)]
for i in range(32):  # SysV message queues, filled
    ident = libc.msgget(0, 0o1600)
    message = Message(1, b'x' * 4096)
    while ident >= 0 and libc.msgsnd(ident, ctypes.byref(message), 4096, 0o4000) == 0:
        pass
for i in range(32):  # SysV semaphore sets
    libc.semget(0, 8, 0o1600)
rt = ctypes.CDLL('librt.so.1', use_errno=True)
for i in range(16):  # POSIX message queues
    rt.mq_open(f'/q{i}'.encode(), os.O_CREAT | os.O_RDWR, 0o600, None)
with open('/dev/shm/big', 'wb') as handle:  # POSIX shared memory, up to the mount's size
    try:
        handle.write(b'x' * (60 << 20))
    except OSError:
        pass
print(0)
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
        {Status.RUNTIME_ERROR, Status.MEMORY_LIMIT, Status.TIMEOUT},  # (timeout: a slow, loaded disk)
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
    # round two: what a submission does to the supervisor is charged to the submission
    "signals_to_supervisor": (
        stdio(
            "import os, signal\nfor sig in signal.valid_signals():\n"
            "    if sig not in (signal.SIGKILL, signal.SIGSTOP):\n"
            "        try: os.kill(1, sig)\n        except OSError: pass\nprint(0)"
        ),
        {Status.WRONG},
    ),
    "signals_to_template": (
        stdio(
            FIND_TEMPLATE + "for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGSTOP):\n"
            "    os.kill(template, sig)\nprint(0)"
        ),
        # a stopped template cannot report this program's exit: charged to the program
        {Status.WRONG, Status.RUNTIME_ERROR},
    ),
    "kill_template": (
        # wrong output, or (when the template dies before reporting the exit) charged to the program
        stdio(FIND_TEMPLATE + "os.kill(template, signal.SIGKILL)\nprint(0)"),
        {Status.WRONG, Status.RUNTIME_ERROR},
    ),
    "stop_template_then_next_test": (
        # the second test needs the (stopped) template: it fails, charged to this program
        stdio2(
            FIND_TEMPLATE + "import sys\nif sys.stdin.read() == '1\\n':\n"
            "    os.kill(template, signal.SIGSTOP)\nprint(0)"
        ),
        {Status.WRONG, Status.RUNTIME_ERROR},
    ),
    "forged_internal_error_key": (
        asserts(FORGE + "def add(a, b):\n    forge(b'V', b'{\"internal_error\": \"x\"}')\n    return a + b"),
        {Status.RUNTIME_ERROR},
    ),
    "forged_old_style_internal_error_frame": (
        asserts(
            "import os, json, struct\nbody = json.dumps({'internal_error': 'x', 'loaded': True}).encode()\n"
            "os.write(4, struct.pack('>I', len(body)) + body)\ndef add(a, b):\n    return a + b"
        ),
        {Status.RUNTIME_ERROR},
    ),
    "forged_deep_nesting": (
        asserts(FORGE + "def add(a, b):\n    forge(b'V', b'[' * 100000 + b']' * 100000)\n    return a + b"),
        {Status.RUNTIME_ERROR},
    ),
    "returned_deep_nesting": (
        asserts("def add(a, b):\n    x = []\n    for _ in range(5000): x = [x]\n    return x"),
        {Status.RUNTIME_ERROR},
    ),
    "forged_oversized_frame_header": (
        asserts(
            "import struct, sys\ndef add(a, b):\n    f = sys._getframe(1)\n"
            "    import os; os.write(f.f_locals['replies'], struct.pack('>I', 1 << 31) + b'x' * 1000)\n"
            "    return a + b"
        ),
        {Status.OUTPUT_LIMIT},
    ),
    "returned_oversized_value": (
        asserts("def add(a, b):\n    return 'x' * (16 << 20)"),
        {Status.OUTPUT_LIMIT},
    ),
    "forged_many_containers": (
        asserts(FORGE + "def add(a, b):\n    forge(b'V', b'[' + b'[],' * 600000 + b'[]]')\n    return a + b"),
        {Status.OUTPUT_LIMIT},
    ),
    "leftover_reply_data": (
        asserts(
            "import os\nos.write(4, b'\\x00\\x00\\x00\\x03abc' + b'junk')\ndef add(a, b):\n    return a + b"
        ),
        {Status.RUNTIME_ERROR},
    ),
    "second_reply_after_the_answer": (
        asserts(FORGE + "def add(a, b):\n    forge(b'V', b'3')\n    forge(b'V', b'42')\n    return a + b"),
        {Status.RUNTIME_ERROR, Status.WRONG},
    ),
    "closed_reply_pipe_then_sleep": (
        asserts(
            "import os, sys, time\ndef add(a, b):\n    os.close(sys._getframe(1).f_locals['replies'])\n"
            "    time.sleep(1000)"
        ),
        {Status.RUNTIME_ERROR},
    ),
    "closed_request_pipe": (
        asserts(
            "import os, sys\ndef add(a, b):\n    os.close(sys._getframe(1).f_locals['requests'])\n"
            "    return a + b"
        ),
        {Status.RUNTIME_ERROR, Status.WRONG},
    ),
    "partial_reply_then_exit_leaving_a_holder": (
        asserts(
            "import os, struct, sys, time\ndef add(a, b):\n    fd = sys._getframe(1).f_locals['replies']\n"
            "    if os.fork() == 0:\n        time.sleep(1000)\n"
            "    os.write(fd, struct.pack('>I', 100) + b'0123')\n    os._exit(0)"
        ),
        {Status.RUNTIME_ERROR},
    ),
    "colliding_set_forged": (
        asserts(
            FORGE
            + COLLIDE
            + "def add(a, b):\n    forge(b'V', json.dumps({'$set': big, 'frozen': False}).encode())\n"
            "    return a + b"
        ),
        {Status.RUNTIME_ERROR},
    ),
    "colliding_dict_forged": (
        asserts(
            FORGE
            + COLLIDE
            + "def add(a, b):\n    forge(b'V', json.dumps({'$dict': [[k, 0] for k in big]}).encode())\n"
            "    return a + b"
        ),
        {Status.RUNTIME_ERROR},
    ),
    "colliding_list_returned": (
        asserts(COLLIDE + "def add(a, b):\n    return big"),
        {Status.RUNTIME_ERROR},
    ),
    "lone_surrogate_returned": (asserts("def add(a, b):\n    return '\\ud800' * 3"), {Status.WRONG}),
    "lone_surrogate_raised": (
        asserts("def add(a, b):\n    raise ValueError('\\udc80\\ud800')"),
        {Status.RUNTIME_ERROR},
    ),
    "huge_int_returned": (asserts("def add(a, b):\n    return 7 ** 200000"), {Status.WRONG}),
    "inode_flood": (
        stdio(
            "import os\nfor root in ('/work', '/tmp', '/dev/shm'):\n    i = 0\n    while True:\n"
            "        try: os.close(os.open(f'{root}/f{i}', os.O_CREAT | os.O_WRONLY)); i += 1\n"
            "        except OSError: break\nprint(0)"
        ),
        {Status.WRONG},
    ),
    # (killed by its time limit halfway on a loaded machine, it still leaves all kinds behind)
    "ipc_plant": (stdio(PLANT), {Status.WRONG, Status.TIMEOUT}),
}


@pytest.fixture(scope="module")
def scorer():
    with CodeScorer(containers=1) as s:
        yield s


def test_there_are_enough_attacks():
    assert len(ATTACKS) >= 60


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


# --------------------------------------------------------------------------- round two: scenarios


def code_sample(sample_id, code, tests, **options):
    reference = {"language": "python", "tests": tests, "time_limit_s": LIMIT_S, **options}
    return decode_sample(
        {"id": sample_id, "kind": "code", "response": f"```python\n{code}\n```", "reference": reference}
    )


def sequence(x, n=300):
    """A problem whose answer no program can guess: 300 steps of a 64-bit LCG from x."""
    out = []
    for _ in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) % 2**64
        out.append(x)
    return out


SEQUENCE = (
    "def sequence(x):\n    out = []\n    for _ in range(300):\n"
    "        x = (x * 6364136223846793005 + 1442695040888963407) % 2**64\n        out.append(x)\n    return out\n"
)

# Computes nothing: returns the longest run of integers found in its own memory (the
# anonymous mappings and the heap, where a forked copy would carry its parent's data).
MEMORY_SCAN = """import ctypes, re
def longest_run():
    best = b''
    for line in open('/proc/self/maps').read().splitlines():
        parts = line.split()
        name = parts[5] if len(parts) > 5 else ''
        if not parts[1].startswith('rw') or name not in ('', '[heap]'):
            continue
        low, high = (int(x, 16) for x in parts[0].split('-'))
        if high - low > 1 << 28:
            continue
        data = ctypes.string_at(low, high - low)
        for match in re.finditer(rb'(?<![0-9])(?:[0-9]{6,}[ ,]{1,2}){40,}[0-9]{6,}', data):
            if len(match.group()) > len(best):
                best = match.group()
    return [int(t) for t in re.split(rb'[ ,]+', best)] if best else []
"""
STDIO_THIEF = MEMORY_SCAN + "input()\nprint(*longest_run())"
CALL_THIEF = MEMORY_SCAN + "def solve(x):\n    return longest_run()"


@pytest.mark.parametrize("mode", ["stdio", "call"])
def test_a_thief_after_an_honest_solver_finds_nothing(scorer, mode):
    seed = int.from_bytes(os.urandom(7), "big")
    answer = sequence(seed)
    if mode == "stdio":
        tests = {"inputs": [f"{seed}\n"], "outputs": [" ".join(map(str, answer)) + "\n"]}
        honest, thief = SEQUENCE + "print(*sequence(int(input())))", STDIO_THIEF
        # the control: the answer sits in the thief's own memory (its stdin buffer)
        control_tests = {"inputs": [f"{seed}\n{tests['outputs'][0]}"], "outputs": tests["outputs"]}
    else:
        tests = {"fn_name": "solve", "inputs": [[seed]], "outputs": [answer]}
        honest, thief = SEQUENCE + "def solve(x):\n    return sequence(x)", CALL_THIEF
        hint = " ".join(map(str, answer))  # a string argument: alive in memory during the call
        control_tests = {"fn_name": "solve", "inputs": [[seed, hint]], "outputs": [answer]}
        thief = thief.replace("def solve(x):", "def solve(x, *hint):")
    control = scorer.score([code_sample("control", thief, control_tests, time_limit_s=10)])[0]
    assert control.correct, ("the memory scan must find an answer that is in its memory", control)
    for _ in range(3):
        solved = scorer.score([code_sample("honest", honest, tests)])[0]
        assert solved.correct, solved
        stolen = scorer.score([code_sample("thief", thief, tests, time_limit_s=10)])[0]
        assert not stolen.correct and stolen.reward == 0.0, stolen


# Shared memory both ways (a multiprocessing lock in /dev/shm, a SharedMemory block, a
# SysV segment) and 80% of its 512 MB memory limit, then the right answer.
SHARED_MEMORY_HONEST = """import ctypes, multiprocessing, os
from multiprocessing import shared_memory
lock = multiprocessing.Lock()
with lock:
    block = shared_memory.SharedMemory(create=True, size=16 << 20)
    block.buf[:3] = b'abc'
    block.close()
    block.unlink()
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
ident = libc.shmget(0, 8 << 20, 0o1600)
address = libc.shmat(ident, None, 0)
ctypes.memset(address, 7, 8 << 20)
libc.shmdt(ctypes.c_void_p(address))
libc.shmctl(ident, 0, None)
ballast = bytearray(int(0.8 * 512 * 2**20) - (48 << 20))  # 80% of the limit with the interpreter
ballast[::4096] = b'x' * len(ballast[::4096])
a, b = map(int, input().split())
print(a + b)
"""


def test_a_plant_then_an_honest_program_using_shared_memory_and_most_of_its_memory(scorer):
    tests = {"inputs": ["1 2\n"], "outputs": ["3\n"]}
    for _ in range(2):
        limits = {"memory_limit_mb": 512, "time_limit_s": 10}  # generous: a loaded CI machine
        planted = scorer.score([code_sample("plant", PLANT, tests, **limits)])[0]
        assert planted.status in (Status.WRONG, Status.TIMEOUT), planted  # planted either way
        honest = scorer.score([code_sample("honest", SHARED_MEMORY_HONEST, tests, **limits)])[0]
        assert honest.status is Status.OK, (honest.message, honest.details)


FORGED_DEEP = FORGE + "def add(a, b):\n    forge(b'V', b'[' * 100000 + b']' * 100000)\n    return a + b"
FORGED_COLLIDING = (
    FORGE + COLLIDE + "def add(a, b):\n    forge(b'V', json.dumps({'$set': big, 'frozen': True}).encode())\n"
    "    return a + b"
)
HONEST_ADD = "def add(a, b):\n    return a + b"


def test_deep_and_colliding_results_beside_honest_samples_in_one_batch():
    batch = [
        decode_sample({"id": name, "kind": "code", **asserts(code)})
        for name, code in (
            ("deep", FORGED_DEEP),
            ("honest-1", HONEST_ADD),
            ("colliding", FORGED_COLLIDING),
            ("honest-2", HONEST_ADD),
            ("colliding-list", COLLIDE + "def add(a, b):\n    return big"),
            ("honest-3", HONEST_ADD),
        )
    ]
    with CodeScorer(containers=2) as two:
        start = time.monotonic()
        results = {r.id: r for r in two.score(batch)}
        elapsed = time.monotonic() - start
    assert elapsed < 3 * (LIMIT_S * 2 + SLACK_S), elapsed
    for name in ("honest-1", "honest-2", "honest-3"):
        assert results[name].status is Status.OK, results[name]
    for name in ("deep", "colliding", "colliding-list"):
        assert results[name].status is Status.RUNTIME_ERROR, results[name]
        assert results[name].timings["judge_s"] < LIMIT_S * 2 + SLACK_S


def test_results_from_submissions_always_serialise(scorer):
    from rewards.schema import write_results
    from verirl.convert import result_to_proto

    batch = [
        decode_sample({"id": "returned", "kind": "code", **asserts("def add(a, b):\n    return '\\ud800x'")}),
        decode_sample(
            {"id": "raised", "kind": "code", **asserts("def add(a, b):\n    raise KeyError('\\udfff')")}
        ),
        code_sample(
            "printed",
            "import sys\nsys.stdout.buffer.write(b'\\xed\\xa0\\x80\\n')",
            {"inputs": ["\n"], "outputs": ["3\n"]},
        ),
    ]
    results = scorer.score(batch)
    assert [r.status for r in results] == [Status.WRONG, Status.RUNTIME_ERROR, Status.WRONG]
    stream = io.StringIO()
    write_results(results, stream)
    lines = stream.getvalue().encode("utf-8").decode("utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["returned", "raised", "printed"]
    for result in results:
        assert result_to_proto(result).SerializeToString()
    # and whatever text a result carries, a JSON Lines line is written and reads back
    from rewards.schema import Result

    raw = Result("r\ud800", 0.0, False, Status.WRONG, "m\udfff", {"output": ["\udc80é"]})
    stream = io.StringIO()
    write_results([raw], stream)
    back = json.loads(stream.getvalue().encode("utf-8"))
    assert (back["id"], back["message"], back["details"]["output"]) == ("r\ud800", "m\udfff", ["\udc80é"])


def test_a_supervisor_that_dies_under_a_submission_is_charged_to_it():
    """A dead box mid-run is the submission's runtime_error, and the pool heals."""
    with CodeScorer(containers=1) as one:
        pool = one.pool()
        with pool.box() as box:  # the one box the next submission will get
            target = box.container
        slow = code_sample(
            "slow", "import time\ntime.sleep(1.5)\nprint(3)", {"inputs": ["\n"], "outputs": ["3\n"]}
        )
        killer = threading.Timer(0.7, target.kill)
        killer.start()
        result = one.score([slow])[0]
        killer.join()
        assert result.status is Status.RUNTIME_ERROR, result
        honest = one.score([decode_sample({"id": "honest", "kind": "code", **stdio(HONEST_PROBE)})])[0]
        assert honest.status is Status.OK, honest


# --------------------------------------------------------------------------- round two: host work


def test_extraction_is_linear_and_timed():
    from rewards.code import extract_code

    scorer_ = CodeScorer(containers=1)  # never starts a pool: nothing here reaches a box
    try:
        for response in (
            "`" * 300_000,
            "```" + " " * 300_000,
            "```python\n" + "`" * 300_000,
            "```python\n" + "\n" * 300_000 + "def",
        ):
            start = time.monotonic()
            extract_code(response, "python", raw_allowed=True)
            assert time.monotonic() - start < 0.5
        whitespace = decode_sample(
            {"id": "w", "kind": "code", **asserts(" \n" * 150_000 + "def ad(a, b): pass")}
        )
        start = time.monotonic()
        assert scorer_.score_one(whitespace).status is not Status.INTERNAL_ERROR
        overlong = decode_sample({"id": "o", "kind": "code", **asserts("x" * (2 << 20))})
        result = scorer_.score_one(overlong)
        assert result.status is Status.OUTPUT_LIMIT and "characters" in result.message
        assert "judge_s" in result.timings
        no_fence = decode_sample({"id": "n", "kind": "code", **stdio("x"), "response": "``" * 200_000})
        result = scorer_.score_one(no_fence)
        assert result.status is Status.NO_ANSWER and "judge_s" in result.timings
    finally:
        scorer_.close()
