"""verl ``compute_score`` functions backed by a verirl server.

Point verl's ``custom_reward_function.path`` at this file and ``name`` at
``compute_score``: it takes verl's single-sample call and its batch reward manager's
plural-keyword call alike. The server is ``$VERIRL_SERVER`` (default ``127.0.0.1:50051``), with
``$VERIRL_TOKEN`` when it needs one. ``ground_truth`` is the gold answer (math) or a
reference object (dict or JSON text) with a ``"kind"`` for the other kinds.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from typing import Any

from rewards.schema import JSON
from verirl.client import RewardClient

_client: RewardClient | None = None
_lock = threading.Lock()


def _shared_client() -> RewardClient:
    global _client
    with _lock:
        if _client is None:
            target = os.environ.get("VERIRL_SERVER", "127.0.0.1:50051")
            _client = RewardClient(target, token=os.environ.get("VERIRL_TOKEN"))
        return _client


def _sample(i: int, solution: str, ground_truth: Any, extra_info: Any) -> dict[str, JSON]:
    truth = ground_truth
    if isinstance(truth, str) and truth.lstrip().startswith("{"):
        with contextlib.suppress(ValueError):
            truth = json.loads(truth)
    sample: dict[str, JSON] = {"id": str(i), "response": solution}
    if isinstance(truth, dict) and "kind" in truth:
        sample.update(kind=truth["kind"], reference=truth.get("reference", {}))
    else:
        sample.update(kind="math", reference={"answer": str(truth)})
    if isinstance(extra_info, dict) and isinstance(extra_info.get("prompt"), str):
        sample["prompt"] = extra_info["prompt"]
    return sample


def _as_verl(result: Any) -> dict[str, Any]:
    return {"score": result.reward, "acc": float(result.correct), "status": result.status.value}


def compute_score(
    data_source: str | None = None,
    solution_str: str | None = None,
    ground_truth: Any = None,
    extra_info: Any = None,
    **kw: Any,
):
    """One sample → ``{"score": reward, "acc": 0|1, "status": ...}``. verl's batch reward
    manager calls the same name with plural keywords (``solution_strs=[...]``, ...):
    then the whole batch is scored in one call and a list comes back."""
    if "solution_strs" in kw:
        return compute_score_batch(**kw)
    result = _shared_client().score([_sample(0, solution_str or "", ground_truth, extra_info)])[0]
    return _as_verl(result)


def compute_score_batch(data_sources=None, solution_strs=(), ground_truths=(), extra_infos=None, **_: Any):
    """verl's batch form: one dict per sample, scored in one batched call."""
    extra_infos = extra_infos or [None] * len(solution_strs)
    samples = [
        _sample(i, s, g, e)
        for i, (s, g, e) in enumerate(zip(solution_strs, ground_truths, extra_infos, strict=True))
    ]
    return [_as_verl(r) for r in _shared_client().score(samples)]
