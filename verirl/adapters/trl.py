"""A TRL ``GRPOTrainer`` reward function backed by a verirl server.

    from verirl.adapters.trl import reward_function
    trainer = GRPOTrainer(..., reward_funcs=[reward_function("127.0.0.1:50051")])

TRL calls ``f(prompts, completions, completion_ids, **columns)`` with one entry per
completion and the dataset's columns as keyword lists; the function is ``async``, so TRL
awaits it concurrently with its other reward functions. Completions may be plain text or
conversations (lists of ``{"role", "content"}``); the last assistant message is scored.
The gold answer comes from ``answer_column`` (math; for ``model``, an optional reference
answer); for code, ``reference_column`` holds the whole reference object (a dict, or JSON
text).

The k completions of one prompt share a ``group``; ``completion_ids`` give each
``response_tokens`` and TRL's ``trainer_state.global_step`` is the request's ``step``, so
a ``spec`` with a length penalty measures tokens and ends its warm-up on time. TRL
scores each process's slice separately: when a group is spread over processes, the
server answers ``invalid_input`` for the late slice rather than a per-slice penalty —
score group terms where whole groups are (one process, or verirl's own trainer).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from rewards.compose import RewardSpec
from rewards.schema import JSON, Status
from verirl.client import AsyncRewardClient, ClientOptions

_NO_VERDICT = {Status.INTERNAL_ERROR, Status.INVALID_INPUT}


def _text(completion: Any) -> str:
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):  # conversational: [{"role": ..., "content": ...}, ...]
        replies = [
            m.get("content", "") for m in completion if isinstance(m, dict) and m.get("role") == "assistant"
        ]
        return replies[-1] if replies else ""
    return str(completion)


def _prompt_text(prompt: Any) -> str:
    if isinstance(prompt, list):
        return "\n".join(str(m.get("content", "")) for m in prompt if isinstance(m, dict))
    return str(prompt)


def build_samples(
    prompts: list[Any],
    completions: list[Any],
    kind: str,
    columns: dict[str, list[Any]],
    answer_column: str,
    reference_column: str,
    completion_ids: list[list[int]] | None = None,
    nonce: str = "",
) -> list[dict[str, JSON]]:
    samples = []
    for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
        prompt_text = _prompt_text(prompt)
        if kind == "math":
            reference: JSON = {"answer": str(columns[answer_column][i])}
        elif kind == "model":
            answers = columns.get(answer_column)
            reference = {} if answers is None else {"reference": str(answers[i])}
        else:
            value = columns.get(reference_column, [{}] * len(prompts))[i]
            reference = json.loads(value) if isinstance(value, str) else value
        sample: dict[str, JSON] = {
            "id": str(i),
            "kind": kind,
            "prompt": prompt_text,
            "response": _text(completion),
            "reference": reference,
            # The k completions of one prompt form a group (for group-level rewards); the
            # nonce keeps a second run on the same server from reusing a step's group names.
            "group": nonce + hashlib.sha1(prompt_text.encode()).hexdigest()[:16],
        }
        if completion_ids is not None:
            sample["response_tokens"] = len(completion_ids[i])
        samples.append(sample)
    return samples


def reward_function(
    target: str = "127.0.0.1:50051",
    *,
    kind: str = "math",
    answer_column: str = "answer",
    reference_column: str = "reference",
    options: ClientOptions | None = None,
    spec: RewardSpec | dict[str, JSON] | None = None,
):
    """An async TRL reward function scoring completions on the verirl server at ``target``;
    ``spec`` composes the rewards (default: the server's). A sample that got no verdict
    (``internal_error``, ``invalid_input``) is ``None``, which TRL leaves out, never 0."""
    clients: dict[int, AsyncRewardClient] = {}
    nonce = uuid.uuid4().hex[:8] + "-"

    async def verirl_reward(prompts, completions, completion_ids=None, **columns) -> list[float | None]:
        import asyncio

        loop_id = id(asyncio.get_running_loop())
        if loop_id not in clients:  # a grpc.aio channel belongs to one event loop
            clients[loop_id] = AsyncRewardClient(target, options)
        state = columns.pop("trainer_state", None)
        step = getattr(state, "global_step", None)
        samples = build_samples(
            prompts, completions, kind, columns, answer_column, reference_column, completion_ids, nonce
        )
        results = await clients[loop_id].score(samples, spec=spec, step=step)
        return [None if r.status in _NO_VERDICT else r.reward for r in results]

    verirl_reward.__name__ = f"verirl_{kind}"
    return verirl_reward
