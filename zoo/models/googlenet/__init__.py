"""GoogLeNet (Inception v1) as released by BVLC."""

from zoo.models.googlenet import googlenet  # noqa: F401  (registers the builder)
