"""LeNet-5 (LeCun et al. 1998)."""

from zoo.models.lenet import lenet  # noqa: F401  (registers the builder)
