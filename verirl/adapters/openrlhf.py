"""An OpenRLHF-compatible remote reward endpoint, served by ``server.py --http-port``.

OpenRLHF's remote reward model POSTs ``{"query": [...], "prompts": [...], "labels": [...]}``
and reads ``{"rewards": [...], "scores": [...], "extra_logs": {...}}``. ``query[i]`` is the
prompt followed by the response; ``labels[i]`` is the gold answer (a math answer), or a
JSON object ``{"kind": ..., "reference": {...}}`` for other kinds. The endpoint scores
with the server's engine and its default reward spec, so results equal the gRPC ones.
This module is the conversion; :mod:`verirl.http` serves it under the gRPC limits.

Example:
    >>> [s.reference.answer for s in to_samples({"query": ["Q: A: \\\\boxed{4}"], "labels": ["4"]})]
    ['4']
    >>> to_samples({"query": "not a list"})
    Traceback (most recent call last):
    ...
    ValueError: 'query' must be a list of strings, got str
"""

from __future__ import annotations

import json
from typing import Any

from rewards.compose import RewardSpec
from rewards.engine import Engine
from rewards.schema import Result, Sample, decode_sample


def _type(value: Any) -> str:
    return type(value).__name__


def query_count(body: Any) -> int:
    """How many samples the body holds (checked against the batch limit before decoding)."""
    if not isinstance(body, dict):
        raise ValueError(f"the body must be a JSON object, got {_type(body)}")
    queries = body.get("query")
    if not isinstance(queries, list):
        raise ValueError(f"'query' must be a list of strings, got {_type(queries)}")
    return len(queries)


def to_samples(body: Any) -> list[Sample | Result]:
    """The body's samples; raises ``ValueError`` naming the field for a malformed body
    (the endpoint answers 400 with the message). A label that names a bad reference is
    that sample's ``invalid_input``, not the batch's."""
    query_count(body)
    unknown = sorted(set(body) - {"query", "prompts", "labels"})
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (known: query, prompts, labels)")
    queries = body["query"]
    prompts = body.get("prompts") or []
    labels = body.get("labels")
    if labels is None:
        labels = [None] * len(queries)
    for name, values in (("prompts", prompts), ("labels", labels)):
        if not isinstance(values, list):
            raise ValueError(f"'{name}' must be a list, got {_type(values)}")
    if len(labels) != len(queries):
        raise ValueError(f"'labels' has {len(labels)} entries for {len(queries)} queries; give one per query")
    if len(prompts) > len(queries):
        raise ValueError(f"'prompts' has {len(prompts)} entries for {len(queries)} queries")
    items: list[Sample | Result] = []
    for i, query in enumerate(queries):
        if not isinstance(query, str):
            raise ValueError(f"'query[{i}]' must be a string, got {_type(query)}")
        prompt = prompts[i] if i < len(prompts) else ""
        if not isinstance(prompt, str):
            raise ValueError(f"'prompts[{i}]' must be a string, got {_type(prompt)}")
        label = labels[i]
        if label is not None and not isinstance(label, str | dict):
            raise ValueError(f"'labels[{i}]' must be a string or an object, got {_type(label)}")
        response = query[len(prompt) :] if prompt and query.startswith(prompt) else query
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


def reply(results: list[Result]) -> dict[str, Any]:
    """OpenRLHF's reply shape."""
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


def score(engine: Engine, body: dict[str, Any], spec: RewardSpec | None = None) -> dict[str, Any]:
    """Score a body in-process (no server, no limits)."""
    return reply(engine.score(to_samples(body), spec=spec))
