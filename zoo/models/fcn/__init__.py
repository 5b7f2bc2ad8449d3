"""Fully convolutional networks (Long thesis 2016, ch. 3; reference code fcn.berkeleyvision.org)."""

from zoo.models.fcn.fcn import ChannelScale, fcn8s, fcn8s_atonce, fcn16s, fcn32s, fcn32s_fixed

__all__ = ["ChannelScale", "fcn8s", "fcn8s_atonce", "fcn16s", "fcn32s", "fcn32s_fixed"]
