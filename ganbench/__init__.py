"""ganbench: benchmark GAN variants, losses and D:G step ratios with honest statistics."""
__version__ = "0.1.0"
