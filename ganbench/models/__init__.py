"""Generator/discriminator pairs, one file per architecture family; importing registers them.

Every registered model is a factory with one signature::

    factory(data_shape, z_dim, *, <the options it uses>) -> (G, D)

where the options are any of the trial keys listed in ``training.gan.MODEL_OPTIONS`` (widths,
depths, maxout, dropout, normalisation, projection) plus, derived from the data and loss,
``n_classes`` and ``gradient_penalty``. The keyword arguments a factory declares are the options it honours:
``training.gan.make_models`` passes exactly those, and a trial that sets any other option away
from its default is refused ("model 'mlp' does not use d_norm='spectral'"), never silently run
without it. G maps z of shape (n, z_dim) to samples of shape (n, *data_shape); D maps samples to
raw outputs of shape (n,) (logits or critic values; the loss decides how to read them).

Image models (``dcgan``, ``cgan``, ``resnet``, ``cyclegan``) take data_shape (C, H, W) with
H == W a power of two >= 8 and end G in tanh (pixels in [-1, 1]). ``hidden`` is the base
channel width; ``d_norm`` is D's normalisation (None = the architecture's default, or one of
``layers.D_NORMS``; ``gradient_penalty`` turns a batch-norm default into layer norm). Their G and D carry ``n_classes`` (0 = unconditional); when it is > 0
they are called G(z, y) and D(x, y) with int64 labels y of shape (n,). ``cyclegan`` is the
exception to the z -> sample rule: see ``cyclegan.CycleGenerators`` (``is_cycle = True``).
"""
from ganbench.models import cgan, cyclegan, dcgan, dirac, mlp, resnet  # noqa: F401  (registers the models)
