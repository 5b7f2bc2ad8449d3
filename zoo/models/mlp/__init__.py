"""Multi-layer perceptrons."""

from zoo.models.mlp import mlp  # noqa: F401  (registers the builder)
