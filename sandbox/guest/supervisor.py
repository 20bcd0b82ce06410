#!/usr/bin/env python3
"""The in-container supervisor: PID 1 of every sandbox container.

Stdlib only; mounted read-only at /opt/verirl. The host talks to it over the
container's attached stdin/stdout (length-prefixed JSON frames, see wire.py), so the hot
path makes no Docker API call. Each request is one of wire.py's ``Request`` messages,
checked there before any handler sees it:

* ``prepare``  — wipe, write the submission's files into a fresh directory, compile;
* ``run``      — run a command with stdin under limits, return its output;
* ``call_open`` / ``call`` / ``call_close`` — load a Python program in a harness process
  and call one of its functions with plain-data arguments (wire.encode);
* ``reset``    — kill everything, wipe every writable place and every IPC object, and
  report whether the box is back to the state it started in;
* ``hello`` / ``fds`` — diagnostics (identity; the supervisor's open descriptors).

Why PID 1: the kernel drops signals sent to a namespace's init from inside it unless
init handles them (it handles none: every catchable signal is ignored), so a candidate's
``kill -INT 1`` or ``kill -9 1`` does nothing; and ``kill(-1, …)`` from PID 1 reaches
every other process in the container, so a double fork or ``setsid`` cannot outlive its
test.

Why a process template: Python programs start as forks of a warm interpreter (a few
milliseconds, against ~70 ms for a new ``python3`` with the harness), but a fork copies its parent's heap,
and this process's heap holds earlier submissions' inputs, outputs and results. So
before reading any request the supervisor forks a template, which never receives job
data: it only ever gets "fork now" with the new child's pipes. Every Python child is a
copy of that pristine state and reads its own job from its own pipe. Compiled languages
are exec'd, which replaces the image anyway.
"""

import contextlib
import ctypes
import fcntl
import gc
import os
import resource
import select
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, "/opt/verirl")
# Imported once here so forked Python children find them warm (as a warm interpreter
# harness would); they are what typical solutions import.
import atexit  # noqa: F401
import bisect  # noqa: F401
import collections  # noqa: F401
import runpy
import traceback  # noqa: F401

import harness
import wire

CHANNEL_IN, CHANNEL_OUT = 0, 1
WORK, TMP, SHM, MQUEUE = "/work", "/tmp", "/dev/shm", "/dev/mqueue"
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": TMP, "LANG": "C.UTF-8", "TMPDIR": TMP}
STDERR_EXCERPT = 4096
ERROR_EXCERPT = 4000  # characters of a call's exception text passed on
_GRACE_S = 0.05  # after the main process exits, how long to drain what it left in the pipes
_TEMPLATE_S = 5.0  # a fork request answered later than this means the template is broken
_MEMORY_SLACK = 96 << 20  # growth over the start baseline that reset still calls clean
_PID = struct.Struct("q")
_EXIT = struct.Struct("iddq")  # wait status, user and system CPU seconds, max RSS in kB
_libc = ctypes.CDLL(None, use_errno=True)


def _undumpable():
    """Same-uid processes may not open /proc/1/fd or /proc/1/mem of a non-dumpable process
    (nor ptrace it); the template and its children inherit this."""
    if _libc.prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE = 4
        print("supervisor: prctl(PR_SET_DUMPABLE, 0) failed", file=sys.stderr)


def _catchable():
    skip = {signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD}
    return [s for s in signal.valid_signals() if s not in skip]


def _ignore_signals():
    """PID 1 with a handler receives the signal; ignored, the kernel drops it. SIGCHLD
    keeps its default so children can still be waited for."""
    for sig in _catchable():
        with contextlib.suppress(OSError, ValueError):
            signal.signal(sig, signal.SIG_IGN)


def _default_signals(python):
    """Ignored dispositions survive fork and exec: give a child the usual ones back."""
    for sig in _catchable():
        with contextlib.suppress(OSError, ValueError):
            signal.signal(sig, signal.SIG_DFL)
    if python:  # what a fresh python3 has
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _limits(limits, python=False, signals=True):
    """The child's hard limits (and default signals), set between fork and run/exec;
    ``limits`` is a wire.RunLimits."""
    cpu = max(1, int(limits.cpu_s + 0.999))
    memory = limits.memory_bytes
    files = limits.file_bytes
    stack = limits.stack_bytes
    processes = limits.processes
    table = [
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_FSIZE, files, files),
        (resource.RLIMIT_NOFILE, 256, 256),
        (resource.RLIMIT_NPROC, processes, processes),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_STACK, stack, stack),
    ]
    if memory:
        table.append((resource.RLIMIT_AS, memory, memory))

    def apply():
        os.setsid()
        if signals:
            _default_signals(python)
        for which, soft, hard in table:
            resource.setrlimit(which, (soft, hard))

    return apply


def _others(keep=()):
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and p != "1" and int(p) not in keep]


def kill_all(keep=()):
    """Kill every process but this one and ``keep``, then reap them all.

    Stopping everything first (one ``kill(-1)``, atomic against fork) means nothing can
    fork while the others are killed one by one; the kept ones are then continued."""
    if not _others(keep):
        return  # nothing but us and the kept: nobody left who could fork
    with contextlib.suppress(ProcessLookupError):
        os.kill(-1, signal.SIGSTOP)
    for pid in _others(keep):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in keep:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    deadline = time.monotonic() + 2
    pause = 0.0001
    while time.monotonic() < deadline:
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        if not _others(keep):
            return
        time.sleep(pause)
        pause = min(pause * 2, 0.005)


# --------------------------------------------------------------------------- the template


class TemplateBroken(Exception):
    """The template process died, stopped or stopped answering: the box needs replacing."""


class Usage:
    """The part of ``struct rusage`` a result reports."""

    def __init__(self, utime, stime, maxrss):
        self.ru_utime, self.ru_stime, self.ru_maxrss = utime, stime, maxrss


class Template:
    """The pristine process every Python child is forked from (see the module docstring).

    The supervisor sends it one message per child, ``F`` with the child's pipes attached
    (SCM_RIGHTS); it forks, answers with the child's pid, waits for the child and sends
    its exit status and resource usage. One child at a time: the supervisor collects
    each child's exit (:meth:`reap`) before it asks for the next."""

    def __init__(self):
        self.sock, peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.pid = os.fork()
        if self.pid == 0:
            self.sock.close()
            _template_main(peer)
        peer.close()
        self.broken = ""

    def spawn(self, fds, timeout):
        if self.broken:
            raise TemplateBroken(self.broken)
        try:
            self.sock.settimeout(timeout)
            socket.send_fds(self.sock, [b"F"], fds)
            reply = self.sock.recv(64)
        except OSError as error:  # timeout, or the template is gone
            self.broken = f"the process template failed: {error or type(error).__name__}"
            raise TemplateBroken(self.broken) from None
        if len(reply) != _PID.size:
            self.broken = "the process template is gone"
            raise TemplateBroken(self.broken)
        (pid,) = _PID.unpack(reply)
        if pid < 0:
            raise OSError(-pid, f"could not start the program: {os.strerror(-pid)}")
        return pid

    def reap(self, pid, timeout):
        """(status, usage) of child ``pid``, which has exited or been killed; None when
        neither the template nor we could collect it."""
        if not self.broken:
            try:
                self.sock.settimeout(timeout)
                data = self.sock.recv(64)
                if len(data) == _EXIT.size:
                    status, utime, stime, maxrss = _EXIT.unpack(data)
                    return status, Usage(utime, stime, maxrss)
                self.broken = "the process template is gone"
            except OSError as error:
                self.broken = f"the process template failed: {error or type(error).__name__}"
        # The template died (then the child is ours, once the kernel has reparented it)
        # or is stuck (then nobody can collect it): try ourselves until the timeout.
        deadline = time.monotonic() + timeout
        while True:
            try:
                done, status, usage = os.wait4(pid, os.WNOHANG)
                if done:
                    return status, usage
            except ChildProcessError:
                pass
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.001)

    def alive(self):
        """Running or sleeping (kill_all continued it if it had been stopped)."""
        if self.broken:
            return False
        try:
            with open(f"/proc/{self.pid}/stat") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            state = "gone"
        if state in ("R", "S"):
            return True
        self.broken = f"the process template is not running (state {state})"
        return False


def _template_main(peer):
    try:
        # A child starts with the template's signal dispositions: give it python3's own
        # once here. (Signals can kill the template; so can SIGKILL: either way the box
        # is replaced and the program that did it charged.)
        _default_signals(python=True)
        # Objects that exist now are never collected in a child, so its collector does
        # not touch (and copy) every page it shares with the template.
        gc.freeze()
        null = os.open("/dev/null", os.O_RDWR)
        os.dup2(null, 0)  # the host channel is the supervisor's alone
        os.dup2(null, 1)
        for entry in os.listdir("/proc/self/fd"):
            fd = int(entry)
            if fd > 2 and fd != peer.fileno():
                with contextlib.suppress(OSError):
                    os.close(fd)
        while True:
            message, fds, _, _ = socket.recv_fds(peer, 16, 8)
            if not message:
                os._exit(0)
            if message != b"F":
                continue
            try:
                child = os.fork()
            except OSError as error:
                child = -error.errno
            if child == 0:
                peer.detach()  # closed by number in _child; its object must never close a reused fd
                _child(fds)
            for fd in fds:
                os.close(fd)
            peer.send(_PID.pack(child))
            if child > 0:
                _, status, usage = os.wait4(child, 0)
                peer.send(_EXIT.pack(status, usage.ru_utime, usage.ru_stime, usage.ru_maxrss))
    except BaseException:
        os._exit(1)


def _child(fds):
    """A fresh copy of the template: takes its pipes as 0, 1, 2, 3 (the job, then call
    requests) and 4 (call replies), reads its job, takes its limits, runs. Never returns."""
    code = 1
    try:
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 64) for fd in fds]
        for number, fd in enumerate(high):
            os.dup2(fd, number)
        os.closerange(len(high), 1 << 16)
        job = wire.Job.from_dict(wire.parse(wire.read_raw(3, 1 << 20)))
        os.chdir(job.cwd)
        os.environ.clear()
        os.environ.update(ENV)
        _limits(job.limits, python=True, signals=False)()
        if job.mode == "call":
            code = harness.serve(job.path, job.entry, 3, 4, job.nonce)
        else:
            os.close(3)
            code = _run_script(job.path)
    except SystemExit as exit_:
        code = _exit_code(exit_)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            import atexit

            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        os._exit(code if isinstance(code, int) else 1)


def _exit_code(exit_):
    if exit_.code is None:
        return 0
    if isinstance(exit_.code, int):
        return exit_.code & 0xFF
    print(exit_.code, file=sys.stderr)
    return 1


def _run_script(path):
    """What ``python3 path`` does, in a child of the template."""
    sys.argv = [path]
    sys.path[0] = os.getcwd()
    runpy.run_path(path, run_name="__main__")
    return 0


class Child:
    """A running child and our ends of its pipes."""

    def __init__(self, pid, stdin, stdout, stderr, requests=None, replies=None):
        self.pid = pid
        self.stdin = os.fdopen(stdin, "wb", buffering=0)
        self.stdout = os.fdopen(stdout, "rb", buffering=0)
        self.stderr = os.fdopen(stderr, "rb", buffering=0)
        self.requests, self.replies = requests, replies
        self.reaped = False
        self.outcome = None

    def close(self):
        for stream in (self.stdin, self.stdout, self.stderr):
            with contextlib.suppress(OSError):
                stream.close()
        for fd in (self.requests, self.replies):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)


def start_python(template, job, call):
    """A Python child of the template running ``job`` (a wire.Job); raises OSError or
    TemplateBroken."""
    pipes = [os.pipe() for _ in range(5 if call else 4)]
    (in_r, in_w), (out_r, out_w), (err_r, err_w), (job_r, job_w) = pipes[:4]
    theirs = [in_r, out_w, err_w, job_r]
    ours = [in_w, out_r, err_r, job_w]
    if call:
        theirs.append(pipes[4][1])
        ours.append(pipes[4][0])
    try:
        wire.write_frame(job_w, job.to_dict())  # a few hundred bytes: fits in the pipe
        pid = template.spawn(theirs, _TEMPLATE_S)
    except BaseException:
        for fd in ours:
            os.close(fd)
        raise
    finally:
        for fd in theirs:
            os.close(fd)
    if not call:
        os.close(job_w)
        return Child(pid, in_w, out_r, err_r)
    return Child(pid, in_w, out_r, err_r, job_w, pipes[4][0])


def _spawn(argv, cwd, limits):
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
        close_fds=True,
        preexec_fn=_limits(limits),
    )
    return proc


# --------------------------------------------------------------------------- streams


class Streams:
    """Drains a child's stdout and stderr concurrently, capping the total as it streams."""

    def __init__(self, proc, cap):
        self.selector = selectors.DefaultSelector()
        self.out, self.err = bytearray(), bytearray()
        self.total = 0
        self.cap = cap
        self.exceeded = False
        for stream, buffer in ((proc.stdout, self.out), (proc.stderr, self.err)):
            os.set_blocking(stream.fileno(), False)
            self.selector.register(stream.fileno(), selectors.EVENT_READ, buffer)

    def pump(self, timeout, extra=None):
        """Move bytes for up to ``timeout`` seconds; returns events on ``extra`` fds."""
        ready = []
        for key, events in self.selector.select(timeout):
            if extra is not None and key.fd in extra:
                ready.append((key, events))
                continue
            self._read(key)
        return ready

    def _read(self, key):
        try:
            chunk = os.read(key.fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.selector.unregister(key.fd)
            return
        self.total += len(chunk)
        if self.total > self.cap:
            self.exceeded = True
        buffer = key.data
        if buffer is self.err:
            if len(buffer) < STDERR_EXCERPT:
                buffer.extend(chunk[: STDERR_EXCERPT - len(buffer)])
        elif not self.exceeded:
            buffer.extend(chunk)

    def close(self):
        self.selector.close()

    def open_count(self, ignore=()):
        return sum(1 for key in self.selector.get_map().values() if key.fd not in ignore)

    def stderr(self):
        return self.err.decode("utf-8", "replace")


class Exit:
    """How a child ended: what a RunResult or a crashed CallReply reports of it."""

    def __init__(self, exit_code=None, signal_=None, wall_s=0.0, cpu_s=0.0, max_rss_kb=0):
        self.exit_code, self.signal = exit_code, signal_
        self.wall_s, self.cpu_s, self.max_rss_kb = wall_s, cpu_s, max_rss_kb


def _exit_info(status, usage, started):
    signaled = os.WIFSIGNALED(status)
    return Exit(
        exit_code=None if signaled else os.WEXITSTATUS(status),
        signal_=os.WTERMSIG(status) if signaled else None,
        wall_s=round(time.monotonic() - started, 4),
        cpu_s=round(usage.ru_utime + usage.ru_stime, 4),
        max_rss_kb=usage.ru_maxrss,
    )


def _spawn_failed(error):
    return wire.RunResult(
        exit_code=None,
        signal=None,
        timed_out=False,
        output_exceeded=False,
        stdout=b"",
        stderr="",
        wall_s=0.0,
        cpu_s=0.0,
        max_rss_kb=0,
        spawn_error=str(error),
    )


# --------------------------------------------------------------------------- reset helpers


def _remove_sysv_ipc():
    """Remove every SysV shared-memory segment, message queue and semaphore set of this
    IPC namespace (the container's own). Returns what could not be removed."""
    problems = []
    for kind, remove in (
        ("shm", lambda ident: _libc.shmctl(ident, 0, None)),  # IPC_RMID = 0
        ("msg", lambda ident: _libc.msgctl(ident, 0, None)),
        ("sem", lambda ident: _libc.semctl(ident, 0, 0)),
    ):
        found = _ipc_ids(kind)
        for ident in found:
            remove(ident)
        left = _ipc_ids(kind) if found else []
        if left:
            problems.append(f"SysV {kind} objects survived: {left[:5]}")
    return problems


def _ipc_ids(kind):
    try:
        with open(f"/proc/sysvipc/{kind}") as handle:
            lines = handle.read().splitlines()[1:]
    except OSError:
        return []
    return [int(line.split()[1]) for line in lines if line.strip()]


def _held_memory():
    """Bytes the box's memory cgroup holds that no cache reclaim would free: anonymous
    memory plus tmpfs/shared memory (page cache of read files is left out)."""
    for path, keys in (
        ("/sys/fs/cgroup/memory.stat", ("anon", "shmem")),  # cgroup v2
        ("/sys/fs/cgroup/memory/memory.stat", ("rss", "shmem")),  # cgroup v1
    ):
        try:
            with open(path) as handle:
                stat = dict(line.split() for line in handle if line.strip())
        except (OSError, ValueError):
            continue
        try:
            return sum(int(stat[key]) for key in keys)
        except (KeyError, ValueError):
            continue
    return None


def _force_remove(path):
    def make_writable(function, failed, _):
        try:
            os.chmod(os.path.dirname(failed), 0o700)
            os.chmod(failed, 0o700)
            function(failed)
        except OSError:
            pass

    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, onerror=make_writable)
    else:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _listdir(root):
    try:
        return os.listdir(root)
    except OSError:
        return []


def _complete(buffer):
    return len(buffer) >= 4 and len(buffer) >= 4 + int.from_bytes(buffer[:4], "big")


def _child_cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


# --------------------------------------------------------------------------- the supervisor


class Loaded:
    """The program ``call_open`` loaded: its harness process and call channel."""

    def __init__(self, proc, streams, exit_fd, started, limits, value_bytes):
        self.proc, self.streams, self.exit_fd = proc, streams, exit_fd
        self.started, self.limits, self.value_bytes = started, limits, value_bytes
        self.buffer = bytearray()  # reply bytes read, not yet a whole frame
        self.closed = False  # the program closed its end of the reply channel


class Supervisor:
    def __init__(self, template):
        self.template = template
        self.count = 0
        self.dir = None
        self.harness = None
        self.baseline = _held_memory()

    @property
    def keep(self):
        return (self.template.pid,)

    # ---------------------------------------------------------------- requests

    def prepare(self, request):
        # The pool reset the box after its last submission and found it clean; only a
        # new box's first submission, or a retry, finds anything here.
        self._close_harness()
        kill_all(self.keep)
        for root in (WORK, TMP):
            for name in _listdir(root):
                _force_remove(os.path.join(root, name))
        self.count += 1
        self.dir = os.path.join(WORK, f"s{self.count}")
        os.mkdir(self.dir, 0o700)
        for name, content in request.files.items():
            if not name or "/" in name or name.startswith("."):
                return wire.PrepareReply(ok=False, error=f"bad file name {name!r}")
            with open(os.path.join(self.dir, name), "w", encoding="utf-8", errors="surrogatepass") as out:
                out.write(content)
        if not request.compile:
            return wire.PrepareReply(ok=True)
        result = self._run(request.compile, "", request.compile_limits)
        kill_all(self.keep)
        compiled = result.exit_code == 0 and not result.timed_out and not result.output_exceeded
        return wire.PrepareReply(ok=compiled, compile=result)

    def run(self, request):
        target = request.python if request.python is not None else request.argv
        result = self._run(target, request.stdin, request.limits)
        kill_all(self.keep)  # daemons, double forks and setsid children die with their test
        return result

    def _run(self, argv, stdin_text, limits):
        started = time.monotonic()
        try:
            if isinstance(argv, str):  # a Python script, run in a child of the template
                job = wire.Job(mode="run", cwd=self.dir, path=argv, limits=limits)
                proc = start_python(self.template, job, call=False)
            else:
                proc = _spawn(argv, self.dir, limits)
        except (OSError, TemplateBroken) as error:
            return _spawn_failed(error)
        streams = Streams(proc, limits.output_bytes)
        stdin_fd = proc.stdin.fileno()
        os.set_blocking(stdin_fd, False)
        pending = memoryview(stdin_text.encode("utf-8", "surrogatepass"))
        if pending:
            streams.selector.register(stdin_fd, selectors.EVENT_WRITE, None)
        else:
            proc.stdin.close()
        exit_fd = os.pidfd_open(proc.pid)
        streams.selector.register(exit_fd, selectors.EVENT_READ, None)
        deadline = started + limits.wall_s
        timed_out, exited_at = False, None
        while True:
            now = time.monotonic()
            if exited_at is not None and (now - exited_at > _GRACE_S or streams.open_count({exit_fd}) == 0):
                break
            if now >= deadline:
                timed_out = exited_at is None
                break
            if streams.exceeded:
                break
            for key, _ in streams.pump(min(0.05, deadline - now), extra={stdin_fd, exit_fd}):
                if key.fd == exit_fd:
                    streams.selector.unregister(exit_fd)
                    exited_at = time.monotonic()
                    continue
                try:
                    written = os.write(stdin_fd, pending[:65536])
                    pending = pending[written:]
                except (BrokenPipeError, BlockingIOError, OSError):
                    pending = pending[:0]
                if not pending:
                    streams.selector.unregister(stdin_fd)
                    proc.stdin.close()
        if exited_at is None:  # still running: timed out or flooding; the rest die in kill_all
            signal.pidfd_send_signal(exit_fd, signal.SIGKILL)  # never a reused pid
        outcome = self._collect(proc)
        streams.close()
        os.close(exit_fd)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                stream.close()
        if outcome is None:
            spawn_error = self.template.broken or "the program's exit could not be collected"
            end = Exit()
        else:
            spawn_error, end = None, _exit_info(*outcome, started)
        return wire.RunResult(
            exit_code=end.exit_code,
            signal=end.signal,
            timed_out=timed_out,
            output_exceeded=streams.exceeded,
            stdout=bytes(streams.out),
            stderr=streams.stderr(),
            wall_s=end.wall_s,
            cpu_s=end.cpu_s,
            max_rss_kb=end.max_rss_kb,
            spawn_error=spawn_error,
        )

    def call_open(self, request):
        self._close_harness()
        limits = request.limits
        nonce = os.urandom(wire.NONCE_BYTES // 2).hex()
        started = time.monotonic()
        job = wire.Job(
            mode="call", cwd=self.dir, path=request.source, entry=request.entry, nonce=nonce, limits=limits
        )
        try:
            proc = start_python(self.template, job, call=True)
        except (OSError, TemplateBroken) as error:
            return wire.CallReply(crashed=True, spawn_error=str(error))
        proc.stdin.close()  # calls take no stdin
        streams = Streams(proc, limits.output_bytes)
        exit_fd = os.pidfd_open(proc.pid)
        os.set_blocking(proc.replies, False)
        os.set_blocking(proc.requests, False)
        streams.selector.register(proc.replies, selectors.EVENT_READ, None)
        streams.selector.register(exit_fd, selectors.EVENT_READ, None)
        self.harness = Loaded(proc, streams, exit_fd, started, limits, request.value_bytes)
        return self._reply(nonce, limits.wall_s, b"")

    def call(self, request):
        h = self.harness
        if h is None:
            return wire.CallReply(crashed=True, error="no program is loaded")
        if h.buffer:
            return self._crashed("the program wrote to its call channel without being asked")
        # A fresh nonce per call: a reply written ahead of time (before the question was
        # known) cannot be taken for the answer.
        nonce = os.urandom(wire.NONCE_BYTES // 2).hex()
        body = wire.COMPACT.encode(wire.HarnessCall(args=request.args, nonce=nonce).to_dict())
        wall_s = h.limits.wall_s if request.wall_s is None else request.wall_s
        return self._reply(nonce, wall_s, wire.frame(body.encode()))

    def _reply(self, nonce, wall_s, pending):
        """Send ``pending`` and wait for the reply that carries ``nonce``, never longer
        than ``wall_s``; whatever the program does instead is charged to it."""
        h = self.harness
        proc, streams, exit_fd = h.proc, h.streams, h.exit_fd
        deadline = time.monotonic() + wall_s
        pending = memoryview(pending)
        if pending:  # a request fits the pipe unless the program stopped reading
            try:
                pending = pending[os.write(proc.requests, pending) :]
            except BlockingIOError:
                pass
            except OSError:
                return self._gone(exit_fd, "the program closed its call channel")
            if pending:
                streams.selector.register(proc.requests, selectors.EVENT_WRITE, None)
        extra = {proc.replies, proc.requests, exit_fd}
        closed = False  # the program closed its end of the reply channel
        try:
            while True:
                try:
                    body = wire.take_frame(h.buffer, h.value_bytes + wire.NONCE_BYTES + 1)
                except wire.TooLarge as error:
                    return wire.CallReply(too_large=str(error))
                if body is not None:
                    return self._answer(nonce, body)
                now = time.monotonic()
                if now >= deadline:
                    if closed:
                        return self._crashed("the program closed its reply channel")
                    return wire.CallReply(timed_out=True)
                if streams.exceeded:
                    return wire.CallReply(output_exceeded=True)
                for key, _ in streams.pump(min(0.05, deadline - now), extra=extra):
                    if key.fd == exit_fd:
                        # Take what it wrote before it exited (bounded: a descendant may
                        # still hold the channel open without writing).
                        before = -1
                        while len(h.buffer) != before and not _complete(h.buffer):
                            before = len(h.buffer)
                            if not self._drain(h) or before > h.value_bytes + (1 << 20):
                                break
                        if _complete(h.buffer):
                            continue  # answer what it sent before it exited
                        return self._dead()
                    if key.fd == proc.requests:
                        try:
                            pending = pending[os.write(proc.requests, pending[:65536]) :]
                        except BlockingIOError:
                            continue
                        except OSError:  # it closed its request channel, or exited
                            return self._gone(exit_fd, "the program closed its call channel")
                        if not pending:
                            streams.selector.unregister(proc.requests)
                        continue
                    if not self._drain(h) and not closed:
                        closed = True  # from now on wait (bounded) for it to exit
                        streams.selector.unregister(proc.replies)
        finally:
            if pending:
                with contextlib.suppress(KeyError, ValueError):
                    streams.selector.unregister(proc.requests)
            if closed:
                h.closed = True

    def _drain(self, h):
        """Read what the reply channel holds now (one read: a longer frame makes the
        channel readable again); False once it is closed."""
        if h.closed:
            return False
        try:
            chunk = os.read(h.proc.replies, 1 << 20)
        except BlockingIOError:
            return True
        except OSError:
            chunk = b""
        if not chunk:
            h.closed = True
            return False
        h.buffer.extend(chunk)
        return True

    def _gone(self, exit_fd, message):
        if select.select([exit_fd], [], [], 0.05)[0]:
            return self._dead()
        return self._crashed(message)

    def _answer(self, nonce, body):
        try:
            got, kind, payload = wire.split_reply(body)
        except wire.ProtocolError as error:
            return self._crashed(f"the program corrupted its call channel ({error})")
        if got != nonce:
            return self._crashed("a reply did not answer its call (stale or forged)")
        if kind == wire.LOADED:
            return wire.CallReply(loaded=True)
        if kind == wire.VALUE:  # still encoded: the host decodes it, with its bounds
            return wire.CallReply(value=payload)
        text = payload[-ERROR_EXCERPT * 4 :].decode("utf-8", "replace")[-ERROR_EXCERPT:]
        if kind == wire.NOT_LOADED:
            return wire.CallReply(loaded=False, error=text)
        if kind == wire.RAISED:
            return wire.CallReply(error=text)
        return self._crashed("the program corrupted its call channel (unknown reply kind)")

    def _crashed(self, message):
        h = self.harness
        return wire.CallReply(crashed=True, error=message, stderr=h.streams.stderr())

    def _collect(self, proc):
        """(status, usage) of a child that has exited or was killed; None if lost."""
        if isinstance(proc, Child):
            if not proc.reaped:  # the template reports each child's exit once
                proc.reaped = True
                proc.outcome = self.template.reap(proc.pid, 2.0)
            return proc.outcome
        _, status, usage = os.wait4(proc.pid, 0)
        return status, usage

    def _dead(self):
        """The program exited: its status, usage and stderr."""
        h = self.harness
        outcome = self._collect(h.proc)
        end = Exit() if outcome is None else _exit_info(*outcome, h.started)
        h.streams.pump(0)
        return wire.CallReply(
            crashed=True,
            stderr=h.streams.stderr(),
            exit_code=end.exit_code,
            signal=end.signal,
            wall_s=end.wall_s,
            cpu_s=end.cpu_s,
            max_rss_kb=end.max_rss_kb,
        )

    def call_close(self, request):
        cpu_s = None if self.harness is None else _child_cpu(self.harness.proc.pid)
        self._close_harness()
        return wire.CloseReply(cpu_s=cpu_s)

    def _close_harness(self):
        if self.harness is None:
            return
        h, self.harness = self.harness, None
        h.proc.close()
        h.streams.close()
        with contextlib.suppress(OSError):
            os.close(h.exit_fd)
        kill_all(self.keep)
        if not h.proc.reaped:  # the template reaped it: take its report off the channel
            self._collect(h.proc)

    def reset(self, request):
        self._close_harness()
        kill_all(self.keep)
        problems = []
        for root in (WORK, TMP, SHM, MQUEUE):
            for name in _listdir(root):
                path = os.path.join(root, name)
                _force_remove(path)
                if os.path.lexists(path):
                    problems.append(f"could not remove {path}")
        problems += _remove_sysv_ipc()
        survivors = _others(self.keep)
        if survivors:
            problems.append(f"processes survived: {survivors}")
        if not self.template.alive():
            problems.append(self.template.broken)
        held = _held_memory()
        if held is not None and self.baseline is not None and held > self.baseline + _MEMORY_SLACK:
            problems.append(f"memory not released: {held >> 20} MB held, {self.baseline >> 20} MB at start")
        self.dir = None
        return wire.ResetReply(clean=not problems, problems=problems)

    def fds(self, request):
        out = {}
        for e in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                out[e] = os.readlink(f"/proc/self/fd/{e}")
        return wire.FdsReply(out)

    def hello(self, request):
        return wire.HelloReply(
            pid=os.getpid(),
            uid=os.getuid(),
            python=sys.version.split()[0],
            template=self.template.pid,
            memory_baseline=self.baseline,
        )


def main():
    _undumpable()
    _ignore_signals()
    template = Template()  # before the first request: it must never see a job's data
    supervisor = Supervisor(template)
    handlers = {
        wire.Prepare: supervisor.prepare,
        wire.Run: supervisor.run,
        wire.CallOpen: supervisor.call_open,
        wire.Call: supervisor.call,
        wire.CallClose: supervisor.call_close,
        wire.Reset: supervisor.reset,
        wire.Hello: supervisor.hello,
        wire.Fds: supervisor.fds,
    }
    assert set(handlers) == set(wire.REQUESTS.values())
    while True:
        try:
            frame = wire.read_frame(CHANNEL_IN)
        except (EOFError, wire.ProtocolError):
            return  # the host went away or broke the protocol: the box is replaced
        try:
            request = wire.parse_request(frame)
        except wire.ProtocolError as error:  # nothing ran: a fault reply is enough
            wire.write_frame(CHANNEL_OUT, wire.FaultReply(str(error)[:500]).to_dict())
            continue
        try:
            reply = handlers[type(request)](request).to_dict()
        except BaseException as error:  # PID 1 must never die; the host replaces the box
            with contextlib.suppress(BaseException):
                kill_all(supervisor.keep)
            reply = wire.FaultReply(f"{type(error).__name__}: {str(error)[:500]}").to_dict()
        wire.write_frame(CHANNEL_OUT, reply)


if __name__ == "__main__":
    main()
