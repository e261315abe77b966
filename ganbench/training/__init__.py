"""Training: Algorithm 1 and everything it calls. Pure PyTorch: imports no Ray and no Optuna.

gan.py       GAN (what the updates act on), TrainResult, build(cfg), make_models
loop.py      THE loop: k D updates, m G updates, evaluation, divergence, finish; ``train(cfg)``
updates.py   the D and G updates (penalties, clipping) and the training streams
cycle.py     CycleGAN's updates and evaluation
stacked.py   M same-shaped trials as one stacked model, through the same loop: ``train_stacked``
stacked_layers.py  a module's forward over M stacked trials (batched matmuls, maxout, per-trial batch norm)
evaluate.py  one evaluation; pictures.py  sample grids; accel.py  the GPU path and FLOP counting
"""
from ganbench.training.gan import GAN, TrainResult, build, make_models
from ganbench.training.loop import EvalCallback, train
from ganbench.training.stacked import train_stacked

__all__ = ["GAN", "EvalCallback", "TrainResult", "build", "make_models", "train", "train_stacked"]
