"""ganbench's own components by name and where each lives, as plain data: ``registry.load_all`` registers them as
lazy entries, so names can be listed, validated and reported (``bench.py report``, suite validation) without
importing the torch code behind them; an entry's module is imported at its first lookup (``Registry.get``).

The modules keep their ``@REGISTRY.register(name)`` decorators (the docstrings there describe the entries): when a
module is imported, each decorator fulfils the lazy entry of the same name that points at it. This file imports
nothing, so the registry can read it without a cycle; ``tests/test_catalog.py`` checks it against the decorators.
"""

#: registry name ("datasets", "losses", "models") -> {entry name: "module:object"}, in registration order
ENTRIES: dict[str, dict[str, str]] = {
    "datasets": {
        "digits": "ganbench.datasets.images:digits",
        "digits32": "ganbench.datasets.images:digits32",
        "stacked_digits": "ganbench.datasets.images:stacked_digits",
        "digits_invert": "ganbench.datasets.cycle:digits_invert",
        "digits_rotate": "ganbench.datasets.cycle:digits_rotate",
        "mnist": "ganbench.datasets.local:mnist",
        "fashion_mnist": "ganbench.datasets.local:fashion_mnist",
        "cifar10": "ganbench.datasets.local:cifar10",
        "gaussian1d": "ganbench.datasets.toy:gaussian1d",
        "ring8": "ganbench.datasets.toy:ring8",
        "pacgan_ring": "ganbench.datasets.toy:pacgan_ring",
        "grid25": "ganbench.datasets.toy:grid25",
        "dirac": "ganbench.datasets.toy:Dirac",
    },
    "losses": {
        "minimax": "ganbench.losses:Minimax",
        "nonsaturating": "ganbench.losses:NonSaturating",
        "lsgan": "ganbench.losses:LeastSquares",
        "hinge": "ganbench.losses:Hinge",
        "wgan": "ganbench.losses:Wasserstein",
        "wgan-gp": "ganbench.losses:WassersteinGP",
        "rsgan": "ganbench.losses:RSGAN",
        "rpgan": "ganbench.losses:RpGAN",
        "rasgan": "ganbench.losses:RaSGAN",
        "ralsgan": "ganbench.losses:RaLSGAN",
        "rahinge": "ganbench.losses:RaHinge",
    },
    "models": {
        "dcgan": "ganbench.models.dcgan:dcgan",
        "cgan": "ganbench.models.cgan:cgan",
        "cyclegan": "ganbench.models.cyclegan:cyclegan",
        "dirac": "ganbench.models.dirac:dirac",
        "dirac-authors": "ganbench.models.dirac:dirac_authors",
        "mlp": "ganbench.models.mlp:mlp",
        "resnet": "ganbench.models.resnet:resnet",
    },
}
