"""The fast path on any machine: FLOP counts for MFU, bf16 autocast, compile's limits, backend defaults."""
from __future__ import annotations

import math

import pytest
import torch
from pydantic import ValidationError

from ganbench.config import TrialConfig
from ganbench.training import build, train
from ganbench.training.accel import configure_backends, peak_tflops
from ganbench.training.loop import iteration_flops
from ganbench.training.updates import Stream, d_update, g_update

TOY = dict(model="mlp", loss="hinge", dataset="ring8", hidden=16, depth=1)


def flops(**overrides) -> int:
    return iteration_flops(TrialConfig(**{**TOY, **overrides}))


def test_flops_grow_linearly_with_the_batch_and_with_k():
    assert flops(batch_size=64) == 2 * flops(batch_size=32) > 0
    one, two, three = (flops(d_steps_per_g_step=k) for k in (1, 2, 3))
    assert three - two == two - one > 0  # each extra D step costs the same


def test_a_linear_layer_forward_counts_two_flops_per_multiply_add():
    # the unit MFU rests on: 2 * batch * in * out for one matmul
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        torch.nn.Linear(16, 8, bias=False)(torch.randn(32, 16))
    assert counter.get_total_flops() == 2 * 32 * 16 * 8


def test_counting_flops_leaves_the_global_random_stream_alone():
    cfg = TrialConfig(**TOY, d_dropout=0.5)
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    iteration_flops(cfg)  # builds (seeds torch), draws dropout
    assert torch.equal(torch.rand(3), expected)


def test_a_trial_reports_achieved_tflops_and_no_mfu_without_a_known_gpu():
    result = train(TrialConfig(**TOY, steps=20, eval_every=10, eval_samples=100, device="cpu"))
    assert result.metrics["tflops"] > 0 and math.isnan(result.metrics["mfu"])
    assert peak_tflops(torch.device("cpu"), bf16=True) is None


def test_bf16_autocast_runs_the_forward_passes_in_bfloat16_and_trains():
    cfg = TrialConfig(**TOY, amp="bf16", device="cpu")
    gan = build(cfg)
    seen = []
    gan.D.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    d_update(gan, cfg, Stream(gan.device, 0))
    assert seen and all(dtype == torch.bfloat16 for dtype in seen)
    assert all(p.dtype == torch.float32 for p in gan.D.parameters())  # master weights stay fp32
    result = train(cfg.model_copy(update={"steps": 20, "eval_every": 10, "eval_samples": 100}))
    assert result.status == "complete" and math.isfinite(result.metrics["reverse_kl"])


@pytest.mark.parametrize("extra", [{"loss": "wgan-gp"}, {"r1": 1.0}, {"r2": 0.5}])
def test_compile_is_refused_with_a_double_backward_penalty(extra):
    with pytest.raises(ValidationError, match="compile"):
        TrialConfig(**{**TOY, **extra}, compile=True)


def test_backend_defaults_touch_nothing_on_cpu():
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.benchmark)
    configure_backends(torch.device("cpu"))
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.benchmark) == before


def test_training_batches_are_drawn_on_the_generators_device_with_the_same_stream():
    from ganbench.registry import DATASETS

    for name in ("ring8", "digits", "stacked_digits", "digits_invert"):
        data = DATASETS.get(name)()
        first = data.sample(8, torch.Generator().manual_seed(3))
        again = data.sample(8, torch.Generator(device="cpu").manual_seed(3))
        assert first.device.type == "cpu" and torch.equal(first, again)


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@needs_cuda
@pytest.mark.parametrize("model, dataset, extra", [("mlp", "ring8", {}), ("dcgan", "digits", {"hidden": 16}),
                                                    ("cgan", "digits", {"hidden": 16, "amp": "bf16"})])
def test_training_steps_never_wait_for_the_gpu(model, dataset, extra):
    # no .item(), no host copies: the CPU queues step after step (torch raises on any synchronisation)
    cfg = TrialConfig(model=model, loss="nonsaturating", dataset=dataset, device="cuda", batch_size=32, **extra)
    gan = build(cfg)
    rng = Stream(gan.device, 0)
    d_update(gan, cfg, rng), g_update(gan, cfg, rng)  # lazy initialisation and autotuning
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(3):
            d_update(gan, cfg, rng), g_update(gan, cfg, rng)
    finally:
        torch.cuda.set_sync_debug_mode("default")
