"""Local Response Normalization across channels, with Caffe's semantics.

Krizhevsky et al. 2012, Sec. 3.3 ("Local Response Normalization"), as implemented by Caffe's
`LRN` layer (`norm_region: ACROSS_CHANNELS`), which AlexNet, CaffeNet, ZFNet and GoogLeNet use:

    b[..., c] = a[..., c] / (k + alpha / n * sum_{c' in window(c)} a[..., c']^2) ** beta

The window of `n` channels is centred on `c` and clipped at the first and last channel (the
missing channels count as zeros). Note that Caffe divides `alpha` by the window size `n`; the
paper's equation and `tf.nn.local_response_normalization` do not, so Caffe's alpha=1e-4 is
the paper's 1e-4 / 5.
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.errors import ConfigError


@keras.saving.register_keras_serializable(package="zoo")
class LocalResponseNormalization(keras.layers.Layer):
    """Caffe `LRN` (ACROSS_CHANNELS) on channels-last inputs.

    Args:
        size: the window size `n` (odd, as Caffe requires), in channels.
        alpha: the scale, divided by `size` as in Caffe.
        beta: the exponent.
        k: the additive constant.
    """

    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=1.0, **kwargs):
        super().__init__(**kwargs)
        if int(size) != size or size < 1 or size % 2 == 0:
            raise ConfigError(f"LRN size must be a positive odd integer (Caffe's local_size), got {size!r}")
        self.size = int(size)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.k = float(k)

    def call(self, inputs):
        half = self.size // 2
        squares = ops.square(inputs)
        channels = inputs.shape[-1]
        padded = ops.pad(squares, [[0, 0]] * (len(inputs.shape) - 1) + [[half, half]])
        # Sum of `size` shifted copies: plain slices and adds, builtin ops for every backend
        # and for TFLite (no tf.nn.lrn).
        window_sum = padded[..., 0:channels]
        for offset in range(1, self.size):
            window_sum = window_sum + padded[..., offset : offset + channels]
        scale = self.k + (self.alpha / self.size) * window_sum
        return inputs * ops.power(scale, -self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size, "alpha": self.alpha, "beta": self.beta, "k": self.k}
