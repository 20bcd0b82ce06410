"""An OpenRLHF-compatible remote reward endpoint, served by ``server.py --http-port``.

OpenRLHF's remote reward model POSTs ``{"query": [...], "prompts": [...], "labels": [...]}``
and reads ``{"rewards": [...], "scores": [...], "extra_logs": {...}}``. ``query[i]`` is the
prompt followed by the response; ``labels[i]`` is the gold answer (a math answer), or a
JSON object ``{"kind": ..., "reference": {...}}`` for other kinds. The endpoint scores
with the server's engine and its default reward spec, so results equal the gRPC ones.
"""

from __future__ import annotations

import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rewards.compose import RewardSpec
from rewards.engine import Engine
from rewards.schema import Status, decode_sample


def to_samples(body: dict[str, Any]) -> list:
    queries, prompts = body.get("query") or [], body.get("prompts") or []
    labels = body.get("labels") or [None] * len(queries)
    if not isinstance(queries, list) or len(labels) != len(queries):
        raise ValueError("'query' must be a list and 'labels' must have one entry per query")
    items = []
    for i, query in enumerate(queries):
        prompt = prompts[i] if i < len(prompts) else ""
        response = query[len(prompt) :] if prompt and query.startswith(prompt) else query
        label = labels[i]
        obj: dict[str, Any] = {"id": str(i), "response": response}
        if prompt:
            obj["prompt"] = prompt
        parsed = _json_object(label)
        if parsed is not None and "kind" in parsed:
            obj.update(kind=parsed["kind"], reference=parsed.get("reference", {}))
        else:
            obj.update(kind="math", reference={"answer": label})
        items.append(decode_sample(obj, fallback_id=str(i)))
    return items


def _json_object(label: Any) -> dict | None:
    if isinstance(label, dict):
        return label
    if isinstance(label, str) and label.lstrip().startswith("{"):
        try:
            value = json.loads(label)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None
    return None


def score(engine: Engine, body: dict[str, Any], spec: RewardSpec | None = None) -> dict[str, Any]:
    results = engine.score(to_samples(body), spec=spec)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    n = max(len(results), 1)
    return {
        "rewards": [r.reward for r in results],
        "scores": [r.reward for r in results],
        "extra_logs": {
            "correct": [float(r.correct) for r in results],
            "accuracy": sum(r.correct for r in results) / n,
            **{f"frac_{status}": count / n for status, count in counts.items()},
        },
    }


def start_http(
    engine: Engine, host: str, port: int, token: str | None, spec: RewardSpec | None = None
) -> ThreadingHTTPServer:
    expected = f"Bearer {token}".encode() if token else None

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if expected and not hmac.compare_digest(self.headers.get("Authorization", "").encode(), expected):
                return self._send(401, {"error": "missing or wrong bearer token"})
            try:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("the body must be a JSON object")
                reply = score(engine, body, spec)
            except ValueError as error:
                return self._send(400, {"error": str(error), "status": Status.INVALID_INPUT.value})
            return self._send(200, reply)

        def _send(self, code: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="verirl-http").start()
    return server
