"""Each loss against its gradient computed by hand.

The "model" is the smallest one whose gradients can be written down: a table of logits
z[b, t, v], one free parameter per response position, so log π(y_t) = z[b,t,y_t] −
logsumexp z[b,t,:] and ∂ log π(y_t) / ∂z[b,t,:] = onehot(y_t) − softmax(z[b,t,:]). Each test
writes ∂L/∂ log π(y_t) from the paper's formula by hand, chains it through that identity,
and compares with autograd.
"""

import math

import pytest
import torch

from trainer.losses import dapo_loss, drgrpo_loss, group_advantages, grpo_loss, kimi_opmd_loss

B, T, V = 6, 5, 7


@pytest.fixture
def setup():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(B, T, V, generator=g, dtype=torch.float64, requires_grad=True)
    tokens = torch.randint(0, V, (B, T), generator=g)
    mask = torch.ones(B, T, dtype=torch.float64)
    mask[0, 3:] = 0  # responses of different lengths
    mask[4, 1:] = 0
    old = (torch.log_softmax(logits.detach(), -1).gather(-1, tokens[..., None])[..., 0]) + 0.3 * torch.randn(
        B, T, generator=g, dtype=torch.float64
    )
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.0], dtype=torch.float64)
    groups = torch.tensor([0, 0, 0, 1, 1, 1])
    return logits, tokens, mask, old, rewards, groups


def _logp(logits, tokens):
    return torch.log_softmax(logits, -1).gather(-1, tokens[..., None])[..., 0]


def _chain(logits, tokens, dl_dlogp):
    """∂L/∂z from ∂L/∂log π(y_t): (onehot(y_t) − softmax(z_t)) · ∂L/∂log π(y_t)."""
    probs = torch.softmax(logits.detach(), -1)
    onehot = torch.nn.functional.one_hot(tokens, V).double()
    return (onehot - probs) * dl_dlogp[..., None]


def _autograd(loss, logits):
    (grad,) = torch.autograd.grad(loss, logits)
    return grad


def test_group_advantages_by_hand():
    rewards = torch.tensor([1.0, 0.0, 0.0, 2.0, 2.0])
    groups = torch.tensor([7, 7, 7, 3, 3])
    assert torch.allclose(
        group_advantages(rewards, groups, "mean"), torch.tensor([2 / 3, -1 / 3, -1 / 3, 0, 0])
    )
    std = math.sqrt(((2 / 3) ** 2 + 2 * (1 / 3) ** 2) / 3)
    expected = torch.tensor([2 / 3 / (std + 1e-4), -1 / 3 / (std + 1e-4), -1 / 3 / (std + 1e-4), 0, 0])
    assert torch.allclose(group_advantages(rewards, groups, "zscore"), expected, atol=1e-6)
    tau = 0.5  # b = τ log mean exp(r/τ) for group 7: τ log((e^2 + 2)/3)
    b = tau * math.log((math.exp(2) + 2) / 3)
    got = group_advantages(rewards, groups, "logmeanexp", tau)
    assert torch.allclose(got[:3], torch.tensor([1 - b, -b, -b]), atol=1e-6)
    assert torch.allclose(got[3:], torch.zeros(2), atol=1e-6)  # equal rewards: b = r
    with pytest.raises(ValueError, match="unknown baseline"):
        group_advantages(rewards, groups, "median")


def test_kimi_opmd_gradient_by_hand(setup):
    logits, tokens, mask, old, rewards, groups = setup
    tau = 0.3
    adv = group_advantages(rewards, groups, "mean").double()
    logp = _logp(logits, tokens)
    loss, stats = kimi_opmd_loss(logp, old, mask, adv, tau=tau)
    # L = (1/B) Σ_b [−A_b S_b + τ/2 (S_b − S_old_b)²], S_b = Σ_t m_bt log π(y_bt)
    # ∂L/∂ log π(y_bt) = (1/B) m_bt [−A_b + τ (S_b − S_old_b)]
    S = (logp.detach() * mask).sum(-1)
    S_old = (old * mask).sum(-1)
    dl = (mask * (-adv + tau * (S - S_old))[:, None]) / B
    assert torch.allclose(_autograd(loss, logits), _chain(logits, tokens, dl), atol=1e-10)
    expected_loss = ((-adv * S) + tau / 2 * (S - S_old) ** 2).mean()
    assert loss.item() == pytest.approx(expected_loss.item())
    assert stats["log_ratio_sq"] == pytest.approx(((S - S_old) ** 2).mean().item())


def test_kimi_first_update_is_plain_policy_gradient(setup):
    """At π_θ = π_θi the squared log-ratio has zero gradient: the step is (r − r̄)∇log π."""
    logits, tokens, mask, _, rewards, groups = setup
    adv = group_advantages(rewards, groups, "mean").double()
    logp = _logp(logits, tokens)
    loss, _ = kimi_opmd_loss(logp, logp.detach(), mask, adv, tau=5.0)
    dl = mask * (-adv)[:, None] / B
    assert torch.allclose(_autograd(loss, logits), _chain(logits, tokens, dl), atol=1e-10)


def _surrogate_grad(ratio, adv, lo, hi):
    """∂/∂ log π of −min(ρA, clip(ρ)A): −ρA where the unclipped term is the min, else 0."""
    a = adv[:, None].expand_as(ratio)
    clipped_is_min = ratio.clamp(1 - lo, 1 + hi) * a < ratio * a
    return torch.where(clipped_is_min, torch.zeros_like(ratio), -ratio * a)


def test_grpo_gradient_by_hand(setup):
    logits, tokens, mask, old, rewards, groups = setup
    g = torch.Generator().manual_seed(1)
    ref = old + 0.2 * torch.randn(B, T, generator=g, dtype=torch.float64)
    adv = group_advantages(rewards, groups, "zscore").double()
    eps, beta = 0.2, 0.05
    logp = _logp(logits, tokens)
    loss, stats = grpo_loss(logp, old, mask, adv, ref_logp=ref, eps=eps, beta=beta)
    ratio = torch.exp(logp.detach() - old)
    # per token: surrogate + β (e^{ref−lp} − (ref−lp) − 1); ∂/∂lp of the KL term = 1 − e^{ref−lp}
    per_token = _surrogate_grad(ratio, adv, eps, eps) + beta * (1 - torch.exp(ref - logp.detach()))
    dl = per_token * mask / mask.sum(-1, keepdim=True) / B  # (1/B) Σ_b (1/|o_b|) Σ_t
    assert torch.allclose(_autograd(loss, logits), _chain(logits, tokens, dl), atol=1e-10)
    assert 0 < stats["clip_fraction"] < 1  # the fixture's old log-probs put some tokens outside the clip
    assert stats["kl"] > 0


def test_drgrpo_gradient_by_hand(setup):
    logits, tokens, mask, old, rewards, groups = setup
    adv = group_advantages(rewards, groups, "mean").double()
    logp = _logp(logits, tokens)
    loss, _ = drgrpo_loss(logp, old, mask, adv, eps=0.2, normaliser=64)
    ratio = torch.exp(logp.detach() - old)
    dl = _surrogate_grad(ratio, adv, 0.2, 0.2) * mask / 64 / B  # constant normaliser, not |o_b|
    assert torch.allclose(_autograd(loss, logits), _chain(logits, tokens, dl), atol=1e-10)


def test_dapo_gradient_by_hand(setup):
    logits, tokens, mask, old, rewards, groups = setup
    adv = group_advantages(rewards, groups, "zscore").double()
    logp = _logp(logits, tokens)
    loss, _ = dapo_loss(logp, old, mask, adv, eps_low=0.2, eps_high=0.28)
    ratio = torch.exp(logp.detach() - old)
    dl = _surrogate_grad(ratio, adv, 0.2, 0.28) * mask / mask.sum()  # every token weighs the same
    assert torch.allclose(_autograd(loss, logits), _chain(logits, tokens, dl), atol=1e-10)


def test_dapo_clips_higher_than_grpo():
    """A token whose ratio rose to 1.25 with a positive advantage still gets gradient under
    DAPO's ε_high = 0.28, but none under GRPO's symmetric 0.2."""
    logp = torch.tensor([[math.log(1.25)]], dtype=torch.float64, requires_grad=True)
    old, mask, adv = torch.zeros(1, 1, dtype=torch.float64), torch.ones(1, 1), torch.tensor([1.0])
    (g_dapo,) = torch.autograd.grad(dapo_loss(logp, old, mask, adv)[0], logp)
    (g_grpo,) = torch.autograd.grad(grpo_loss(logp, old, mask, adv, beta=0.0)[0], logp)
    assert g_dapo.item() == pytest.approx(-1.25)
    assert g_grpo.item() == 0.0
