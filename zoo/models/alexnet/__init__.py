"""AlexNet-era ImageNet classifiers: BVLC AlexNet and CaffeNet, ZFNet, OverFeat fast/accurate."""

from zoo.models.alexnet import alexnet, overfeat  # noqa: F401  (registers the builders)
