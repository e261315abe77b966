"""Generator/discriminator pairs, one file per architecture family; importing registers them.

Every registered model is a factory with one signature::

    factory(data_shape, z_dim, *, hidden, depth, d_maxout, d_dropout) -> (G, D)

G maps z of shape (n, z_dim) to samples of shape (n, *data_shape); D maps samples to
raw outputs of shape (n,) (logits or critic values; the loss decides how to read them).
Options an architecture has no use for are ignored.
"""
from ganbench.models import dirac, mlp  # noqa: F401  (registers the models)
