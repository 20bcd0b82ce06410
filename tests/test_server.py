"""The reward server for real: subprocess servers on loopback, real clients, real sandbox."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import docker
import grpc
import pytest
from conftest import ROOT, ServerProcess, kill_quietly, wait_for
from grpc_health.v1 import health_pb2, health_pb2_grpc

from rewards.engine import build_engine
from rewards.schema import Status, decode_sample
from sandbox.box import LABEL
from sandbox.pool import owner_prefix
from verirl.client import AsyncRewardClient, RewardClient
from verirl.convert import dict_to_proto
from verirl.v1 import reward_pb2 as pb
from verirl.v1 import reward_pb2_grpc as pb_grpc


def math(i, response, answer):
    return {"id": str(i), "kind": "math", "response": response, "reference": {"answer": answer}}


def code(i, program, time_limit_s=5, inputs=("1 2\n",), outputs=("3\n",)):
    ref = {"language": "python", "tests": {"inputs": list(inputs), "outputs": list(outputs)}}
    return {
        "id": str(i),
        "kind": "code",
        "response": f"```python\n{program}\n```",
        "reference": {**ref, "time_limit_s": time_limit_s},
    }


SUM = "a, b = map(int, input().split())\nprint(a + b)"
MIXED = [
    math("m1", r"\boxed{\frac{1}{2}}", "0.5"),
    code("c1", SUM),
    {"id": "bad", "kind": "poem", "response": "", "reference": {}},
    math("m2", r"\boxed{[2, \infty)}", r"x \ge 2"),
    code("c2", "print(4)"),
    math("m3", "no idea", "1"),
    {"id": "rm", "kind": "model", "response": "hi", "reference": {}},
]


def health_status(target, service=""):
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


def comparable(result):
    data = result.to_dict()
    data.pop("timings")
    data["details"] = {k: v for k, v in data["details"].items() if k != "tests"}
    return data


@pytest.fixture(scope="module")
def server():
    proc = ServerProcess("--workers", "2", "--metrics-port", "0", "--http-port", str(_free_port()))
    yield proc
    proc.stop()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- scoring


def test_mixed_batch_over_grpc_equals_in_process(server):
    with RewardClient(server.target) as client:
        remote = client.score(MIXED)
    with build_engine(workers=1) as engine:
        local = engine.score([decode_sample(s) for s in MIXED])
    assert [r.id for r in remote] == ["m1", "c1", "bad", "m2", "c2", "m3", "rm"]
    assert [r.status for r in remote] == [
        Status.OK, Status.OK, Status.INVALID_INPUT, Status.OK, Status.WRONG, Status.NO_ANSWER, Status.INVALID_INPUT
    ]  # fmt: skip
    assert [comparable(r) for r in remote] == [comparable(r) for r in local]


def test_5000_samples_in_order_one_result_each(server):
    samples = [math(i, rf"\boxed{{{i % 13}}}", str(i % 11)) for i in range(5000)]
    with RewardClient(server.target, batch_size=700, concurrency=4) as client:
        results = client.score(samples)
    assert [r.id for r in results] == [str(i) for i in range(5000)]
    assert [r.correct for r in results] == [i % 13 == i % 11 for i in range(5000)]


def test_a_batch_larger_than_grpcs_4mib_default(server):
    padding = "x" * 4000
    samples = [math(i, padding + r"\boxed{7}", "7") for i in range(2000)]  # ~8 MB in one message
    with RewardClient(server.target, batch_size=5000) as client:
        results = client.score(samples)
    assert len(results) == 2000 and all(r.correct for r in results)


def test_async_client(server):
    async def go():
        async with AsyncRewardClient(server.target, batch_size=3) as client:
            return await client.score(MIXED)

    results = asyncio.run(go())
    assert [r.id for r in results] == [s["id"] for s in MIXED]


def test_server_info(server):
    with RewardClient(server.target) as client:
        info = client.info()
    kinds = {k.kind: k for k in info.kinds}
    assert kinds["math"].ready and kinds["code"].ready
    assert not kinds["model"].available and "no reward model" in kinds["model"].reason
    assert "python" in info.languages and "java" in info.languages
    assert info.max_message_bytes == 256 << 20 and info.sandbox_containers == 2
    # with no config, the limits are ServerConfig's defaults
    limits = info.limits
    assert (limits.max_batch_samples, limits.max_queued_samples) == (100_000, 200_000)
    assert (limits.max_message_bytes, limits.max_queued_bytes) == (256 << 20, 1 << 30)
    assert (limits.default_deadline_s, limits.grace_s) == (600, 30)


def test_health_is_serving(server):
    assert health_status(server.target) == health_pb2.HealthCheckResponse.SERVING
    assert health_status(server.target, "verirl.v1.RewardService") == health_pb2.HealthCheckResponse.SERVING


def test_openrlhf_http_endpoint(server):
    port = int(server.args[server.args.index("--http-port") + 1])
    body = {
        "query": ["Q: 2+2? A: \\boxed{4}", "Q: 2+2? A: \\boxed{5}"],
        "prompts": ["Q: 2+2? A: ", "Q: 2+2? A: "],
        "labels": ["4", "4"],
    }
    request = urllib.request.Request(f"http://127.0.0.1:{port}/get_reward", data=json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=30) as response:
        reply = json.loads(response.read())
    assert reply["rewards"] == [1.0, 0.0] and reply["scores"] == [1.0, 0.0]
    assert reply["extra_logs"]["accuracy"] == 0.5


# --------------------------------------------------------------------------- limits


def test_deadline_expiry_frees_the_sandbox(server):
    slow = [code(f"s{i}", "import time; time.sleep(30)", time_limit_s=30) for i in range(4)]
    with RewardClient(server.target, timeout_s=1.5, retries=0) as client:
        with pytest.raises(grpc.RpcError) as error:
            client.score(slow)
        assert error.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    start = time.monotonic()
    with RewardClient(server.target) as client:
        assert client.score([code("after", SUM)])[0].correct
    assert time.monotonic() - start < 10  # not stuck behind 4 x 30 s of sleeping tests


def test_cancellation_frees_queued_work_and_kills_running_tests(server):
    async def go():
        async with AsyncRewardClient(server.target, retries=0) as client:
            task = asyncio.ensure_future(
                client.score(
                    [code(f"s{i}", "import time; time.sleep(60)", time_limit_s=30) for i in range(6)]
                )
            )
            await asyncio.sleep(1.0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(go())
    wait_for(lambda: '"event": "cancelled"' in server.log(), timeout_s=10)
    start = time.monotonic()
    with RewardClient(server.target) as client:
        assert client.score([code("after", SUM)])[0].correct
    # both containers were running 30 s tests: they are replaced, not waited for
    assert time.monotonic() - start < 10


def test_backpressure_and_batch_limit(start_server, tmp_path):
    config = tmp_path / "verirl.toml"
    config.write_text("max_queued_samples = 10\nmax_batch_samples = 50\n")
    srv = start_server("--no-sandbox", "--config", str(config))
    with RewardClient(srv.target, batch_size=1000, retries=0) as client:
        with pytest.raises(grpc.RpcError) as error:
            client.score([math(i, "1", "1") for i in range(11)])
        assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "queue is full" in error.value.details()
        assert len(client.score([math(i, "1", "1") for i in range(10)])) == 10
        # over max_batch_samples: the client splits by the server's limit; sent whole, refused
        request = pb.ScoreRequest(samples=[dict_to_proto(math(i, "1", "1")) for i in range(51)])
        with pytest.raises(grpc.RpcError) as error:
            client.stub.Score(request, timeout=10)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "max_batch_samples=50" in error.value.details()


# --------------------------------------------------------------------------- security


def test_token_required_and_checked(start_server):
    srv = start_server("--no-sandbox", env={"VERIRL_TOKEN": "s3cret"})
    sample = [math(1, "4", "4")]
    for token in (None, "wrong"):
        with RewardClient(srv.target, token=token, retries=0) as client:
            with pytest.raises(grpc.RpcError) as error:
                client.score(sample)
            assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with RewardClient(srv.target, token="s3cret") as client:
        assert client.score(sample)[0].correct
    assert health_status(srv.target) == health_pb2.HealthCheckResponse.SERVING  # probes need no token


def test_non_loopback_without_token_refuses_to_start():
    env = {k: v for k, v in os.environ.items() if k != "VERIRL_TOKEN"}
    proc = subprocess.run(
        [sys.executable, "server.py", "--host", "0.0.0.0", "--no-sandbox"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "requires a bearer token" in proc.stderr


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "1", "-subj", "/CN=verirl-test-ca", cwd=d)  # fmt: skip
    for name, cn in (("server", "localhost"), ("client", "verirl-client")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={cn}", cwd=d)  # fmt: skip
        (d / f"{name}.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.ext", cwd=d)  # fmt: skip
    return d


def test_tls_and_mutual_tls(start_server, certs):
    tls = ("--tls-cert", str(certs / "server.pem"), "--tls-key", str(certs / "server.key"))
    srv = start_server("--no-sandbox", *tls)
    with RewardClient(srv.target, tls_ca=str(certs / "ca.pem")) as client:
        assert client.score([math(1, "4", "4")])[0].correct
    with RewardClient(srv.target, retries=0, timeout_s=5) as plain, pytest.raises(grpc.RpcError):
        plain.score([math(1, "4", "4")])
    mutual = start_server("--no-sandbox", *tls, "--tls-client-ca", str(certs / "ca.pem"))
    no_cert = RewardClient(mutual.target, tls_ca=str(certs / "ca.pem"), retries=0, timeout_s=5)
    with no_cert, pytest.raises(grpc.RpcError):
        no_cert.score([math(1, "4", "4")])  # no client certificate
    with RewardClient(
        mutual.target,
        tls_ca=str(certs / "ca.pem"),
        tls_cert=str(certs / "client.pem"),
        tls_key=str(certs / "client.key"),
    ) as client:
        assert client.score([math(1, "4", "4")])[0].correct


# --------------------------------------------------------------------------- faults


def _children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(int(entry))
    return out


def score_in_background(target, samples):
    """A thread scoring ``samples``; its results land in the returned dict under "batch"."""
    results = {}

    def call():
        with RewardClient(target) as client:
            results["batch"] = client.score(samples)

    thread = threading.Thread(target=call)
    thread.start()
    return thread, results


def test_killing_a_math_worker_mid_batch(start_server):
    srv = start_server("--no-sandbox", "--workers", "2")
    workers = [w for child in _children(srv.proc.pid) for w in _children(child)]  # forkserver's children
    assert len(workers) == 2
    slow = [math(i, r"\boxed{5^{5^{5^{5^{5}}}}}", "1") for i in range(6)]  # each runs to its 1 s budget
    thread, results = score_in_background(srv.target, slow)
    time.sleep(0.5)
    for pid in workers:
        kill_quietly(pid)
    thread.join(60)
    batch = results["batch"]
    assert [r.id for r in batch] == [str(i) for i in range(6)]
    assert {r.status for r in batch} <= {Status.TIMEOUT, Status.INTERNAL_ERROR}
    assert any(r.status is Status.INTERNAL_ERROR and "died" in r.message for r in batch)
    with RewardClient(srv.target) as client:
        assert client.score([math(1, r"\boxed{\sqrt{4}}", "2")])[0].correct


def test_graceful_shutdown_finishes_in_flight_work(start_server):
    srv = start_server("--workers", "1")
    batch = [code(f"c{i}", "import time; time.sleep(1)\n" + SUM) for i in range(3)]
    thread, results = score_in_background(srv.target, batch)
    time.sleep(0.8)
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert health_status(srv.target) == health_pb2.HealthCheckResponse.NOT_SERVING  # draining
    thread.join(60)
    assert [r.status for r in results["batch"]] == [Status.OK] * 3
    assert srv.proc.wait(60) == 0
    owner = owner_prefix(srv.proc.pid)
    containers = docker.from_env().containers.list(all=True, filters={"label": LABEL})
    assert [c for c in containers if c.labels.get(LABEL, "").startswith(owner)] == []


def test_client_retries_until_the_server_comes_up():
    port = _free_port()
    results = {}

    def call():
        with RewardClient(f"127.0.0.1:{port}", retries=6) as client:
            results["batch"] = client.score([math(1, "4", "4")])

    thread = threading.Thread(target=call)
    thread.start()
    time.sleep(0.5)
    srv = ServerProcess("--no-sandbox", "--port", str(port))
    try:
        thread.join(60)
        assert results["batch"][0].correct
    finally:
        srv.stop()


class _FlakyService(pb_grpc.RewardServiceServicer):
    """A real gRPC RewardService that answers its first calls with a fixed error code, then
    scores for real: the client's retry rule is what is under test here."""

    def __init__(self, failures, code):
        self.failures, self.code, self.calls = failures, code, 0
        self.engine = build_engine(1, math_processes=1, sandbox=False)

    async def Score(self, request, context):
        from verirl.convert import result_to_proto, sample_from_proto

        self.calls += 1
        if self.calls <= self.failures:
            await context.abort(self.code, "shut down before a handler ran")
        samples = [sample_from_proto(s) for s in request.samples]
        return pb.ScoreResponse(results=[result_to_proto(r) for r in self.engine.score(samples)])


@pytest.mark.parametrize(
    ("code", "retried"), [("CANCELLED", True), ("UNAVAILABLE", True), ("INTERNAL", False)]
)
def test_client_retries_only_calls_the_server_never_ran(code, retried):
    service = _FlakyService(failures=2, code=getattr(grpc.StatusCode, code))

    async def main():
        server = grpc.aio.server()
        pb_grpc.add_RewardServiceServicer_to_server(service, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with AsyncRewardClient(f"127.0.0.1:{port}", retries=3) as client:
                return await client.score([math(1, "\\boxed{4}", "4")])
        finally:
            await server.stop(0)

    try:
        if retried:
            assert asyncio.run(main())[0].correct
            assert service.calls == 3
        else:
            with pytest.raises(grpc.aio.AioRpcError) as error:
                asyncio.run(main())
            assert error.value.code() == grpc.StatusCode.INTERNAL
            assert service.calls == 1
    finally:
        service.engine.close()


def test_round_robin_over_two_servers(start_server):
    a, b = start_server("--no-sandbox"), start_server("--no-sandbox")
    target = f"ipv4:127.0.0.1:{a.port},127.0.0.1:{b.port}"
    with RewardClient(target, batch_size=10, concurrency=2) as client:
        for _ in range(5):
            assert len(client.score([math(i, "4", "4") for i in range(100)])) == 100

    def scored():
        return a.log().count('"event": "scored"'), b.log().count('"event": "scored"')

    wait_for(lambda: sum(scored()) >= 50)  # each server logs a call after answering it
    assert all(scored()) and sum(scored()) == 50


@pytest.mark.parametrize("age_s", [None, 1.0])
def test_max_connection_age_makes_clients_reconnect_without_cutting_calls(start_server, tmp_path, age_s):
    """With max_connection_age_s the server closes old connections (a GOAWAY), so a client
    of a dns:/// name re-resolves and finds servers added since; a call in flight is not cut."""
    config = tmp_path / "verirl.toml"
    config.write_text(f"max_connection_age_s = {age_s}\n" if age_s else "")
    srv = start_server("--workers", "1", "--config", str(config))
    slow = "import time\ntime.sleep(2.5)\n" + SUM  # outlives the connection's age

    async def main():
        async with AsyncRewardClient(srv.target, retries=0) as client:
            first = await client.score([code("slow", slow)])
            assert first[0].correct, first[0].message
            ready = grpc.ChannelConnectivity.READY
            try:  # the connection that carried the slow call is closed once it is old enough
                await asyncio.wait_for(client.channel.wait_for_state_change(ready), timeout=4)
                closed = True
            except TimeoutError:
                closed = False
            after = await client.score([math("m", "4", "4")])  # reconnects transparently
            return closed, after[0].correct

    closed, correct = asyncio.run(main())
    assert correct and closed == (age_s is not None)


@pytest.mark.destructive
def test_docker_daemon_stopped_and_restarted(start_server):
    srv = start_server("--workers", "1")
    with RewardClient(srv.target) as client:
        assert client.score([code("before", SUM)])[0].correct
        subprocess.run(["pkill", "-9", "-x", "dockerd"], check=False)
        try:
            wait_for(
                lambda: subprocess.run(["docker", "info"], capture_output=True).returncode != 0, timeout_s=30
            )
            down = client.score([code("down", SUM), math("m", "4", "4")])
            assert down[0].status is Status.INTERNAL_ERROR and "unavailable" in down[0].message
            assert down[1].correct  # math keeps serving
            info = {k.kind: k for k in client.info().kinds}
            assert not info["code"].ready and info["math"].ready
        finally:
            subprocess.run(["bash", str(ROOT / "scripts/docker.sh")], check=True, timeout=120)
        recovered = wait_for(
            lambda: client.score([code("after", SUM)])[0].correct, timeout_s=60, interval_s=1
        )  # fmt: skip
        assert recovered
