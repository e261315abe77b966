"""GAN losses and gradient penalties.

Every loss answers the same two questions from D's raw outputs (logits or critic
values): ``d_loss(real_out, fake_out)`` and ``g_loss(fake_out)``, so losses swap
freely (compare_gan's loss_lib habit). Penalties share one signature too:
``penalty(D, real, fake) -> scalar``, added to D's loss with a weight.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbench.registry import LOSSES

LOG4 = math.log(4.0)


class GANLoss:
    """Base class: subclasses define d_loss and g_loss on D's raw outputs."""

    #: D's output read as a probability D(x) in (0, 1); None for critics.
    probabilistic: bool = False
    #: the value D takes everywhere at the game's equilibrium (1/2 for the GAN paper's game).
    equilibrium: float | None = None
    #: WGAN-GP adds the gradient penalty of Gulrajani et al. 2017 with this weight.
    gp_weight: float = 0.0
    #: WGAN clips every D weight into [-clip, clip] after each D step.
    clip: float | None = None

    def d_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        raise NotImplementedError

    def g_loss(self, fake_out: Tensor) -> Tensor:
        raise NotImplementedError

    def prob(self, out: Tensor) -> Tensor:
        """D(x) as a probability; for critics, the raw output."""
        return torch.sigmoid(out) if self.probabilistic else out


def value_fn(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """V(D,G) = E log D(x) + E log(1 - D(G(z))) from logits; equals -log 4 at D = 1/2."""
    return F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean()


@LOSSES.register("minimax")
class Minimax(GANLoss):
    """Goodfellow 2014 saturating game: G minimises log(1 - D(G(z)))."""

    probabilistic, equilibrium = True, 0.5

    def d_loss(self, real_out, fake_out):  # -[log D(x) + log(1 - D(G(z)))]
        return -value_fn(real_out, fake_out)

    def g_loss(self, fake_out):  # log(1 - D(G(z))) = log sigmoid(-l)
        return F.logsigmoid(-fake_out).mean()


@LOSSES.register("nonsaturating")
class NonSaturating(Minimax):
    """Goodfellow 2014 non-saturating heuristic: G minimises -log D(G(z))."""

    def g_loss(self, fake_out):  # -log D(G(z)) = -log sigmoid(l)
        return -F.logsigmoid(fake_out).mean()


@LOSSES.register("lsgan")
class LeastSquares(GANLoss):
    """Mao et al. 2017 least squares with targets a=0, b=c=1 (optimal D = p_data/(p_data+p_g))."""

    equilibrium = 0.5

    def d_loss(self, real_out, fake_out):  # 1/2 E(D(x)-1)^2 + 1/2 E D(G(z))^2
        return 0.5 * ((real_out - 1) ** 2).mean() + 0.5 * (fake_out**2).mean()

    def g_loss(self, fake_out):  # 1/2 E(D(G(z))-1)^2
        return 0.5 * ((fake_out - 1) ** 2).mean()


@LOSSES.register("hinge")
class Hinge(GANLoss):
    """Lim & Ye 2017 / SAGAN hinge loss: D on max(0, 1 -+ D), G maximises D(G(z))."""

    def d_loss(self, real_out, fake_out):  # E relu(1 - D(x)) + E relu(1 + D(G(z)))
        return F.relu(1 - real_out).mean() + F.relu(1 + fake_out).mean()

    def g_loss(self, fake_out):  # -E D(G(z))
        return -fake_out.mean()


@LOSSES.register("wgan")
class Wasserstein(GANLoss):
    """Arjovsky et al. 2017 WGAN: critic E D(G(z)) - E D(x), weights clipped to [-c, c]."""

    def __init__(self, clip: float = 0.01):
        self.clip = clip

    def d_loss(self, real_out, fake_out):  # E D(G(z)) - E D(x)
        return fake_out.mean() - real_out.mean()

    def g_loss(self, fake_out):  # -E D(G(z))
        return -fake_out.mean()


@LOSSES.register("wgan-gp")
class WassersteinGP(Wasserstein):
    """Gulrajani et al. 2017 WGAN-GP: WGAN critic plus lambda E(||grad D(x_hat)|| - 1)^2, no clipping."""

    def __init__(self, gp_weight: float = 10.0):
        self.clip = None
        self.gp_weight = gp_weight


def make_loss(name: str, *, clip: float = 0.01, gp_weight: float = 10.0) -> GANLoss:
    """Build a registered loss with the suite's loss parameters."""
    cls = LOSSES.get(name)
    if issubclass(cls, WassersteinGP):
        return cls(gp_weight=gp_weight)
    if issubclass(cls, Wasserstein):
        return cls(clip=clip)
    return cls()


# --- gradient penalties: penalty(D, real, fake) -> scalar -----------------------------


def _grad_sq_norm(D: nn.Module, x: Tensor) -> Tensor:
    """Per-sample squared norm of dD/dx, kept in the graph so D can be trained on it."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(1)


def r1_penalty(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """Mescheder et al. 2018 R1: 1/2 E_data ||grad D(x)||^2 (weight gamma multiplies it)."""
    return 0.5 * _grad_sq_norm(D, real).mean()


def r2_penalty(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """Mescheder et al. 2018 R2: 1/2 E_G ||grad D(G(z))||^2."""
    return 0.5 * _grad_sq_norm(D, fake).mean()


def gradient_penalty(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """Gulrajani et al. 2017: E (||grad D(x_hat)|| - 1)^2 on random interpolates x_hat."""
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    x_hat = eps * real.detach() + (1 - eps) * fake.detach()
    return (_grad_sq_norm(D, x_hat).add(1e-12).sqrt() - 1).pow(2).mean()


PENALTIES: dict[str, Callable[[nn.Module, Tensor, Tensor], Tensor]] = {
    "r1": r1_penalty,
    "r2": r2_penalty,
}
