#!/usr/bin/env python3
"""The in-container supervisor: PID 1 of every sandbox container.

Stdlib only; mounted read-only at /opt/verirl. The host talks to it over the
container's attached stdin/stdout (length-prefixed JSON frames, see wire.py), so the hot
path makes no Docker API call. Each request is one of:

* ``prepare``  — wipe, write the submission's files into a fresh directory, compile;
* ``run``      — run a command with stdin under limits, return its output;
* ``call_open`` / ``call`` / ``call_close`` — load a Python program in a harness process
  and call one of its functions with plain-data arguments (wire.encode);
* ``reset``    — kill everything, wipe /work and /tmp, report whether the box is clean;
* ``hello`` / ``fds`` — diagnostics (identity; the supervisor's open descriptors).

Why PID 1: the kernel drops signals sent to a namespace's init from inside it unless
init handles them, so a candidate's ``kill -9 1`` or ``kill -1`` cannot kill the
supervisor; and ``kill(-1, SIGKILL)`` from PID 1 kills every other process in the
container, so a double fork or ``setsid`` cannot outlive its test.
"""

import ctypes
import json
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, "/opt/verirl")
# Imported once here so forked Python children find them warm (as a warm interpreter
# harness would); they are what typical solutions import.
import bisect  # noqa: F401
import contextlib

import harness
import wire

CHANNEL_IN, CHANNEL_OUT = 0, 1
WORK, TMP = "/work", "/tmp"
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": TMP, "LANG": "C.UTF-8", "TMPDIR": TMP}
STDERR_EXCERPT = 4096
_GRACE_S = 0.05  # after the main process exits, how long to drain what it left in the pipes


def _undumpable():
    """Same-uid processes may not open /proc/1/fd or /proc/1/mem of a non-dumpable process."""
    if ctypes.CDLL(None).prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE = 4
        print("supervisor: prctl(PR_SET_DUMPABLE, 0) failed", file=sys.stderr)


def _limits(limits):
    """The child's hard limits, set between fork and exec."""
    cpu = max(1, int(limits.get("cpu_s", 5) + 0.999))
    memory = limits.get("memory_bytes")
    table = [
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (
            resource.RLIMIT_FSIZE,
            limits.get("file_bytes", 64 << 20),
            limits.get("file_bytes", 64 << 20),
        ),
        (resource.RLIMIT_NOFILE, 256, 256),
        (resource.RLIMIT_NPROC, limits.get("processes", 64), limits.get("processes", 64)),
        (resource.RLIMIT_CORE, 0, 0),
        (
            resource.RLIMIT_STACK,
            limits.get("stack_bytes", 256 << 20),
            limits.get("stack_bytes", 256 << 20),
        ),
    ]
    if memory:
        table.append((resource.RLIMIT_AS, memory, memory))

    def apply():
        os.setsid()
        for which, soft, hard in table:
            resource.setrlimit(which, (soft, hard))

    return apply


def kill_all():
    """Kill every process but this one, then reap them all."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(-1, signal.SIGKILL)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.001)


def _others():
    return [p for p in os.listdir("/proc") if p.isdigit() and p != "1"]


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
        """Close the epoll object now: a forked child must never inherit a live one whose
        later garbage collection would close a descriptor number the child reused."""
        self.selector.close()

    def open_count(self, ignore=()):
        return sum(1 for key in self.selector.get_map().values() if key.fd not in ignore)

    def result(self):
        return {
            "stdout": self.out.decode("utf-8", "replace"),
            "stdout_invalid_utf8": _invalid_utf8(self.out),
            "stderr": self.err.decode("utf-8", "replace"),
            "output_exceeded": self.exceeded,
        }


def _invalid_utf8(data):
    try:
        data.decode("utf-8")
        return False
    except UnicodeDecodeError:
        return True


class Forked:
    """A Python child forked from this warm interpreter, without exec: it starts in about
    a millisecond instead of the ~20 ms of a new interpreter. Before running anything it
    replaces stdin/stdout/stderr with its own pipes, closes every other descriptor of
    ours (the channel to the host among them), and takes the same limits and
    environment as an exec'd child."""

    def __init__(self, cwd, limits, run, keep=()):
        pipes = [os.pipe() for _ in range(3)]
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            _child(cwd, limits, run, keep, pipes)
        (in_r, in_w), (out_r, out_w), (err_r, err_w) = pipes
        for fd in (in_r, out_w, err_w):
            os.close(fd)
        self.stdin = os.fdopen(in_w, "wb", buffering=0)
        self.stdout = os.fdopen(out_r, "rb", buffering=0)
        self.stderr = os.fdopen(err_r, "rb", buffering=0)


def _child(cwd, limits, run, keep, pipes):
    code = 1
    try:
        (in_r, _), (_, out_w), (_, err_w) = pipes
        os.dup2(in_r, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        for entry in os.listdir("/proc/self/fd"):
            fd = int(entry)
            if fd > 2 and fd not in keep:
                with contextlib.suppress(OSError):
                    os.close(fd)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(ENV)
        _limits(limits)()
        code = run()
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
    """What ``python3 path`` does, in a forked child."""
    import runpy

    sys.argv = [path]
    sys.path[0] = os.getcwd()
    runpy.run_path(path, run_name="__main__")
    return 0


def _spawn(argv, cwd, limits, pass_fds=()):
    return subprocess.Popen(
        argv,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
        close_fds=True,
        pass_fds=pass_fds,
        preexec_fn=_limits(limits),
    )


def _exit_info(status, usage, started):
    info = {
        "wall_s": round(time.monotonic() - started, 4),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 4),
    }
    info["max_rss_kb"] = usage.ru_maxrss
    if os.WIFSIGNALED(status):
        info["signal"] = os.WTERMSIG(status)
        info["exit_code"] = None
    else:
        info["signal"] = None
        info["exit_code"] = os.WEXITSTATUS(status)
    return info


class Supervisor:
    def __init__(self):
        self.count = 0
        self.dir = None
        self.harness = None

    # ---------------------------------------------------------------- requests

    def prepare(self, request):
        self.reset({})
        self.count += 1
        self.dir = os.path.join(WORK, f"s{self.count}")
        os.mkdir(self.dir, 0o700)
        for name, content in request["files"].items():
            if "/" in name or name.startswith("."):
                return {"ok": False, "error": f"bad file name {name!r}"}
            with open(os.path.join(self.dir, name), "w", encoding="utf-8") as handle:
                handle.write(content)
        if not request.get("compile"):
            return {"ok": True}
        result = self._run(request["compile"], "", request["compile_limits"])
        kill_all()
        compiled = result["exit_code"] == 0 and not result["timed_out"] and not result["output_exceeded"]
        return {"ok": compiled, "compile": result}

    def run(self, request):
        target = request.get("python") or request["argv"]
        result = self._run(target, request.get("stdin", ""), request["limits"])
        kill_all()  # daemons, double forks and setsid children die with their test
        return result

    def _run(self, argv, stdin_text, limits):
        started = time.monotonic()
        try:
            if isinstance(argv, str):  # a Python script, run in a warm fork
                proc = Forked(self.dir, limits, lambda: _run_script(argv))
            else:
                proc = _spawn(argv, self.dir, limits)
        except OSError as error:
            return {
                "spawn_error": str(error),
                "exit_code": None,
                "signal": None,
                "timed_out": False,
                "output_exceeded": False,
                "stdout": "",
                "stderr": "",
                "wall_s": 0,
                "cpu_s": 0,
                "max_rss_kb": 0,
            }
        streams = Streams(proc, limits.get("output_bytes", 8 << 20))
        stdin_fd = proc.stdin.fileno()
        os.set_blocking(stdin_fd, False)
        pending = memoryview(stdin_text.encode())
        if pending:
            streams.selector.register(stdin_fd, selectors.EVENT_WRITE, None)
        else:
            proc.stdin.close()
        exit_fd = os.pidfd_open(proc.pid)
        streams.selector.register(exit_fd, selectors.EVENT_READ, None)
        deadline = started + limits.get("wall_s", 5)
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
            os.kill(proc.pid, signal.SIGKILL)
        _, status, usage = os.wait4(proc.pid, 0)
        streams.close()
        os.close(exit_fd)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                stream.close()
        result = _exit_info(status, usage, started)
        result.update(streams.result())
        result["timed_out"] = timed_out
        return result

    def call_open(self, request):
        self._close_harness()
        limits = request["limits"]
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        started = time.monotonic()
        source, entry = request["source"], request["entry"]
        proc = Forked(
            self.dir,
            limits,
            lambda: harness.serve(source, entry, req_r, rep_w),
            keep=(req_r, rep_w),
        )
        proc.stdin.close()
        os.close(req_r)
        os.close(rep_w)
        os.set_blocking(rep_r, False)
        streams = Streams(proc, limits.get("output_bytes", 8 << 20))
        streams.selector.register(rep_r, selectors.EVENT_READ, None)
        self.harness = {
            "proc": proc,
            "req": req_w,
            "rep": rep_r,
            "buffer": bytearray(),
            "streams": streams,
            "started": started,
            "limits": limits,
        }
        return self._reply(limits.get("wall_s", 5))

    def call(self, request):
        if self.harness is None:
            return {"error": "no program is loaded", "crashed": True}
        # A fresh nonce per call: a reply written ahead of time (before the question was
        # known) cannot be taken for the answer.
        nonce = os.urandom(8).hex()
        try:
            wire.write_frame(self.harness["req"], {"args": request["args"], "nonce": nonce})
        except OSError:
            return self._dead()
        reply = self._reply(request.get("wall_s", self.harness["limits"].get("wall_s", 5)))
        if ("value" in reply or "error" in reply) and reply.pop("nonce", None) != nonce:
            return {"error": "a reply did not answer its call (stale or forged)", "crashed": True}
        return reply

    def _reply(self, wall_s):
        h = self.harness
        deadline = time.monotonic() + wall_s
        while True:
            frame = _take_frame(h["buffer"])
            if frame is not None:
                return frame
            now = time.monotonic()
            if now >= deadline:
                return {"timed_out": True}
            if h["streams"].exceeded:
                return {"output_exceeded": True}
            for _key, _ in h["streams"].pump(min(0.05, deadline - now), extra={h["rep"]}):
                try:
                    chunk = os.read(h["rep"], 1 << 20)
                except BlockingIOError:
                    continue
                if not chunk:
                    return self._dead()
                h["buffer"].extend(chunk)
                if len(h["buffer"]) > wire.MAX_FRAME:
                    return {"error": "reply too large", "crashed": True}

    def _dead(self):
        h = self.harness
        try:
            _, status, usage = os.wait4(h["proc"].pid, 0)
            info = _exit_info(status, usage, h["started"])
        except ChildProcessError:
            info = {}
        return {"crashed": True, **info, "stderr": h["streams"].err.decode("utf-8", "replace")}

    def call_close(self, request):
        result = {}
        if self.harness is not None:
            h = self.harness
            h["streams"].pump(0)
            result = h["streams"].result()
            result["cpu_s"] = _child_cpu(h["proc"].pid)
        self._close_harness()
        return result

    def _close_harness(self):
        if self.harness is None:
            return
        for fd in (self.harness["req"], self.harness["rep"]):
            with contextlib.suppress(OSError):
                os.close(fd)
        for stream in (self.harness["proc"].stdout, self.harness["proc"].stderr):
            stream.close()
        self.harness["streams"].close()
        self.harness = None
        kill_all()

    def reset(self, request):
        self._close_harness()
        kill_all()
        problems = []
        for root in (WORK, TMP):
            for name in os.listdir(root):
                path = os.path.join(root, name)
                _force_remove(path)
                if os.path.lexists(path):
                    problems.append(f"could not remove {path}")
        if _others():
            problems.append(f"processes survived: {_others()}")
        self.dir = None
        return {"clean": not problems, "problems": problems}

    def fds(self, request):
        out = {}
        for e in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                out[e] = os.readlink(f"/proc/self/fd/{e}")
        return out

    def hello(self, request):
        return {"pid": os.getpid(), "uid": os.getuid(), "python": sys.version.split()[0]}


def _child_cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _take_frame(buffer):
    if len(buffer) < 4:
        return None
    size = int.from_bytes(buffer[:4], "big")
    if len(buffer) < 4 + size:
        return None
    body = bytes(buffer[4 : 4 + size])
    del buffer[: 4 + size]
    try:
        frame = json.loads(body)
    except ValueError:
        return {"error": "the program corrupted the call channel", "crashed": True}
    return frame if isinstance(frame, dict) else {"error": "bad reply", "crashed": True}


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


def main():
    _undumpable()
    supervisor = Supervisor()
    handlers = {
        name: getattr(supervisor, name)
        for name in ("prepare", "run", "call_open", "call", "call_close", "reset", "hello", "fds")
    }
    while True:
        try:
            request = wire.read_frame(CHANNEL_IN)
        except EOFError:
            return
        handler = handlers.get(request.get("op"))
        try:
            reply = handler(request) if handler else {"error": f"unknown op {request.get('op')!r}"}
        except Exception as error:
            reply = {"internal_error": f"{type(error).__name__}: {error}"}
        wire.write_frame(CHANNEL_OUT, reply)


if __name__ == "__main__":
    main()
