"""Settings of the data-recipe commands: ``verirl difficulty``, ``filter``, ``sample`` and ``sft``.

One dataclass each; every field is a flag and a key of ``--config FILE.toml`` (see
``trainer/settings.py``). Like ``trainer/config.py`` this imports nothing heavy, so the
``verirl`` command builds its parsers without torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trainer.config import ScoringSettings, _h


@dataclass
class DifficultyConfig(ScoringSettings):
    model: str = field(default="smollm2", metadata=_h("the grading model (Kimi: an SFT model)"))
    data: str = field(default="", metadata=_h("problems, JSON Lines"))
    output: str = field(default="", metadata=_h("graded problems, JSON Lines (default: DATA.graded.jsonl)"))
    samples: int = field(default=10, metadata=_h("sampled answers per problem"))
    temperature: float = field(default=1.0, metadata=_h("sampling temperature (Kimi: high)"))
    max_new_tokens: int = 64
    edges: list[float] = field(
        default_factory=lambda: [0.2, 0.5, 0.8],
        metadata=_h("pass-rate bucket edges; level = 1 + how many edges lie above the pass rate"),
    )
    tag: bool = field(default=False, metadata=_h("also tag each problem KIND/L<level> (first tag)"))
    histogram: str | None = field(default=None, metadata=_h("PNG of the levels (default: OUTPUT.png)"))
    chunk: int = field(default=16, metadata=_h("problems graded between progress saves"))
    limit: int | None = field(default=None, metadata=_h("only the first N problems"))
    threads: int | None = field(default=None, metadata=_h("torch CPU threads"))


@dataclass
class FilterConfig(ScoringSettings):
    data: str = field(default="", metadata=_h("problems, JSON Lines"))
    output: str = field(default="", metadata=_h("kept problems, JSON Lines"))
    rejects: str = field(default="", metadata=_h("dropped problems with their reasons, JSON Lines"))
    heldout: list[str] = field(default_factory=list, metadata=_h("held-out files to keep clean"))
    similarity: float = field(
        default=0.6, metadata=_h("near-duplicate: word-bigram Jaccard at least this, same numbers")
    )
    model: str | None = field(default=None, metadata=_h("with a model: drop problems it guesses"))
    guesses: int = field(default=8, metadata=_h("direct answers sampled per problem (Kimi: 8)"))
    guess_tokens: int = field(default=8, metadata=_h("tokens a direct answer may take"))
    temperature: float = 1.0
    rules: list[str] = field(
        default_factory=list, metadata=_h("only these rules (default: all); see `verirl filter` docs")
    )


@dataclass
class SampleConfig(ScoringSettings):
    model: str = field(default="smollm2", metadata=_h("the policy to draw responses from"))
    data: str = field(default="", metadata=_h("problems, JSON Lines"))
    output: str = field(default="", metadata=_h("verified {prompt, response} pairs, JSON Lines"))
    samples: int = field(default=8, metadata=_h("responses drawn per problem"))
    keep: str = field(default="all", metadata=_h("all | shortest (Kimi's shortest rejection sampling)"))
    temperature: float = 1.0
    max_new_tokens: int = 64
    limit: int | None = field(default=None, metadata=_h("only the first N problems"))
    threads: int | None = field(default=None, metadata=_h("torch CPU threads"))


@dataclass
class SFTConfig:
    model: str = field(default="smollm2", metadata=_h("the model to fine-tune"))
    data: str = field(default="", metadata=_h("{prompt, response} pairs, JSON Lines (`verirl sample`)"))
    heldout: str | None = field(default=None, metadata=_h("held-out pairs; default: a split of DATA"))
    heldout_fraction: float = field(default=0.1, metadata=_h("share of DATA held out without --heldout"))
    output: str = field(default="runs/sft", metadata=_h("directory of the fine-tuned model"))
    epochs: int = 1
    batch_size: int = field(default=8, metadata=_h("pairs per optimizer step"))
    lr: float = 2e-5
    weight_decay: float = 0.0
    warmup_fraction: float = field(default=0.1, metadata=_h("share of steps with a linear warm-up"))
    max_grad_norm: float = 1.0
    max_length: int = field(default=512, metadata=_h("longest prompt + response kept, in tokens"))
    seed: int = 0
    threads: int | None = field(default=None, metadata=_h("torch CPU threads"))
    device: str | None = field(default=None, metadata=_h("cpu | cuda; default: cuda when available"))
