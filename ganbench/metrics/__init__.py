"""Metric definitions: every metric has a stable name, a kind, a direction and a unit.

The registry holds the *definitions* (used by the CLI, the leaderboard's sort order and
suite validation); the functions that compute them live in one module per kind.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Union

from ganbench.registry import METRICS

#: log 4: V(D,G) at the equilibrium D = 1/2 is -log 4 (``losses.LOG4`` is the same number, for the torch side)
LOG4 = math.log(4.0)

#: a bound: a number, or what it is for a dataset, from the dataset's record in run.json (None: unknown there)
Bound = Union[float, Callable[[dict], Union[float, None]], None]


def n_modes(record: dict) -> float | None:
    """The upper bound of a mode count: the dataset's number of modes."""
    return record.get("n_modes")


def log_n_modes(record: dict) -> float | None:
    """The upper bound of a KL to the uniform over the modes: log(n_modes), that of total collapse."""
    return math.log(record["n_modes"]) if record.get("n_modes") else None


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str  # "modes" | "convergence" | "throughput" | "images"
    higher_is_better: bool | None  # None: no direction (a diagnostic, e.g. D(x))
    unit: str
    description: str
    #: the range every value lies in (None: unbounded on that side); tables keep their intervals inside it
    lower: Bound = None
    upper: Bound = None

    def bounds(self, record: dict | None = None) -> tuple[float, float]:
        """(low, high) of the metric on a dataset (``record``: what run.json holds of it); -inf/inf where unbounded
        or where the bound depends on a dataset fact the record lacks."""
        def resolve(bound: Bound, unbounded: float) -> float:
            value = bound(record or {}) if callable(bound) else bound
            return unbounded if value is None else float(value)

        return resolve(self.lower, -math.inf), resolve(self.upper, math.inf)

    def bounded(self) -> bool:
        return self.lower is not None or self.upper is not None

    def better(self, a: float, b: float) -> bool:
        """Is a better than b? (False when the metric has no direction.)"""
        if self.higher_is_better is None:
            return False
        return a > b if self.higher_is_better else a < b


def _define(name: str, kind: str, higher_is_better: bool | None, unit: str, description: str,
            lower: Bound = None, upper: Bound = None) -> None:
    METRICS.add(name, Metric(name, kind, higher_is_better, unit, description, lower, upper), description)


#: [0, 1]
FRACTION = {"lower": 0.0, "upper": 1.0}
#: >= 0
NONNEGATIVE = {"lower": 0.0}


# mode collapse (toy mixtures) -- computed in metrics/modes.py
_define("modes_covered", "modes", True, "modes", "modes holding >= min_count high-quality samples (VEEGAN/PacGAN)",
        lower=0.0, upper=n_modes)
_define("high_quality_frac", "modes", True, "fraction", "fraction of samples within 3 std of their nearest mode",
        **FRACTION)
_define("reverse_kl", "modes", False, "nats", "KL(generated mode histogram || uniform); log(n_modes) when collapsed",
        lower=0.0, upper=log_n_modes)
_define("reverse_kl_hq", "modes", False, "nats",
        "KL(histogram of the high-quality samples over their nearest modes || uniform), the authors' definition "
        "(fjxmlzn/PacGAN: synthetic_data_experiments/PacGAN/pacgan/extensions.py, MetricLogger: log(n_modes) minus "
        "its 'entropy of coverage'); log(n_modes) when no sample is high quality (the authors' code gives NaN)",
        lower=0.0, upper=log_n_modes)
_define("dirac_distance", "modes", False, "", "Dirac-GAN: distance sqrt(theta^2 + psi^2) to the equilibrium (0, 0)",
        **NONNEGATIVE)
_define("dirac_theta", "modes", None, "", "Dirac-GAN: the generator's parameter theta (its point mass)")
_define("dirac_psi", "modes", None, "", "Dirac-GAN: the linear critic's slope psi")
_define("dirac_spectral_radius", "convergence", False, "",
        "Dirac-GAN: spectral radius of the Jacobian of one training update (the trial's loss, regularizers, scheme "
        "and learning rates, on the expected game) at the equilibrium (0, 0); < 1: locally convergent (Mescheder et "
        "al. 2018, Sec. 2); a function of the config, not of the seed or the budget (training/dirac_jacobian.py)",
        **NONNEGATIVE)
_define("dirac_update_jump", "convergence", False, "",
        "Dirac-GAN: the update's discontinuity at the equilibrium, lim ||F(d e_i) - F(-d e_i)|| as d -> 0 (about 0 "
        "when continuous; WGAN-GP's penalty: 4 lr_d gp_weight, a push away from psi = 0)", **NONNEGATIVE)
_define("dirac_log_slope", "convergence", False, "1/step",
        "Dirac-GAN: least-squares slope of log(dirac_distance) against the step over the last half of the "
        "trial's evaluations (negative: shrinking; about log(dirac_spectral_radius) in the linear regime)")
# convergence -- computed in metrics/convergence.py
_define("d_real_mean", "convergence", None, "", "mean D(x) on real data (probability, or critic value)")
_define("d_fake_mean", "convergence", None, "", "mean D(G(z)) on generated data (probability, or critic value)")
_define("equilibrium_gap", "convergence", False, "", "mean |D - 1/2| over real and fake, for losses whose optimum is 1/2",
        lower=0.0, upper=0.5)
_define("value", "convergence", None, "nats", "V(D,G) = E log D(x) + E log(1-D(G(z))); -log 4 at equilibrium",
        upper=0.0)
_define("d_loss", "convergence", None, "", "discriminator loss on the evaluation batch")
_define("g_loss", "convergence", None, "", "generator loss on the evaluation batch")
_define("grad_norm_d", "convergence", None, "", "L2 norm of D's gradient at the last D step before evaluation",
        **NONNEGATIVE)
_define("grad_norm_g", "convergence", None, "", "L2 norm of G's gradient at the last G step before evaluation",
        **NONNEGATIVE)
_define("steps_to_threshold", "convergence", False, "steps", "first evaluation step reaching the suite's target",
        **NONNEGATIVE)
# throughput -- computed in metrics/throughput.py
_define("samples_per_s", "throughput", True, "1/s", "examples through D or G per second of training (batch x (k + m) x steps/s)",
        **NONNEGATIVE)
_define("steps_per_s", "throughput", True, "1/s", "Algorithm 1 iterations (k D-steps + m G-steps) per second of training",
        **NONNEGATIVE)
_define("peak_mem_mb", "throughput", False, "MB", "peak memory: CUDA max allocated, else the worker's peak RSS",
        **NONNEGATIVE)
_define("wall_s", "throughput", False, "s", "trial wall time, training and evaluation", **NONNEGATIVE)
_define("queue_s", "throughput", False, "s", "scheduling overhead: seconds from the driver's dispatch to the trial's start",
        **NONNEGATIVE)
_define("batch_trials", "throughput", None, "trials", "trials trained together as one stacked model (1: alone)",
        lower=1.0)
_define("tflops", "throughput", True, "TFLOP/s", "achieved matmul/conv TFLOP/s in training (torch.utils.flop_counter x steps/s)",
        **NONNEGATIVE)
_define("mfu", "throughput", True, "fraction", "model FLOPs utilisation: tflops / the GPU's dense bf16 (or TF32) peak; GPU only",
        **NONNEGATIVE)
_define("eval_frac", "throughput", False, "fraction", "share of the trial's wall time spent evaluating", **FRACTION)
# image quality -- computed in metrics/images.py, gathered by metrics/image_eval.py (stacked digits
# also report modes_covered and reverse_kl above, over the 1,000 digit triples)
_define("fid", "images", False, "", "Frechet distance of feature-net features to train (torchmetrics; biased up at small n)",
        **NONNEGATIVE)
_define("kid", "images", False, "", "unbiased kernel distance (cubic polynomial MMD^2), mean over subsets of <= 1,000")
_define("kid_std", "images", None, "", "standard deviation of KID over its subsets", **NONNEGATIVE)
_define("precision", "images", True, "fraction", "fakes inside the k-NN ball (k=5) of some real (Kynkaanniemi 2019)",
        **FRACTION)
_define("recall", "images", True, "fraction", "reals inside the k-NN ball (k=5) of some fake (Kynkaanniemi 2019)",
        **FRACTION)
_define("density", "images", True, "", "real k-NN balls holding each fake, / k; about 1 for real data (Naeem 2020)",
        **NONNEGATIVE)
_define("coverage", "images", True, "fraction", "reals whose k-NN ball holds at least one fake (Naeem 2020)",
        **FRACTION)
_define("inception_score", "images", True, "", "exp E KL(p(y|x) || p(y)) by the feature net's classifier, one split",
        lower=1.0)
_define("parzen_ll", "images", True, "nats", "Parzen-window log-likelihood of test images (Goodfellow 2014)")
_define("parzen_ll_se", "images", None, "nats", "standard error of parzen_ll over the test images", **NONNEGATIVE)
_define("nn_memorization", "images", True, "ratio",
        "median fake->train / median test->train NN pixel distance: ->0 copying, ~1 as novel as held-out data "
        "(higher = less copying; far above 1: fakes off the data)", **NONNEGATIVE)
_define("feature_net_acc", "images", None, "fraction", "test accuracy of the feature network behind FID/KID/PRDC/IS",
        **FRACTION)
_define("cycle_error", "images", False, "pixels", "CycleGAN: mean of |F(G(a)) - a| and |G(F(b)) - b|, [-1, 1] units",
        lower=0.0, upper=2.0)
_define("translation_error", "images", False, "pixels", "mean |G(a) - b| against the true paired image, [-1, 1] units",
        lower=0.0, upper=2.0)


def metric(name: str) -> Metric:
    return METRICS.get(name)
