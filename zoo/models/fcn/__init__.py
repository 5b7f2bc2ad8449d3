"""Fully convolutional networks (Long thesis 2016, ch. 3; reference code fcn.berkeleyvision.org)."""

from zoo.models.fcn.fcn import ChannelScale, fcn8s, fcn8s_atonce, fcn16s, fcn32s, fcn32s_fixed
from zoo.models.fcn.fcn_variants import (
    fcn8s_context,
    fcn16s_context,
    fcn16s_rgbhha,
    fcn16s_siftflow,
    fcn32s_context,
    fcn32s_hha,
    fcn32s_rgbd,
    fcn32s_rgbhha,
    fcn_alexnet,
    fcn_googlenet,
)

__all__ = [
    "ChannelScale", "fcn8s", "fcn8s_atonce", "fcn16s", "fcn32s", "fcn32s_fixed",
    "fcn_alexnet", "fcn_googlenet", "fcn32s_rgbd", "fcn32s_hha", "fcn32s_rgbhha", "fcn16s_rgbhha",
    "fcn16s_siftflow", "fcn32s_context", "fcn16s_context", "fcn8s_context",
]
