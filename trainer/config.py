"""Settings of ``verirl train``, ``verirl eval`` and ``verirl plot``: one dataclass each.

Every field is a command-line flag (``trainer/settings.py``) and a key of ``--config
FILE.toml``; ``--help`` shows each with its default. This module imports nothing heavy, so
the ``verirl`` command can build its parsers without torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LOSS_NAMES = ("kimi", "grpo", "drgrpo", "dapo")


def _h(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass
class ScoringSettings:
    """What every command that generates answers and scores them through the reward
    server shares: ``eval`` here, ``difficulty``, ``filter`` and ``sample`` in
    ``trainer/recipe_config.py``. (``train`` has its own, grouped with its rollout.)"""

    batch_size: int = field(default=64, metadata=_h("sequences per generate call"))
    server: str | None = field(default=None, metadata=_h("reward server; default: start one locally"))
    server_config: str | None = field(default=None, metadata=_h("settings file of the local server"))
    seed: int = 0


@dataclass
class TrainConfig:
    # data and run
    model: str = field(default="smollm2", metadata=_h("policy: directory, hub id, .gguf file, or 'smollm2'"))
    data: str = field(default="", metadata=_h("training problems, JSON Lines"))
    heldout: str | None = field(default=None, metadata=_h("held-out problems for eval_every"))
    output: str = field(default="runs/train", metadata=_h("run directory"))
    steps: int = field(default=40, metadata=_h("training steps (Kimi iterations)"))
    max_minutes: float | None = field(default=None, metadata=_h("also stop after this much training time"))
    seed: int = 0
    resume: bool = field(default=False, metadata=_h("continue from OUTPUT/checkpoint"))
    # rewards
    server: str | None = field(default=None, metadata=_h("reward server target; default: start one"))
    server_config: str | None = field(default=None, metadata=_h("settings file of the local server"))
    server_workers: int = field(default=1, metadata=_h("sandbox workers of the local server"))
    correctness: str = field(default="binary", metadata=_h("scorer | binary | fraction"))
    length_weight: float = field(default=0.0, metadata=_h("Kimi length penalty weight"))
    length_warmup_step: int = field(default=0, metadata=_h("length penalty off before this step"))
    format: str | None = field(default=None, metadata=_h("boxed | think | think_boxed format reward"))
    format_weight: float = 0.0
    max_failed_fraction: float = field(default=0.5, metadata=_h("stop when more of a step fails"))
    # rollout
    sampler: str = field(default="uniform", metadata=_h("which problems each step uses"))
    prompts_per_step: int = 8
    samples_per_prompt: int = field(default=8, metadata=_h("k responses per problem"))
    max_new_tokens: int = 64
    temperature: float = 1.0
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list, metadata=_h("stop strings"))
    gen_batch_size: int = field(default=64, metadata=_h("sequences per generate call"))
    curriculum_steps: list[int] = field(
        default_factory=list, metadata=_h("curriculum: the step each next level starts at, at the latest")
    )
    curriculum_threshold: float = field(
        default=0.0, metadata=_h("curriculum: next level once running accuracy reaches this (0: off)")
    )
    curriculum_window: int = field(default=2, metadata=_h("curriculum: steps in the running accuracy"))
    hard_from_step: int = field(default=0, metadata=_h("uniform_then_hard: the step hard-only starts"))
    hard_level: int | None = field(
        default=None, metadata=_h("uniform_then_hard: lowest hard difficulty; default the top level")
    )
    priority_floor: float = field(default=0.05, metadata=_h("prioritized: least weight of a problem"))
    priority_ema: float = field(default=0.5, metadata=_h("prioritized: weight of a step in s_i"))
    retire_after: int = field(
        default=0, metadata=_h("prioritized: retire a problem solved in all its last N groups (0: never)")
    )
    tag_weights: list[str] = field(default_factory=list, metadata=_h("mixture: TAG=WEIGHT per domain"))
    dynamic_sampling: bool = field(
        default=False, metadata=_h("DAPO: drop groups whose rewards are all equal, refill the batch")
    )
    dynamic_max_rounds: int = field(default=3, metadata=_h("dynamic sampling: refill rounds per step"))
    # loss and optimisation
    loss: str = field(default="kimi", metadata=_h("kimi | grpo | drgrpo | dapo"))
    baseline: str | None = field(
        default=None, metadata=_h("mean | logmeanexp | zscore; default: the loss's own")
    )
    tau: float = field(
        default=0.1, metadata=_h("Kimi: weight of the squared log-ratio; logmeanexp temperature")
    )
    clip_eps: float = field(default=0.2, metadata=_h("GRPO/Dr. GRPO clip; DAPO's ε_low"))
    clip_eps_high: float = field(default=0.28, metadata=_h("DAPO's ε_high"))
    kl_beta: float = field(default=0.0, metadata=_h("GRPO: weight of the k3 KL to the initial policy"))
    lr: float = 1e-5
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    updates_per_step: int = field(default=1, metadata=_h("epochs over each step's samples"))
    minibatches: int = field(default=2, metadata=_h("optimizer steps per epoch"))
    micro_batch_size: int = field(default=16, metadata=_h("sequences per forward/backward"))
    reset_optimizer: bool | None = field(
        default=None, metadata=_h("fresh optimizer each step; default: kimi only")
    )
    skip_zero_advantage: bool = field(
        default=True, metadata=_h("leave samples with advantage 0 out of the update")
    )
    lora_rank: int = field(default=0, metadata=_h("LoRA rank; 0 trains every weight"))
    lora_alpha: int = 32
    # logging, evaluation, checkpoints
    eval_every: int = field(
        default=0, metadata=_h("evaluate on --heldout every N steps (and at 0 and the end)")
    )
    eval_samples: int = field(default=0, metadata=_h("sampled answers per held-out problem"))
    eval_limit: int | None = field(default=None, metadata=_h("only the first N held-out problems"))
    save_every: int = field(default=0, metadata=_h("checkpoint every N steps (and at the end)"))
    save_final: bool = field(default=True, metadata=_h("save the trained model to OUTPUT/final"))
    threads: int | None = field(default=None, metadata=_h("torch CPU threads"))
    device: str | None = field(default=None, metadata=_h("cpu | cuda; default: cuda when available"))

    def check(self) -> None:
        if not self.data:
            raise ValueError("--data is required")
        if self.loss not in LOSS_NAMES:
            raise ValueError(f"--loss must be one of {LOSS_NAMES}")
        if self.samples_per_prompt < 2:
            raise ValueError(
                "--samples-per-prompt must be at least 2: advantages compare a group's responses"
            )
        if self.eval_every and not self.heldout:
            raise ValueError("--eval-every needs --heldout")


@dataclass
class EvalConfig(ScoringSettings):
    model: str = field(default="smollm2", metadata={"help": "directory, hub id, .gguf file, or 'smollm2'"})
    data: str = field(default="", metadata={"help": "problems, JSON Lines"})
    output: str | None = field(default=None, metadata={"help": "per-problem results, JSON Lines"})
    samples: int = field(default=0, metadata={"help": "sampled answers per problem (mean accuracy)"})
    max_new_tokens: int = 64
    temperature: float = 1.0
    limit: int | None = field(default=None, metadata={"help": "only the first N problems"})
