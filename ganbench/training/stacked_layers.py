"""A module's forward over M stacked members: every layer of an MLP as one batched op over a leading member dim.

``stacked_forward(module)`` gives ``forward(state, x, training, active)``: ``state`` maps the module's
parameter and buffer names to tensors with a leading member dimension [M, ...], ``x`` is [M, n, ...], and
member i's output (row i) is what the module alone, with member i's tensors, gives on x[i]. An
``nn.Sequential`` of the layers in ``LAYERS`` (the mlp family's, maxout and batch norm included) runs as
batched matmuls (``torch.baddbmm``), which costs less per call than vmap; any other module falls back to
``torch.vmap(functional_call(...))``.
"""
from __future__ import annotations

import copy
import functools
from typing import Callable

import torch
from torch import Tensor, nn
from torch.func import functional_call

from ganbench.models.mlp import Maxout, SlotBatchNorm1d

#: one layer over stacked members: (state, x [M, n, ...], training, active [M] bool or None) -> [M, n, ...]
StackedLayer = Callable[[dict[str, Tensor], Tensor, bool, "Tensor | None"], Tensor]
#: forward of a whole module over stacked members (same arguments; ``training`` and ``active`` optional)
StackedForward = Callable[..., Tensor]


def linear(state: dict[str, Tensor], prefix: str, x: Tensor) -> Tensor:
    """x [M, n, d_in] through each member's Linear ``prefix`` ([M, d_out, d_in] weights): one baddbmm."""
    w, b = state[f"{prefix}weight"], state.get(f"{prefix}bias")
    return torch.bmm(x, w.transpose(1, 2)) if b is None else torch.baddbmm(b[:, None], x, w.transpose(1, 2))


def maxout(layer: Maxout, prefix: str, state: dict[str, Tensor], x: Tensor, training: bool,
           active: Tensor | None) -> Tensor:
    """Maxout's linear map as one baddbmm, then the max over each unit's pieces (as ``Maxout.forward``)."""
    return linear(state, f"{prefix}linear.", x).unflatten(-1, (layer.d_out, layer.pieces)).amax(-1)


def batch_norm(layer: nn.BatchNorm1d, prefix: str, state: dict[str, Tensor], x: Tensor, training: bool,
               active: Tensor | None) -> Tensor:
    """BatchNorm1d per member: member i normalises by its own batch's statistics (training) or its running ones.

    In training, each active member's running_mean, running_var (unbiased variance) and num_batches_tracked
    move exactly as torch's BatchNorm1d moves them; inactive (frozen) members keep theirs.
    """
    m, c = x.shape[0], x.shape[2]
    dims = (1, *range(3, x.dim()))  # over the member's samples (and length, for [M, n, C, L])

    def per_channel(t: Tensor) -> Tensor:  # [M, C] -> broadcast over x's [M, n, C, ...]
        return t.view(m, 1, c, *(1,) * (x.dim() - 3))

    mean_run, var_run = state.get(f"{prefix}running_mean"), state.get(f"{prefix}running_var")
    if training and getattr(layer, "slots", 1) > 1:  # SlotBatchNorm1d: each packing slot by its own statistics
        return slot_batch_norm(layer, prefix, state, x, active)
    if training or mean_run is None:  # no running stats tracked: torch uses the batch's in eval too
        var, mean = torch.var_mean(x, dim=dims, correction=0)
        if training and mean_run is not None:
            update_running_stats(layer, prefix, state, mean, var, x.numel() // (m * c), active)
    else:
        mean, var = mean_run, var_run
    y = (x - per_channel(mean)) * per_channel(torch.rsqrt(var + layer.eps))
    w, b = state.get(f"{prefix}weight"), state.get(f"{prefix}bias")
    return y if w is None else y * per_channel(w) + per_channel(b)


def slot_batch_norm(layer: SlotBatchNorm1d, prefix: str, state: dict[str, Tensor], x: Tensor,
                    active: Tensor | None) -> Tensor:
    """``SlotBatchNorm1d`` in training, per member: x [M, slots * b, C], each slot's b samples normalised by
    their own statistics; the running statistics move once, by the slots' mean (as the layer alone does)."""
    m, n, c = x.shape
    if n % layer.slots:
        raise ValueError(f"per-slot batch norm: a training batch of {n} rows is not whole packs of {layer.slots}")
    xs = x.view(m, n // layer.slots, layer.slots, c)
    var, mean = torch.var_mean(xs, dim=1, keepdim=True, correction=0)  # [M, 1, slots, C]
    if state.get(f"{prefix}running_mean") is not None:
        update_running_stats(layer, prefix, state, mean.mean((1, 2)), var.mean((1, 2)), n // layer.slots, active)
    y = ((xs - mean) * torch.rsqrt(var + layer.eps)).view(m, n, c)
    w, b = state.get(f"{prefix}weight"), state.get(f"{prefix}bias")
    return y if w is None else y * w[:, None] + b[:, None]


@torch.no_grad()
def update_running_stats(layer: nn.BatchNorm1d, prefix: str, state: dict[str, Tensor], mean: Tensor, var: Tensor,
                         n: int, active: Tensor | None) -> None:
    """torch's BatchNorm update of the running statistics, per member, in place; [M, C] batch stats over n samples."""
    count, mean_run, var_run = (state[f"{prefix}{name}"] for name in
                                ("num_batches_tracked", "running_mean", "running_var"))
    keep = torch.ones_like(count, dtype=torch.bool) if active is None else active
    count.add_(keep.to(count.dtype))
    # momentum None: torch's cumulative average, 1 / batches seen (per member: a frozen one saw fewer)
    factor = layer.momentum if layer.momentum is not None else (1 / count.clamp(min=1).double())[:, None]
    unbiased = var * (n / max(n - 1, 1))
    for running, batch in ((mean_run, mean), (var_run, unbiased)):
        new = (factor * batch.detach() + (1 - factor) * running).to(running.dtype)
        running.copy_(torch.where(keep[:, None], new, running))


def flatten(layer: nn.Flatten, x: Tensor) -> Tensor:
    end = layer.end_dim + 1 if layer.end_dim >= 0 else layer.end_dim  # per-member dims shift by one
    return x.flatten(layer.start_dim + 1, end)


def unflatten(layer: nn.Unflatten, x: Tensor) -> Tensor:
    return x.unflatten(layer.dim + 1 if layer.dim >= 0 else layer.dim, layer.unflattened_size)


def stacked_layer(name: str, layer: nn.Module) -> StackedLayer | None:
    """``layer`` (child ``name`` of a Sequential) over stacked members; None when it has no batched form here."""
    prefix, kind = f"{name}.", type(layer)
    if kind is nn.Linear:
        return lambda state, x, training, active: linear(state, prefix, x)
    if kind in (Maxout, nn.BatchNorm1d, SlotBatchNorm1d):
        return functools.partial(maxout if kind is Maxout else batch_norm, layer, prefix)
    if kind is nn.ReLU:
        return lambda state, x, training, active: torch.relu(x)
    if kind is nn.LeakyReLU:
        return lambda state, x, training, active: nn.functional.leaky_relu(x, layer.negative_slope)
    if kind in (nn.Flatten, nn.Unflatten):
        shape = flatten if kind is nn.Flatten else unflatten
        return lambda state, x, training, active: shape(layer, x)
    return None


def stacked_forward(module: nn.Module) -> StackedForward:
    """module's forward over stacked members: (state [M, ...], x [M, n, ...], training, active) -> [M, n, ...].

    ``state`` holds the parameters and buffers by name (``torch.func.stack_module_state``'s dicts merged);
    ``training`` picks batch norm's batch or running statistics; ``active`` ([M] bool) says which members'
    running statistics a training forward may update (None: all).
    """
    base = copy.deepcopy(module).to("meta")  # a shell: the state supplies every tensor
    layers = [stacked_layer(name, layer) for name, layer in base.named_children()]
    if not isinstance(base, nn.Sequential) or None in layers:
        vmapped = torch.vmap(lambda state, x: functional_call(base, state, (x,)))

        def fallback(state: dict[str, Tensor], x: Tensor, training: bool = True, active: Tensor | None = None):
            base.train(training)
            return vmapped(state, x)

        return fallback

    def forward(state: dict[str, Tensor], x: Tensor, training: bool = True, active: Tensor | None = None) -> Tensor:
        for layer in layers:  # x keeps the member dimension in front: [M, n, ...]
            x = layer(state, x, training, active)
        return x

    return forward
