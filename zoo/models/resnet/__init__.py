"""Residual networks (He et al. 2016) and their plain twins."""

from zoo.models.resnet import resnet  # noqa: F401  (registers the builders)
