"""GAN losses and gradient penalties.

Every loss answers the same two questions from D's raw outputs (logits or critic
values): ``d_loss(real_out, fake_out)`` and ``g_loss(fake_out, real_out=None)``, so losses
swap freely (compare_gan's loss_lib habit). Only the relativistic losses (``g_uses_real``)
read ``real_out`` in G's loss: the training loop then passes D's outputs on a real batch
drawn in the G update; every other loss ignores it. Every loss is plain tensor ops (no
``.item()``, no branching on values), so it runs under ``torch.vmap`` over stacked trials.
Penalties share one signature too: ``penalty(D, real, fake, lead_dims=1) -> scalar`` (one value
per trial for stacked trials, whose inputs carry a trial dimension in front), added to D's loss with a weight.

A loss declares what it needs of the training loop (class attributes, so nothing tests a loss's name):
``g_uses_real``, ``clips_weights``, ``double_backward`` (its own penalty differentiates D's gradient),
``stackable`` (``torch.vmap`` runs it over stacked trials), the TrialConfig keys it takes (``config_keys``) and,
for a plugin, its own options (``Options``, a pydantic model); ``GANLoss.from_config(cfg)`` builds it.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbench.registry import LOSSES

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ganbench.config import TrialConfig

LOG4 = math.log(4.0)


class GANLoss:
    """Base class: subclasses define d_loss and g_loss on D's raw outputs."""

    #: D's output read as a probability D(x) in (0, 1); None for critics.
    probabilistic: bool = False
    #: the value D takes everywhere at the game's equilibrium (1/2 for the GAN paper's game).
    equilibrium: float | None = None
    #: WGAN-GP's gradient-penalty weight lambda (its ``penalties``); 0 for every other loss
    gp_weight: float = 0.0
    #: the bound c of WGAN's weight clipping (with ``clips_weights``)
    clip: float | None = None
    #: G's loss reads D's outputs on real data (relativistic losses): each G update draws a
    #: real batch and passes ``real_out``; g_loss raises ValueError without it.
    g_uses_real: ClassVar[bool] = False
    #: D's weights are clipped into [-clip, clip] after each D step (WGAN)
    clips_weights: ClassVar[bool] = False
    #: the loss's own penalties (``penalties``) differentiate D's gradient: a double backward, which
    #: torch.compile and the FLOP counter cannot follow and which costs memory (WGAN-GP)
    double_backward: ClassVar[bool] = False
    #: plain tensor ops on D's outputs, no global RNG: ``torch.vmap`` runs it over stacked trials
    #: (``execution.batch_trials``). A plugin loss says so itself; a loss that does not is refused by name.
    stackable: ClassVar[bool] = False
    #: the TrialConfig keys ``from_config`` passes to ``__init__`` as keyword arguments
    config_keys: ClassVar[tuple[str, ...]] = ()
    #: a plugin loss's own options: a pydantic model whose fields ``from_config`` passes to ``__init__``,
    #: set in a suite under the loss's name (``params: {my_loss: {margin: 0.5}}`` or ``my_loss.margin``)
    Options: ClassVar["type[BaseModel] | None"] = None

    @classmethod
    def from_config(cls, cfg: "TrialConfig") -> "GANLoss":
        """The loss of a trial: its ``config_keys`` from ``cfg`` and its own options (``cfg.options``)."""
        from ganbench.options import options_for

        return cls(**{key: getattr(cfg, key) for key in cls.config_keys}, **options_for(cfg, cfg.loss))

    def penalties(self) -> dict[str, Any]:
        """The penalties of ``PENALTIES`` this loss adds to D's loss, by name, with their weights."""
        return {}

    def d_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        raise NotImplementedError

    def g_loss(self, fake_out: Tensor, real_out: Tensor | None = None) -> Tensor:
        """G's loss from D's outputs on G's samples (and on a real batch, read only when ``g_uses_real``)."""
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

    probabilistic, equilibrium, stackable = True, 0.5, True

    def d_loss(self, real_out, fake_out):  # -[log D(x) + log(1 - D(G(z)))]
        return -value_fn(real_out, fake_out)

    def g_loss(self, fake_out, real_out=None):  # log(1 - D(G(z))) = log sigmoid(-l)
        return F.logsigmoid(-fake_out).mean()


@LOSSES.register("nonsaturating")
class NonSaturating(Minimax):
    """Goodfellow 2014 non-saturating heuristic: G minimises -log D(G(z))."""

    def g_loss(self, fake_out, real_out=None):  # -log D(G(z)) = -log sigmoid(l)
        return -F.logsigmoid(fake_out).mean()


@LOSSES.register("lsgan")
class LeastSquares(GANLoss):
    """Mao et al. 2017 least squares with targets a=0, b=c=1 (optimal D = p_data/(p_data+p_g))."""

    equilibrium, stackable = 0.5, True

    def d_loss(self, real_out, fake_out):  # 1/2 E(D(x)-1)^2 + 1/2 E D(G(z))^2
        return 0.5 * ((real_out - 1) ** 2).mean() + 0.5 * (fake_out**2).mean()

    def g_loss(self, fake_out, real_out=None):  # 1/2 E(D(G(z))-1)^2
        return 0.5 * ((fake_out - 1) ** 2).mean()


@LOSSES.register("hinge")
class Hinge(GANLoss):
    """Lim & Ye 2017 / SAGAN hinge loss: D on max(0, 1 -+ D), G maximises D(G(z))."""

    stackable = True

    def d_loss(self, real_out, fake_out):  # E relu(1 - D(x)) + E relu(1 + D(G(z)))
        return F.relu(1 - real_out).mean() + F.relu(1 + fake_out).mean()

    def g_loss(self, fake_out, real_out=None):  # -E D(G(z))
        return -fake_out.mean()


@LOSSES.register("wgan")
class Wasserstein(GANLoss):
    """Arjovsky et al. 2017 WGAN: critic E D(G(z)) - E D(x), weights clipped to [-c, c]."""

    clips_weights, stackable, config_keys = True, True, ("clip",)

    def __init__(self, clip: float = 0.01):
        self.clip = clip

    def d_loss(self, real_out, fake_out):  # E D(G(z)) - E D(x)
        return fake_out.mean() - real_out.mean()

    def g_loss(self, fake_out, real_out=None):  # -E D(G(z))
        return -fake_out.mean()


@LOSSES.register("wgan-gp")
class WassersteinGP(Wasserstein):
    """Gulrajani et al. 2017 WGAN-GP: WGAN critic plus lambda E(||grad D(x_hat)|| - 1)^2, no clipping.

    The penalty is ``PENALTIES["gp"]``, added by the D update like R1/R2. Not stackable: its interpolation
    weights come from torch's global generator, not from each stacked trial's own stream."""

    clips_weights, double_backward, stackable, config_keys = False, True, False, ("gp_weight",)

    def __init__(self, gp_weight: float = 10.0):
        self.clip = None
        self.gp_weight = gp_weight

    def penalties(self) -> dict[str, Any]:
        return {"gp": self.gp_weight}


# --- relativistic losses: D judges whether real data is more realistic than fake ------------


class Relativistic(GANLoss):
    """Base of the relativistic losses: ``critic(a, b)`` is small when a looks more real than b.

    D minimises ``critic(real, fake)``, G minimises ``critic(fake, real)`` (the roles swapped, as in
    Jolicoeur-Martineau's code), so G's loss needs D's outputs on a real batch. Minibatch means
    ("averaged" losses) stay in the graph: D's gradient flows through both terms. C is the
    raw output (a logit); the loss is on the pair, so there is no probability or equilibrium D.
    """

    probabilistic, equilibrium = False, None
    g_uses_real, stackable = True, True

    def critic(self, a: Tensor, b: Tensor) -> Tensor:
        raise NotImplementedError

    def d_loss(self, real_out, fake_out):
        return self.critic(real_out, fake_out)

    def g_loss(self, fake_out, real_out=None):
        if real_out is None:
            raise ValueError(
                f"{type(self).__name__}.g_loss needs D's outputs on real data (real_out): a relativistic "
                "G loss compares C(x_f) with C(x_r), so each G update must also draw a real batch"
            )
        return self.critic(fake_out, real_out)


@LOSSES.register("rsgan")
class RSGAN(Relativistic):
    """Jolicoeur-Martineau 2019 relativistic standard GAN (RSGAN): BCE on paired C(x_r) - C(x_f).

    "The relativistic discriminator: a key element missing from standard GAN" (ICLR 2019,
    arXiv:1807.00734).
    L_D = E softplus(-(C(x_r) - C(x_f))), L_G = E softplus(-(C(x_f) - C(x_r))), the i-th real paired
    with the i-th fake (equal batch sizes), as ``BCE_stable(y_pred - y_pred_fake, 1)`` in
    AlexiaJM/RelativisticGAN. Both equal log 2 when C(x_r) = C(x_f).
    """

    def critic(self, a, b):  # E softplus(-(C(a_i) - C(b_i)))
        return F.softplus(b - a).mean()


@LOSSES.register("rpgan")
class RpGAN(RSGAN):
    """Huang et al. 2024 R3GAN's relativistic pairing GAN (RpGAN): softplus of paired C(x_f) - C(x_r).

    "The GAN is dead; long live the GAN! A Modern GAN Baseline" (NeurIPS 2024, arXiv:2501.05441).
    L_D = E softplus(-(C(x_r) - C(x_f))), L_G = E softplus(-(C(x_f) - C(x_r))), the i-th real paired
    with the i-th fake, as in brownvc/R3GAN (softplus(-RelativisticLogits), margin 0). The same math
    as rsgan, registered apart so a run names the R3GAN recipe. R3GAN adds
    gamma/2 (||grad C(x_r)||^2 + ||grad C(x_f)||^2) to L_D: here r1 = r2 = gamma (r1_penalty and
    r2_penalty already carry the 1/2).
    """


@LOSSES.register("rasgan")
class RaSGAN(Relativistic):
    """Jolicoeur-Martineau 2019 relativistic average GAN (RaSGAN): BCE against the other batch's mean.

    arXiv:1807.00734; formulas as in AlexiaJM/RelativisticGAN (code/GAN_losses_iter.py).
    L_D = 1/2 [E softplus(-(C(x_r) - E C(x_f))) + E softplus(C(x_f) - E C(x_r))], L_G the same with
    real and fake swapped. The 1/2 is AlexiaJM/RelativisticGAN's (``(BCE(..., 1) + BCE(..., 0))/2``);
    the paper writes the sum. At C(x_r) = C(x_f) both equal log 2.
    """

    def critic(self, a, b):
        return 0.5 * (F.softplus(-(a - b.mean())).mean() + F.softplus(b - a.mean()).mean())


@LOSSES.register("ralsgan")
class RaLSGAN(Relativistic):
    """Jolicoeur-Martineau 2019 relativistic average LSGAN (RaLSGAN): C minus the other mean, targets +-1.

    arXiv:1807.00734; formulas as in AlexiaJM/RelativisticGAN (code/GAN_losses_iter.py).
    L_D = 1/2 [E (C(x_r) - E C(x_f) - 1)^2 + E (C(x_f) - E C(x_r) + 1)^2], L_G the same with real and
    fake swapped. The 1/2 is AlexiaJM/RelativisticGAN's (loss_D == 7: ``(... + ...)/2``); the paper
    writes the sum. At C(x_r) = C(x_f) both equal 1 (the sum convention would give 2).
    """

    def critic(self, a, b):
        return 0.5 * (((a - b.mean() - 1) ** 2).mean() + ((b - a.mean() + 1) ** 2).mean())


@LOSSES.register("rahinge")
class RaHinge(Relativistic):
    """Jolicoeur-Martineau 2019 relativistic average hinge (RaHingeGAN): hinge on C minus the other mean.

    arXiv:1807.00734; formulas as in AlexiaJM/RelativisticGAN (code/GAN_losses_iter.py).
    L_D = 1/2 [E relu(1 - (C(x_r) - E C(x_f))) + E relu(1 + (C(x_f) - E C(x_r)))], L_G the same with
    real and fake swapped. The 1/2 is AlexiaJM/RelativisticGAN's (loss_D == 8); note that the hinge
    loss above has no 1/2. At C(x_r) = C(x_f) both equal 1.
    """

    def critic(self, a, b):
        return 0.5 * (F.relu(1 - (a - b.mean())).mean() + F.relu(1 + (b - a.mean())).mean())


def make_loss(name: str, *, clip: float = 0.01, gp_weight: float = 10.0) -> GANLoss:
    """Build a registered loss from its loss parameters (trials build theirs with ``GANLoss.from_config``)."""
    cls = LOSSES.get(name)
    given = {"clip": clip, "gp_weight": gp_weight}
    return cls(**{key: given[key] for key in cls.config_keys})


# --- gradient penalties: penalty(D, real, fake, lead_dims=1) -> scalar -----------------------------


def _grad_sq_norm(D: nn.Module, x: Tensor, lead_dims: int = 1) -> Tensor:
    """Per-sample squared norm of dD/dx, kept in the graph so D can be trained on it.

    x: [*lead, *S] with ``lead_dims`` leading dims (the batch; stacked trials add their own in front)
    -> [*lead]. Each trial's outputs depend only on its own inputs, so one gradient of the sum serves all.
    """
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return grad.flatten(lead_dims).pow(2).sum(-1)


def r1_penalty(D: nn.Module, real: Tensor, fake: Tensor, lead_dims: int = 1) -> Tensor:
    """Mescheder et al. 2018 R1: 1/2 E_data ||grad D(x)||^2 (weight gamma multiplies it); [M] when stacked."""
    return 0.5 * _grad_sq_norm(D, real, lead_dims).mean(-1)


def r2_penalty(D: nn.Module, real: Tensor, fake: Tensor, lead_dims: int = 1) -> Tensor:
    """Mescheder et al. 2018 R2: 1/2 E_G ||grad D(G(z))||^2; [M] when stacked."""
    return 0.5 * _grad_sq_norm(D, fake, lead_dims).mean(-1)


def gradient_penalty(D: nn.Module, real: Tensor, fake: Tensor, lead_dims: int = 1) -> Tensor:
    """Gulrajani et al. 2017: E (||grad D(x_hat)|| - 1)^2 on random interpolates x_hat (torch's global generator)."""
    if lead_dims != 1:
        raise ValueError("the WGAN-GP penalty draws its interpolates from torch's global generator: one trial only")
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    x_hat = eps * real.detach() + (1 - eps) * fake.detach()
    return (_grad_sq_norm(D, x_hat).add(1e-12).sqrt() - 1).pow(2).mean()


#: every penalty a D update adds (a loss's own, ``GANLoss.penalties``, then R1/R2), by name
PENALTIES: dict[str, Callable[..., Tensor]] = {
    "gp": gradient_penalty,
    "r1": r1_penalty,
    "r2": r2_penalty,
}
