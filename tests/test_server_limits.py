"""Issue 14 against a real server: admission that cannot leak, no result lost, every path
bounded (gRPC and HTTP). Each test is bounded to seconds; slow work is real sympy work
(``\\sin^2 x + \\cos^2 x`` costs ~30 ms a sample in one math process)."""

import asyncio
import gzip
import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import grpc
import pytest
from conftest import ROOT, ServerProcess, wait_for

from verirl.client import AsyncRewardClient, RewardClient
from verirl.convert import dict_to_proto
from verirl.v1 import reward_pb2 as pb

TOKEN = "t0ken"
AUTH = (("authorization", f"Bearer {TOKEN}"),)
MiB = 1 << 20


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def math(i, response, answer, **extra):
    return {"id": str(i), "kind": "math", "response": response, "reference": {"answer": answer}, **extra}


def slow(i, pad=0):
    """~100 ms of sympy in a worker process on a quiet machine (sinh² − cosh² = −1 needs
    simplification); a distinct argument and answer each, so sympy's cache cannot help."""
    arg = rf"\frac{{x}}{{{i + 2}}}"
    expression = rf"\sinh({arg})^2 - \cosh({arg})^2 + {i + 2}"
    return math(f"slow{i}", "x" * pad + rf"\boxed{{{expression}}}", str(i + 1))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    config = tmp_path_factory.mktemp("limits") / "verirl.toml"
    config.write_text(
        "max_queued_samples = 5000\nmax_batch_samples = 4000\n"
        f"max_message_bytes = {2 * MiB}\nmax_queued_bytes = {3 * MiB}\n"
        "http_read_timeout_s = 1.0\ndefault_deadline_s = 60\n"
        # not the defaults, so ServerInfo's limits can be seen to come from the config
        "math_budget_s = 2.0\ngrace_s = 20\ndrain_notice_s = 0.5\nledger_max_groups = 500000\n"
    )
    metrics_port, http_port = _free_port(), _free_port()
    proc = ServerProcess(
        "--config", str(config), "--no-sandbox", "--metrics-port", str(metrics_port),
        "--http-port", str(http_port), env={"VERIRL_TOKEN": TOKEN},
    )  # fmt: skip
    proc.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    proc.http_port = http_port
    yield proc
    proc.stop()


def client(server, **kw):
    return RewardClient(server.target, token=TOKEN, retries=0, **kw)


def scrape(server):
    return urllib.request.urlopen(server.metrics_url, timeout=5).read().decode()


def metric(server, name, labels=""):
    match = re.search(rf"^{name}{re.escape(labels)} (\S+)$", scrape(server), re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def in_flight(server):
    return metric(server, "verirl_samples_in_flight"), metric(server, "verirl_bytes_in_flight")


def assert_drained(server, timeout_s=5):
    """The admission gauges are back at zero: nothing leaked."""
    wait_for(lambda: in_flight(server) == (0.0, 0.0), timeout_s=timeout_s)


def raw_score(server, data: bytes, timeout=10, metadata=AUTH, **kw):
    with grpc.insecure_channel(server.target) as channel:
        call = channel.unary_unary("/verirl.v1.RewardService/Score")
        return pb.ScoreResponse.FromString(call(data, timeout=timeout, metadata=metadata, **kw))


def rpc_error(fn):
    with pytest.raises(grpc.RpcError) as error:
        fn()
    return error.value


# --------------------------------------------------------------------------- ServerInfo


def test_server_info_reports_the_limits_and_they_hold(server):
    """A client can size its calls from ServerInfo: it reports the limits of the server's
    config (here none at its default), and a batch sized by them is scored while one
    sample more is refused."""
    with client(server) as c:
        info = c.info()
    limits = info.limits
    assert info.HasField("limits")
    assert (limits.max_batch_samples, limits.max_queued_samples) == (4000, 5000)
    assert (limits.max_queued_bytes, limits.max_message_bytes) == (3 * MiB, 2 * MiB)
    assert (limits.default_deadline_s, limits.math_budget_s, limits.http_read_timeout_s) == (60, 2, 1)
    assert (limits.grace_s, limits.drain_notice_s, limits.ledger_max_groups) == (20, 0.5, 500_000)
    assert (limits.max_message_chars, limits.max_echo_chars) == (2000, 1000)
    # the fields older clients read agree
    assert (info.max_message_bytes, info.max_queued_samples, info.math_budget_s) == (2 * MiB, 5000, 2)

    batch = [math(i, "1", "1") for i in range(limits.max_batch_samples + 1)]
    for asked in (limits.max_batch_samples, 10 * limits.max_batch_samples):
        with client(server, batch_size=asked) as c:  # the client splits by the server's limit
            assert [r.correct for r in c.score(batch)] == [True] * len(batch)

    async def split_by_async_client():
        async with AsyncRewardClient(server.target, token=TOKEN, batch_size=10 * len(batch)) as c:
            return await c.score(batch)

    assert [r.correct for r in asyncio.run(split_by_async_client())] == [True] * len(batch)
    request = pb.ScoreRequest(samples=[dict_to_proto(s) for s in batch])
    error = rpc_error(lambda: raw_score(server, request.SerializeToString()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "max_batch_samples=4000" in error.details()
    golds = ["1" * limits.max_echo_chars, "1" * (limits.max_echo_chars + 1)]
    with client(server) as c:
        fits, over = c.score([math(f"g{i}", rf"\boxed{{{gold}}}", gold) for i, gold in enumerate(golds)])
    assert fits.correct and "characters cut" not in json.dumps(fits.details)
    assert over.correct and "[1 more characters cut]" in json.dumps(over.details)
    assert_drained(server)


# --------------------------------------------------------------------------- 1: one odd value


def test_non_finite_values_fail_their_own_sample_and_the_batch_goes_on(server):
    request = pb.ScoreRequest()
    for i, value in enumerate((float("nan"), float("inf"), -float("inf"))):
        sample = request.samples.add(id=f"bad{i}", kind="math", response=r"\boxed{1}")
        sample.math.answer = "1"
        sample.metadata.update({"nested": {"list": [1, value]}})
    code = request.samples.add(id="code", kind="code", response="x")
    code.code.language = "python"
    code.code.call.fn_name = "f"
    code.code.call.inputs.add().extend([1])
    code.code.call.outputs.add().number_value = float("nan")
    good = request.samples.add(id="good", kind="math", response=r"\boxed{2}")
    good.math.answer = "2"
    good.metadata.update({"source": "gsm8k", "n": 3})
    results = raw_score(server, request.SerializeToString()).results
    assert [r.id for r in results] == ["bad0", "bad1", "bad2", "code", "good"]
    assert [r.status for r in results[:4]] == [pb.INVALID_INPUT] * 4
    assert "metadata.nested.list[1]" in results[0].message and "nan" in results[0].message
    assert "reference.tests.outputs[0]" in results[3].message
    assert results[4].status == pb.OK and results[4].reward == 1.0
    # metadata is echoed back, as the README promises
    assert json.loads(results[4].details_json)["metadata"] == {"source": "gsm8k", "n": 3}
    assert_drained(server)


def test_text_that_is_not_utf8_is_invalid_locally_and_the_rest_is_scored(server):
    with client(server) as c:
        results = c.score([math("lone", "\ud800", "1"), math("ok", r"\boxed{1}", "1")])
    assert results[0].status.value == "invalid_input" and "cannot be sent" in results[0].message
    assert results[1].correct


# --------------------------------------------------------------------------- admission on every path


def test_every_failure_mode_returns_the_in_flight_gauge_to_zero(server):
    def code_of(fn):
        return rpc_error(fn).code()

    # malformed protobuf: INVALID_ARGUMENT, not UNKNOWN with internal text
    error = rpc_error(lambda: raw_score(server, b"\xff\xff\xff\xff"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "malformed ScoreRequest" in error.details()
    assert_drained(server)
    # a batch over max_batch_samples
    request = pb.ScoreRequest(samples=[dict_to_proto(math(i, "1", "1")) for i in range(4001)])
    assert code_of(lambda: raw_score(server, request.SerializeToString())) == grpc.StatusCode.INVALID_ARGUMENT
    assert_drained(server)
    # a spec with a NaN weight
    with client(server) as c:
        error = rpc_error(lambda: c.score([math(1, "1", "1")], spec={"correctness_weight": float("nan")}))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "correctness_weight" in error.details()
    assert_drained(server)
    # no token
    with RewardClient(server.target, retries=0) as c:
        assert code_of(lambda: c.score([math(1, "1", "1")])) == grpc.StatusCode.UNAUTHENTICATED
    assert_drained(server)
    # expired while scoring
    with client(server, timeout_s=0.2) as c:
        assert code_of(lambda: c.score([slow(i) for i in range(10)])) == grpc.StatusCode.DEADLINE_EXCEEDED
    assert_drained(server, timeout_s=15)

    # cancelled while scoring
    async def cancel():
        async with AsyncRewardClient(server.target, token=TOKEN, retries=0) as c:
            task = asyncio.ensure_future(c.score([slow(i) for i in range(100, 110)]))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(cancel())
    assert_drained(server, timeout_s=15)
    # a response that could not be sent, refused before scoring
    start = time.monotonic()
    request = pb.ScoreRequest(samples=[dict_to_proto(math(i, "1", "y" * 470)) for i in range(4000)])
    error = rpc_error(lambda: raw_score(server, request.SerializeToString()))  # verirl's client splits it
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "would take at least" in error.details()
    assert time.monotonic() - start < 5
    assert_drained(server)
    # and the server still scores
    with client(server) as c:
        assert c.score([math(1, r"\boxed{3}", "3")])[0].correct


def test_refused_calls_are_counted_and_logged_with_their_request_id(server):
    before = {code: metric(server, "verirl_requests_total", f'{{code="{code}"}}')
              for code in ("UNAUTHENTICATED", "DEADLINE_EXCEEDED", "INVALID_ARGUMENT")}  # fmt: skip
    error = rpc_error(lambda: raw_score(server, b"", metadata=(("x-request-id", "rid-no-token"),)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    error = rpc_error(lambda: raw_score(server, b"\x0a\xff", metadata=(*AUTH, ("x-request-id", "rid-bad"))))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    request = pb.ScoreRequest(request_id="rid-expired")
    for i in range(10):
        s = slow(200 + i)
        request.samples.add(id=s["id"], kind="math", response=s["response"]).math.answer = s["reference"][
            "answer"
        ]
    error = rpc_error(lambda: raw_score(server, request.SerializeToString(), timeout=0.2))
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    wait_for(lambda: '"request_id": "rid-expired"' in server.log(), timeout_s=5)
    log = server.log()
    assert re.search(r'"event": "unauthenticated", "request_id": "rid-no-token"', log)
    assert re.search(r'"event": "refused", "request_id": "rid-bad", "code": "INVALID_ARGUMENT"', log)
    assert re.search(r'"event": "expired", "request_id": "rid-expired", "code": "DEADLINE_EXCEEDED"', log)
    for code in before:
        assert metric(server, "verirl_requests_total", f'{{code="{code}"}}') == before[code] + 1, code


# --------------------------------------------------------------------------- 2: spec values


@pytest.mark.parametrize(
    "spec",
    [{"correctness_weight": float("nan")}, {"length_weight": float("inf")}, {"format_weight": -1e300},
     {"overlong_weight": 1e7}],
)  # fmt: skip
def test_non_finite_or_huge_spec_weights_are_refused(server, spec):
    with client(server) as c:
        error = rpc_error(lambda: c.score([math(1, r"\boxed{1}", "1")], spec=spec))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert next(iter(spec)) in error.details()


# --------------------------------------------------------------------------- 3: retries


def test_a_retry_of_an_expired_call_is_scored_and_a_delivered_group_is_not_scored_twice(server):
    group = [math(f"g{i}", rf"\boxed{{4}}{' so' * i}", "4", group="g-retry") for i in range(2)]
    batch = group + [slow(300 + i) for i in range(15)]
    spec = {"length_weight": 1.0}
    with client(server, timeout_s=0.2) as c:
        assert (
            rpc_error(lambda: c.score(batch, spec=spec, step=3)).code() == grpc.StatusCode.DEADLINE_EXCEEDED
        )
    with client(server, timeout_s=60) as c:
        retried = c.score(batch, spec=spec, step=3)
        assert [r.status.value for r in retried[:2]] == ["ok", "ok"]  # was: "already scored"
        assert [r.reward for r in retried[:2]] == [1.5, 0.5]
        again = c.score(group, spec=spec, step=3)
    assert [r.status.value for r in again] == ["invalid_input"] * 2
    assert "already scored" in again[0].message
    assert_drained(server)


# --------------------------------------------------------------------------- 4: work stops


def seconds_for_ten_slow_samples(server, first):
    """What ten slow samples cost on this machine now: the expired-call tests scale their
    bounds by it, so they hold on a loaded machine and still fail if the work runs on."""
    assert_drained(server, timeout_s=60)  # not timed behind an earlier call's work
    start = time.monotonic()
    with client(server) as c:
        assert len(c.score([slow(first + i) for i in range(10)])) == 10
    return time.monotonic() - start


def test_an_expired_call_stops_its_work(server):
    """The call's admission is released only when its work has stopped, so the gauge
    draining long before the batch could have been scored shows its queued math was
    dropped, not run after the caller had gone."""
    ten = seconds_for_ten_slow_samples(server, 3000)
    with client(server, timeout_s=0.5) as c:
        error = rpc_error(lambda: c.score([slow(3100 + i) for i in range(400)]))  # ~40 times that
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert_drained(server, timeout_s=max(5.0, 2 * ten))
    with client(server) as c:
        assert c.score([math(1, r"\boxed{3}", "3")])[0].correct


def test_an_expired_http_call_stops_its_work(server):
    """The same over HTTP, where the deadline comes from a header; the 504 comes at the
    deadline, not when the work has wound down."""
    ten = seconds_for_ten_slow_samples(server, 1000)
    batch = [slow(1100 + i) for i in range(400)]
    body = {"query": [s["response"] for s in batch], "labels": [s["reference"]["answer"] for s in batch]}
    start = time.monotonic()
    status, reply = http_post(server, body, headers={"X-Verirl-Timeout": "0.5"}, timeout=120)
    answered = time.monotonic() - start
    assert status == 504 and "deadline" in reply["error"]
    assert answered < 0.5 + 2.5, answered
    assert_drained(server, timeout_s=max(5.0, 2 * ten))
    expired = r'"event": "expired", "request_id": "\w+", "code": "DEADLINE_EXCEEDED", .*"via": "http"'
    wait_for(lambda: re.search(expired, server.log()), timeout_s=5)


def test_the_default_deadline_answers_calls_that_set_none_and_stops_their_work(tmp_path):
    """A call without a deadline (gRPC without a timeout, HTTP without the header) gets
    ``default_deadline_s``: it is answered when that passes and its work stops there."""
    config = tmp_path / "verirl.toml"
    config.write_text("default_deadline_s = 3\n")
    metrics_port, http_port = _free_port(), _free_port()
    srv = ServerProcess("--config", str(config), "--no-sandbox", "--metrics-port", str(metrics_port),
                        "--http-port", str(http_port))  # fmt: skip
    srv.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    srv.http_port = http_port
    try:
        ten = seconds_for_ten_slow_samples(srv, 4000)  # the client sets its own deadline
        request = pb.ScoreRequest()
        for i in range(400):
            s = slow(4100 + i)
            request.samples.add(id=s["id"], kind="math", response=s["response"]).math.answer = s["reference"][
                "answer"
            ]
        start = time.monotonic()
        error = rpc_error(lambda: raw_score(srv, request.SerializeToString(), timeout=None, metadata=()))
        assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED, error.details()
        assert "deadline" in error.details() and time.monotonic() - start < 3 + 2.5
        assert_drained(srv, timeout_s=max(5.0, 2 * ten))
        batch = [slow(4500 + i) for i in range(400)]
        body = {"query": [s["response"] for s in batch], "labels": [s["reference"]["answer"] for s in batch]}
        start = time.monotonic()
        status, reply = http_post(srv, body, timeout=60)
        assert status == 504 and "deadline" in reply["error"] and time.monotonic() - start < 3 + 2.5
        assert_drained(srv, timeout_s=max(5.0, 2 * ten))
        expired = r'"event": "expired", "request_id": "\w+", "code": "DEADLINE_EXCEEDED"'
        wait_for(lambda: len(re.findall(expired, srv.log())) == 2, timeout_s=5)  # logged by a thread
    finally:
        srv.stop()


# --------------------------------------------------------------------------- 5: bytes


def test_admission_counts_bytes(server):
    # ~1.6 MB: 370 padded plain answers and 30 slow ones (~1-2 s of work)
    big = [math(f"p{i}", "x" * 4000 + r"\boxed{7}", "7") for i in range(370)]
    big += [slow(500 + i, pad=4000) for i in range(30)]

    data = pb.ScoreRequest(samples=[dict_to_proto(s) for s in big]).SerializeToString()

    async def go():  # one call each (verirl's client would split them at 1 MiB, half the message limit)
        async with grpc.aio.insecure_channel(server.target) as channel:
            score = channel.unary_unary("/verirl.v1.RewardService/Score")
            first = asyncio.ensure_future(score(data, metadata=AUTH, timeout=60))
            await asyncio.sleep(0.5)
            assert in_flight(server)[1] > 1.5e6
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await score(data, metadata=AUTH, timeout=60)  # ~1.6 MB more: over max_queued_bytes = 3 MiB
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            return error.value

    error = asyncio.run(go())
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "max_queued_bytes" in error.details()
    assert_drained(server, timeout_s=15)


def test_compressed_requests_are_capped_by_their_decompressed_size(server):
    request = pb.ScoreRequest()
    request.samples.add(id="z", kind="math", response="0" * (3 * MiB)).math.answer = "0"
    data = request.SerializeToString()
    assert len(gzip.compress(data)) < 50_000
    error = rpc_error(lambda: raw_score(server, data, compression=grpc.Compression.Gzip))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert_drained(server)


def test_echoed_golds_and_messages_are_cut_to_size(server):
    gold = "1" + "0" * 5000
    with client(server) as c:
        result = c.score([math("long", rf"\boxed{{{gold}}}", gold), math("kind", "", "", kind="k" * 9000)])
    assert result[0].correct
    assert len(json.dumps(result[0].details)) < 5000 and "more characters cut" in json.dumps(
        result[0].details
    )
    assert result[1].status.value == "invalid_input" and len(result[1].message) < 2100


# --------------------------------------------------------------------------- 6: HTTP


def http_post(server, body, headers=None, timeout=10):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=timeout)
    try:
        conn.request("POST", "/get_reward", body=data,
                     headers={"Authorization": f"Bearer {TOKEN}", **(headers or {})})  # fmt: skip
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def raw_http(server, data: bytes, read_timeout=5.0):
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=read_timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    head = b"".join(chunks).split(b"\r\n", 1)[0].decode()
    return int(head.split()[1]), b"".join(chunks)


def openrlhf_body(n, query="Q: A: \\boxed{4}", label="4"):
    return {"query": [query] * n, "prompts": ["Q: A: "] * n, "labels": [label] * n}


def test_http_scores_like_grpc(server):
    status, reply = http_post(server, openrlhf_body(3))
    assert status == 200 and reply["rewards"] == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"not json", 400, "Expecting value"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"query": 5}', 400, "'query' must be a list"),
        (b'{"query": ["a", 7], "labels": ["1", "2"]}', 400, "'query[1]' must be a string"),
        (b'{"query": ["a"], "labels": ["1", "2"]}', 400, "one per query"),
        (b'{"query": ["a"], "labels": [[1]]}', 400, "'labels[0]'"),
        (b'{"query": ["a"], "extra": 1}', 400, "unknown field 'extra'"),
        (b'{"query": ["\xc3\x28"]}', 400, "can't decode"),
    ],
)
def test_http_bad_input_is_a_4xx_with_a_message(server, body, status, words):
    got, reply = http_post(server, body)
    assert got == status and words in reply["error"]


def test_http_limits(server):
    status, reply = http_post(server, openrlhf_body(4001))
    assert status == 400 and "max_batch_samples" in reply["error"]
    for claimed in (3 * MiB, 16 << 30):  # refused from the header, before any body is read
        start = time.monotonic()
        status, data = raw_http(
            server,
            b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode()
            + f"\r\nContent-Length: {claimed}\r\n\r\n".encode(),
        )  # fmt: skip
        assert status == 413 and b"max_message_bytes" in data and time.monotonic() - start < 2
    status, _ = raw_http(server, b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0ken\r\n\r\n")
    assert status == 411
    chunked = b"POST / HTTP/1.1\r\nAuthorization: Bearer t0ken\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    assert raw_http(server, chunked)[0] == 501
    assert raw_http(server, b"GET / HTTP/1.1\r\n\r\n")[0] == 405
    status, reply = http_post(server, openrlhf_body(1), headers={"Authorization": "Bearer wrong"})
    assert status == 401
    status, reply = http_post(server, openrlhf_body(1), headers={"X-Verirl-Timeout": "nan"})
    assert status == 400 and "x-verirl-timeout" in reply["error"]
    assert_drained(server)


def test_http_stalled_bodies_time_out_and_do_not_block_others(server):
    socks = []
    try:
        for _ in range(50):
            sock = socket.create_connection(("127.0.0.1", server.http_port), timeout=5)
            sock.sendall(b"POST / HTTP/1.1\r\nAuthorization: Bearer t0ken\r\nContent-Length: 100\r\n\r\n0123")
            socks.append(sock)
        start = time.monotonic()
        assert http_post(server, openrlhf_body(2))[0] == 200
        assert time.monotonic() - start < 2
        assert b" 408 " in socks[0].recv(4096)  # http_read_timeout_s = 1
    finally:
        for sock in socks:
            sock.close()
    assert_drained(server)


def test_http_burst_of_connections_is_queued_not_reset(server):
    """The first endpoint listened with a backlog of 5: a burst of connections was reset."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(200) as pool:
        statuses = list(pool.map(lambda _: http_post(server, openrlhf_body(1), timeout=30)[0], range(200)))
    assert statuses == [200] * 200
    assert_drained(server)


def test_http_deadline_header_answers_504(server):
    body = {"query": [slow(650 + i)["response"] for i in range(40)],
            "labels": [str(651 + i) for i in range(40)]}  # fmt: skip
    status, reply = http_post(server, body, headers={"X-Verirl-Timeout": "0.2"}, timeout=30)
    assert status == 504 and "deadline" in reply["error"]
    assert_drained(server, timeout_s=15)


def test_http_client_that_leaves_cancels_its_work(server):
    body = json.dumps({"query": [slow(800 + i)["response"] for i in range(20)],
                       "labels": [str(801 + i) for i in range(20)]}).encode()  # fmt: skip
    sock = socket.create_connection(("127.0.0.1", server.http_port), timeout=5)
    sock.sendall(b"POST / HTTP/1.1\r\nAuthorization: Bearer t0ken\r\n"
                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)  # fmt: skip
    wait_for(lambda: in_flight(server)[0] == 20, timeout_s=10)
    sock.close()
    assert_drained(server, timeout_s=15)
    wait_for(lambda: re.search(r'"event": "cancelled".*"via": "http"', server.log()), timeout_s=5)


def test_http_drains_on_sigterm(tmp_path):
    config = tmp_path / "verirl.toml"
    config.write_text("drain_notice_s = 0.2\n")
    port = _free_port()
    srv = ServerProcess("--config", str(config), "--no-sandbox", "--http-port", str(port))
    srv.http_port = port
    try:
        body = {
            "query": [slow(900 + i)["response"] for i in range(20)],
            "labels": [str(901 + i) for i in range(20)],
        }
        out = {}
        thread = threading.Thread(target=lambda: out.update(reply=http_post(srv, body, timeout=60)))
        thread.start()
        time.sleep(0.5)
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.6)
        with pytest.raises(ConnectionRefusedError):  # the listener is closed: refused, not reset mid-request
            socket.create_connection(("127.0.0.1", port), timeout=2)
        thread.join(60)
        status, reply = out["reply"]
        # the request in flight was answered in full (on a busy machine some items may time
        # out against the 1 s math budget: still one reward each)
        assert status == 200 and len(reply["rewards"]) == 20
        assert srv.proc.wait(30) == 0
    finally:
        srv.stop()


def test_a_stderr_nobody_reads_does_not_stall_the_server():
    """The server logs a line per call. Once the 64 KiB pipe of a stderr that nobody reads
    is full, a write blocks; written from the event loop it stalled every call after ~400
    (and SIGTERM could no longer be handled). Lines are written by a thread of their own
    now (dropped past a bound, given a few seconds at exit)."""
    proc = subprocess.Popen(
        [sys.executable, "server.py", "--port", "0", "--no-sandbox", "--workers", "1"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        port = None
        for line in proc.stderr:  # then never read again
            match = re.search(r"verirl serving on .*:(\d+)$", line.strip())
            if match:
                port = int(match.group(1))
                break
        assert port is not None
        with RewardClient(f"127.0.0.1:{port}", batch_size=1, timeout_s=10, retries=0) as c:
            results = c.score([math(i, f"\\boxed{{{i}}}", str(i)) for i in range(1500)])
            assert [r.reward for r in results] == [1.0] * 1500  # ~250 KB of log lines
            assert c.info().version
        proc.send_signal(signal.SIGTERM)  # and it still drains and exits
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        proc.communicate()
