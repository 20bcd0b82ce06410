"""The reward-model scorer on a tiny Llama built from a config (random weights, no
download): scores equal transformers' own unbatched forward pass, whatever the padding
side or the concurrency; truncation; clear startup errors; torch only when configured."""

import json
import subprocess
import sys
import threading

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rewards.compose import RewardSpec  # noqa: E402
from rewards.engine import build_engine  # noqa: E402
from rewards.model import ModelConfig, ModelLoadError, ModelScorer  # noqa: E402
from rewards.schema import Kind, Status, decode_sample  # noqa: E402
from rewards.scoring import StartupError  # noqa: E402
from rewards.tiny_model import save_tiny_reward_model  # noqa: E402


@pytest.fixture(scope="module")
def tiny_rm(tmp_path_factory):
    return save_tiny_reward_model(tmp_path_factory.mktemp("rm"), max_positions=96)


def model_sample(i, prompt="What is 2 + 2?", response=None, reference=None):
    ref = {} if reference is None else {"reference": reference}
    return decode_sample(
        {
            "id": f"m{i}",
            "kind": "model",
            "prompt": prompt,
            "response": response or "4 " * (i % 7 + 1),
            "reference": ref,
        }
    )


def unbatched(scorer, sample):
    """transformers' own forward pass on one unpadded sequence, pooled by transformers."""
    ids = scorer.encode(sample).ids
    model = scorer.replicas[0].model
    with torch.inference_mode():
        return model(input_ids=torch.tensor([ids], device=model.device)).logits[0, 0].item()


@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_scores_equal_an_unbatched_forward_pass(tiny_rm, padding_side):
    samples = [model_sample(i, prompt="q " * (i % 5)) for i in range(24)]
    with ModelScorer(ModelConfig(path=str(tiny_rm), padding_side=padding_side, max_batch_size=8)) as scorer:
        results = scorer.score(samples)
        expected = [unbatched(scorer, s) for s in samples]
        batches = scorer.replicas[0].batcher.batches
    assert [r.reward for r in results] == pytest.approx(expected, abs=1e-5)
    assert batches < len(samples)  # they really were batched
    assert len({round(r.reward, 6) for r in results}) > 3  # and the scores differ by input
    for r in results:
        assert r.status is (Status.OK if r.reward > 0 else Status.WRONG)
        assert r.correct == (r.reward > 0)
        assert r.details["score"] == r.reward and r.details["tokens"] > 0


def test_concurrent_requests_share_batches_and_get_their_own_scores(tiny_rm):
    cfg = ModelConfig(path=str(tiny_rm), max_batch_size=16, max_queue_delay_ms=20)
    with ModelScorer(cfg) as scorer:
        per_thread = {
            t: [model_sample(t * 10 + i, prompt=f"thread {t}") for i in range(3)] for t in range(16)
        }
        expected = {t: [unbatched(scorer, s) for s in samples] for t, samples in per_thread.items()}
        got, barrier = {}, threading.Barrier(16)

        def client(t):
            barrier.wait()
            got[t] = [r.reward for r in scorer.score(per_thread[t])]

        threads = [threading.Thread(target=client, args=(t,)) for t in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        batcher = scorer.replicas[0].batcher
        assert batcher.items == 48
        assert batcher.batches <= 24  # 48 requests arrived together; far fewer forward passes
    for t in range(16):
        assert got[t] == pytest.approx(expected[t], abs=1e-5)


def test_the_reference_answer_reaches_the_model(tiny_rm):
    with ModelScorer(ModelConfig(path=str(tiny_rm))) as scorer:
        text = scorer.encoder.render("What is 2 + 2?", "4", "four")
        assert "Reference answer: four" in text and text.index("four") < text.index("assistant")
        plain, with_ref = scorer.score(
            [model_sample(0, response="4"), model_sample(1, response="4", reference="4")]
        )
    assert plain.reward != with_ref.reward


def test_long_prompts_are_truncated_from_the_left_with_a_note(tiny_rm):
    cfg = ModelConfig(path=str(tiny_rm), max_length=40)
    long_prompt = "Preamble: " + "filler words here " * 40 + "the question at the end"
    with ModelScorer(cfg) as scorer:
        result = scorer.score([model_sample(0, prompt=long_prompt, response="an answer")])[0]
        assert result.status in (Status.OK, Status.WRONG)
        assert result.details["tokens"] <= 40
        assert result.details["truncated"].startswith("prompt truncated from the left")
        kept = scorer.encoder.tokenizer.decode(
            scorer.encode(model_sample(0, prompt=long_prompt, response="an answer")).ids
        )
        assert "the question at the end" in kept and "Preamble" not in kept
        too_long = scorer.score([model_sample(1, prompt="hi", response="word " * 200)])[0]
    assert too_long.status is Status.INVALID_INPUT and "the response alone does not fit" in too_long.message
    with ModelScorer(ModelConfig(path=str(tiny_rm), max_length=40, truncation="reject")) as scorer:
        rejected = scorer.score([model_sample(0, prompt=long_prompt)])[0]
    assert rejected.status is Status.INVALID_INPUT and "truncation is 'reject'" in rejected.message


def test_broken_models_are_clear_errors_at_startup(tiny_rm, tmp_path):
    with pytest.raises(ModelLoadError, match="no such directory"):
        ModelScorer(ModelConfig(path=str(tmp_path / "missing")))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match=r"without config\.json"):
        ModelScorer(ModelConfig(path=str(empty)))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{ not json")
    with pytest.raises(ModelLoadError, match="could not be loaded"):
        ModelScorer(ModelConfig(path=str(broken)))
    two = tmp_path / "two"
    config = json.loads((tiny_rm / "config.json").read_text())
    save_tiny_reward_model(two)
    (two / "config.json").write_text(
        json.dumps({**config, "num_labels": 2, "id2label": {"0": "a", "1": "b"}})
    )
    with pytest.raises(ModelLoadError):
        ModelScorer(ModelConfig(path=str(two)))
    with pytest.raises(StartupError, match="unknown setting 'batch'"):
        build_engine(1, sandbox=False, model={"path": str(tiny_rm), "batch": 4})
    with pytest.raises(StartupError, match=r"model\.max_batch_size: expected"):
        build_engine(1, sandbox=False, model={"path": str(tiny_rm), "max_batch_size": "8"})
    with pytest.raises(StartupError, match="max_batch_size and max_batch_tokens must be >= 1"):
        build_engine(1, sandbox=False, model={"path": str(tiny_rm), "max_batch_size": 0})


def test_a_base_model_without_a_score_head_is_refused(tmp_path):
    from transformers import LlamaForCausalLM

    from rewards.tiny_model import build_tiny_reward_model

    classifier, tokenizer = build_tiny_reward_model()
    LlamaForCausalLM(classifier.config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match="no trained score head"):
        ModelScorer(ModelConfig(path=str(tmp_path)))


def test_engine_serves_the_model_kind_and_composes(tiny_rm):
    with build_engine(1, sandbox=False, model={"path": str(tiny_rm)}) as engine:
        assert engine.readiness()[Kind.MODEL] == (True, True, "")
        samples = [
            decode_sample({"id": f"g{i}", "kind": "model", "prompt": "p", "response": "x" * n, "group": "g"})
            for i, n in enumerate((10, 30))
        ]
        raw = engine.score(samples)
        composed = engine.score(samples, spec=RewardSpec(length_weight=1.0))
    assert [r.reward for r in composed] == pytest.approx(
        # the shorter gets λ = 0.5 only when correct (min(0, λ) otherwise); the longer −0.5 either way
        [raw[0].reward + (0.5 if raw[0].correct else 0.0), raw[1].reward - 0.5]
    )


def test_torch_is_imported_only_when_a_model_is_configured():
    code = (
        "import sys; from rewards.engine import build_engine; import verirl.server, verirl.cli;"
        "e = build_engine(1, sandbox=False); e.close(); print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "False"


def test_gguf_paths_load_from_their_directory(tmp_path):
    from rewards.model import model_source

    with pytest.raises(ModelLoadError, match="no such GGUF file"):
        model_source(str(tmp_path / "m.gguf"))
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    assert model_source(str(tmp_path / "m.gguf")) == (str(tmp_path), {"gguf_file": "m.gguf"})
    assert model_source("org/name") == ("org/name", {})  # a hub id, tried where a hub is reachable
