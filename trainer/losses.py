"""Policy-gradient losses: small pure functions of tensors, one per algorithm.

Every loss takes per-token log-probabilities of the sampled responses under the policy
being trained (``logp``, shape ``(B, T)``, with graph), the same under the policy that
sampled them (``old_logp``, no graph), a ``mask`` of real response tokens (``(B, T)``,
1.0/0.0) and per-response ``advantages`` (``(B,)``), and returns ``(loss, stats)``:
a scalar to minimise and a dict of detached floats for the logs. The training loop picks
one by name from :data:`LOSSES`; nothing in here knows about models or data.

Advantages come from :func:`group_advantages`, which compares each response with the
other responses to the same prompt (its ``group``): no value network anywhere.

Example:
    >>> import torch
    >>> from trainer.losses import group_advantages, kimi_opmd_loss
    >>> rewards, groups = torch.tensor([1.0, 0.0, 0.0, 0.0]), torch.tensor([0, 0, 1, 1])
    >>> group_advantages(rewards, groups, "mean").tolist()
    [0.5, -0.5, 0.0, 0.0]
    >>> logp, adv = torch.zeros(4, 3, requires_grad=True), group_advantages(rewards, groups, "mean")
    >>> loss, stats = kimi_opmd_loss(logp, logp.detach(), torch.ones(4, 3), adv)
    >>> round(loss.item(), 6), sorted(stats)
    (0.0, ['log_ratio_sq', 'pg_loss'])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Stats = dict[str, float]


# --------------------------------------------------------------------------- advantages


def _group_mean(values: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """Each element's group mean (``groups`` holds integer group ids)."""
    ids, inverse = torch.unique(groups, return_inverse=True)
    sums = torch.zeros(len(ids), dtype=values.dtype).index_add_(0, inverse, values)
    counts = torch.zeros(len(ids), dtype=values.dtype).index_add_(0, inverse, torch.ones_like(values))
    return (sums / counts)[inverse]


def group_advantages(
    rewards: torch.Tensor, groups: torch.Tensor, baseline: str = "mean", tau: float = 1.0
) -> torch.Tensor:
    """``r_j − b`` with ``b`` computed over the responses sharing ``r_j``'s group.

    - ``mean``: b = r̄, the group's mean reward (Kimi k1.5 Eq. 3; Dr. GRPO).
    - ``logmeanexp``: b = τ·log( (1/k) Σ_j exp(r_j/τ) ), the soft-max baseline that the
      Kimi k1.5 report derives from the closed-form mirror-descent solution.
    - ``zscore``: (r_j − r̄) / (std_j + 1e-4), GRPO's normalised advantage (population std).
    """
    rewards = rewards.float()
    if baseline == "mean":
        return rewards - _group_mean(rewards, groups)
    if baseline == "logmeanexp":
        ids, inverse = torch.unique(groups, return_inverse=True)
        out = torch.empty_like(rewards)
        for g in range(len(ids)):
            rows = inverse == g
            r = rewards[rows] / tau
            # τ·log mean exp(r/τ), computed stably with logsumexp
            out[rows] = rewards[rows] - tau * (torch.logsumexp(r, 0) - torch.log(torch.tensor(float(len(r)))))
        return out
    if baseline == "zscore":
        centred = rewards - _group_mean(rewards, groups)
        std = _group_mean(centred**2, groups).sqrt()
        return centred / (std + 1e-4)
    raise ValueError(f"unknown baseline {baseline!r}; one of mean, logmeanexp, zscore")


# --------------------------------------------------------------------------- losses


def kimi_opmd_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    mask: torch.Tensor,
    advantages: torch.Tensor,
    tau: float = 0.1,
) -> tuple[torch.Tensor, Stats]:
    """Kimi k1.5 online policy mirror descent (report Eq. 3), sequence-level.

    The report's update direction for one problem with k responses y_j ~ π_θi is
        g = (1/k) Σ_j [ ∇ log π_θ(y_j|x) · (r_j − r̄) − (τ/2) ∇ (log π_θ(y_j|x) − log π_θi(y_j|x))² ]
    We minimise its negative, averaged over every response in the batch:
        L = mean_j [ −(r_j − r̄) · log π_θ(y_j|x) + (τ/2) · (log π_θ(y_j|x) − log π_θi(y_j|x))² ]
    with log π(y|x) = Σ_t log π(y_t | x, y_<t) over the response tokens. ``old_logp`` is
    π_θi, the model at the start of the iteration: the squared log-ratio keeps the several
    optimizer steps of one iteration near it. (``advantages`` = r_j − r̄, or the
    log-mean-exp baseline, from :func:`group_advantages`.)
    """
    seq_logp = (logp * mask).sum(-1)  # log π_θ(y_j|x)
    seq_old = (old_logp * mask).sum(-1)  # log π_θi(y_j|x)
    pg = -(advantages * seq_logp)  # −(r_j − r̄)·log π_θ(y_j|x)
    log_ratio_sq = (seq_logp - seq_old) ** 2  # (log π_θ − log π_θi)²
    loss = (pg + 0.5 * tau * log_ratio_sq).mean()
    return loss, {"pg_loss": pg.mean().item(), "log_ratio_sq": log_ratio_sq.mean().item()}


def _clipped_surrogate(
    logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, eps_low: float, eps_high: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token −min(ρ·A, clip(ρ, 1−ε_low, 1+ε_high)·A), and which tokens were clipped."""
    ratio = torch.exp(logp - old_logp)  # ρ_t = π_θ(o_t) / π_old(o_t)
    adv = advantages[:, None]
    unclipped = ratio * adv
    clipped = ratio.clamp(1 - eps_low, 1 + eps_high) * adv
    return -torch.minimum(unclipped, clipped), (clipped < unclipped).float()


def _k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimator of KL(π_θ‖π_ref): exp(ref − θ) − (ref − θ) − 1 ≥ 0."""
    diff = ref_logp - logp
    return torch.exp(diff) - diff - 1


def grpo_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    mask: torch.Tensor,
    advantages: torch.Tensor,
    ref_logp: torch.Tensor | None = None,
    eps: float = 0.2,
    beta: float = 0.04,
) -> tuple[torch.Tensor, Stats]:
    """GRPO (DeepSeekMath): clipped ratio, k3 KL to a frozen reference, 1/|o| per response.

        L = mean_i (1/|o_i|) Σ_t [ −min(ρ_t·A_i, clip(ρ_t, 1−ε, 1+ε)·A_i) + β·KL_k3,t ]
    with A_i the group z-score (``group_advantages(..., "zscore")``).
    """
    surrogate, clipped = _clipped_surrogate(logp, old_logp, advantages, eps, eps)
    per_token = surrogate
    kl = torch.zeros(())
    if beta and ref_logp is not None:
        kl_t = _k3_kl(logp, ref_logp)
        per_token = per_token + beta * kl_t
        kl = _masked_seq_mean(kl_t, mask).mean()
    lengths = mask.sum(-1).clamp(min=1)
    loss = ((per_token * mask).sum(-1) / lengths).mean()  # (1/|o_i|) Σ_t, then mean over i
    return loss, {"kl": kl.item(), "clip_fraction": _masked_mean(clipped, mask)}


def drgrpo_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    mask: torch.Tensor,
    advantages: torch.Tensor,
    eps: float = 0.2,
    normaliser: float | None = None,
) -> tuple[torch.Tensor, Stats]:
    """Dr. GRPO ("Understanding R1-Zero-like training"): GRPO without its two biases.

        L = (1/B) Σ_i (1/C) Σ_t −min(ρ_t·A_i, clip(ρ_t, 1−ε, 1+ε)·A_i)
    with A_i = r_i − r̄ (no division by the group std: ``group_advantages(..., "mean")``) and
    a constant C (default: the padded width T, i.e. max new tokens) instead of 1/|o_i|, so
    long wrong answers are not penalised less per token than short ones.
    """
    surrogate, clipped = _clipped_surrogate(logp, old_logp, advantages, eps, eps)
    constant = float(normaliser or mask.shape[-1])
    loss = ((surrogate * mask).sum(-1) / constant).mean()
    return loss, {"clip_fraction": _masked_mean(clipped, mask)}


def dapo_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    mask: torch.Tensor,
    advantages: torch.Tensor,
    eps_low: float = 0.2,
    eps_high: float = 0.28,
) -> tuple[torch.Tensor, Stats]:
    """DAPO: clip-higher (ε_low 0.2, ε_high 0.28), token-level normalisation, no KL.

        L = (1 / Σ_i |o_i|) Σ_i Σ_t −min(ρ_t·A_i, clip(ρ_t, 1−ε_low, 1+ε_high)·A_i)
    with A_i the group z-score. Every token of the batch weighs the same, whatever the
    length of its response.
    """
    surrogate, clipped = _clipped_surrogate(logp, old_logp, advantages, eps_low, eps_high)
    loss = (surrogate * mask).sum() / mask.sum().clamp(min=1)
    return loss, {"clip_fraction": _masked_mean(clipped, mask)}


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> float:
    return ((values * mask).sum() / mask.sum().clamp(min=1)).item()


def _masked_seq_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (values * mask).sum(-1) / mask.sum(-1).clamp(min=1)


@dataclass(frozen=True)
class LossSpec:
    """A loss, the advantage baseline it is defined with, and what it averages over
    (``token``: every token of the batch weighs the same, so gradient accumulation over
    micro-batches weighs them by tokens, not by sequences)."""

    fn: Callable[..., tuple[torch.Tensor, Stats]]
    baseline: str
    per_token: bool = False


LOSSES: dict[str, LossSpec] = {
    "kimi": LossSpec(kimi_opmd_loss, "mean"),
    "grpo": LossSpec(grpo_loss, "zscore"),
    "drgrpo": LossSpec(drgrpo_loss, "mean"),
    "dapo": LossSpec(dapo_loss, "zscore", per_token=True),
}
