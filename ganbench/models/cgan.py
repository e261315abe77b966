"""Conditional GAN of Mirza & Osindero 2014 on the DCGAN body: G(z, y) and D(x, y).

G reads concat(z, one_hot(y)). D reads the one-hot label broadcast as ``n_classes`` extra
input channels, or with ``d_projection`` the projection discriminator of Miyato & Koyama
2018, D(x, y) = linear(h) + <embed(y), h>, which scales to many classes (the one-hot
channels grow D's first layer with every class).
"""
from __future__ import annotations

from ganbench.models import dcgan
from ganbench.models.layers import check_classes
from ganbench.registry import MODELS


@MODELS.register("cgan")
def cgan(data_shape, z_dim, *, hidden=64, n_classes=0, d_norm=None, d_projection=False, gradient_penalty=False):
    """Conditional DCGAN (Mirza 2014): label one-hot into G's input and D's channels, or a projection D."""
    n_classes = check_classes("cgan", n_classes)
    return dcgan.build(data_shape, z_dim, hidden, d_norm, n_classes, projection=d_projection,
                       gradient_penalty=gradient_penalty)
