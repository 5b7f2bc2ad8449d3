"""Caffe `Deconvolution` with FCN's bilinear kernels (Long thesis §3.2.3, §3.3.10).

Upsampling by an integer factor s is a convolution with output stride s ("deconvolution",
fractionally strided convolution). The FCN reference code (surgery.py) initialises each kernel
to a bilinear filter on the diagonal channel pairs c -> c, and keeps it fixed (lr_mult 0).
Caffe's output size with pad 0 is s * (H - 1) + k.

With a fixed bilinear kernel the layer is separable and per-channel: out_c = A_h X_c A_w^T,
where A[y, i] = f(y - s*i) for the 1-D bilinear filter f. `fixed_bilinear=True` computes
that (two small matrix products) instead of a dense k x k x C x C transposed convolution; on an
H100, a VGG16 FCN-32s at 500x500 took 2.9 ms this way against 17 ms with Conv2DTranspose
(docs/ARCHITECTURE.md, facts measured).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from zoo.errors import ConfigError, WeightsMismatchError


def upsample_filt(size: int) -> np.ndarray:
    """The (size, size) bilinear kernel of the FCN reference code (surgery.upsample_filt)."""
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    f = 1 - np.abs(np.arange(size) - center) / factor
    return np.outer(f, f)


def bilinear_kernel(size: int, out_channels: int, in_channels: int) -> np.ndarray:
    """(size, size, out, in) kernel in Keras' transposed-conv layout, as surgery.interp sets it.

    The bilinear filter goes on the diagonal pairs c -> c when out == in, or from every input
    channel to the single output when out == 1; all other entries are 0.
    """
    if out_channels != in_channels and out_channels != 1:
        raise ConfigError(
            f"a bilinear upsampling kernel needs as many output channels as input channels, or one output; "
            f"got {in_channels} -> {out_channels}"
        )
    kernel = np.zeros((size, size, out_channels, in_channels), dtype="float32")
    for c in range(in_channels):
        kernel[:, :, c if out_channels > 1 else 0, c] = upsample_filt(size)
    return kernel


@keras.saving.register_keras_serializable(package="zoo")
class BilinearKernel(keras.initializers.Initializer):
    """Initializer for a (k, k, out, in) transposed-conv kernel: `bilinear_kernel`."""

    def __call__(self, shape, dtype=None):
        kh, kw, out_channels, in_channels = shape
        if kh != kw:
            raise ConfigError(f"a bilinear upsampling kernel must be square, got {kh}x{kw}")
        return ops.convert_to_tensor(bilinear_kernel(kh, out_channels, in_channels), dtype=dtype)

    def get_config(self):
        return {}


@keras.saving.register_keras_serializable(package="zoo")
class Deconvolution2D(keras.layers.Conv2DTranspose):
    """Caffe `Deconvolution` (pad 0): output size strides * (H - 1) + kernel_size.

    Args:
        filters: output channels.
        kernel_size: the square kernel size k (FCN: 2 * stride - stride % 2, e.g. 64 for 32x).
        strides: the upsampling factor s (<= k).
        use_bias: Caffe's bias_term (FCN: False).
        fixed_bilinear: the kernel is the bilinear one, frozen (non-trainable) as in the FCN
            reference (lr_mult 0), and the output is computed as two matrix products per
            channel. Needs filters == input channels. Loading any other kernel into such a
            layer raises WeightsMismatchError.
        kernel_initializer: for the general (learned) path; default the bilinear kernel.

    The kernel is an ordinary (k, k, filters, in_channels) weight named `kernel` in both modes,
    so released Caffe weights load by name (as for any Conv2DTranspose) and the layer counts
    the same weights as the Caffe layer.
    """

    def __init__(self, filters, kernel_size, strides, use_bias=False, fixed_bilinear=False, kernel_initializer=None,
                 **kwargs):
        if not (isinstance(kernel_size, int) and isinstance(strides, int) and 1 <= strides <= kernel_size):
            raise ConfigError(
                f"Deconvolution2D needs int kernel_size >= int strides >= 1, got {kernel_size}, {strides}"
            )
        if fixed_bilinear and (use_bias or kernel_initializer is not None):
            raise ConfigError("fixed_bilinear=True means a bias-free layer with the bilinear kernel")
        super().__init__(
            filters,
            kernel_size,
            strides=strides,
            padding="valid",
            use_bias=use_bias,
            kernel_initializer=kernel_initializer or BilinearKernel(),
            **kwargs,
        )
        self.fixed_bilinear = bool(fixed_bilinear)

    def build(self, input_shape):
        if not self.fixed_bilinear:
            return super().build(input_shape)
        in_channels = input_shape[-1]
        if in_channels != self.filters:
            raise ConfigError(
                f"{self.name}: fixed_bilinear upsampling keeps the channels, but it gets {in_channels} "
                f"input channels for {self.filters} filters"
            )
        self.input_spec = keras.layers.InputSpec(min_ndim=4, axes={-1: in_channels})
        self.kernel = self.add_weight(
            name="kernel", shape=(*self.kernel_size, self.filters, in_channels), initializer=BilinearKernel(),
            trainable=False, dtype=self.dtype,
        )
        self.bias = None

    def _interp_matrix(self, size):
        """A (s*(size-1)+k, size) with A[y, i] = f(y - s*i), f the 1-D bilinear filter."""
        k, s = self.kernel_size[0], self.strides[0]
        factor = (k + 1) // 2
        center = factor - 1 if k % 2 == 1 else factor - 0.5
        d = ops.cast(ops.arange(s * (size - 1) + k)[:, None] - s * ops.arange(size)[None, :], self.compute_dtype)
        # 1 - |d - center| / factor is <= 0 outside 0 <= d < k, so the clip is the kernel's support.
        return ops.maximum(1.0 - ops.abs(d - center) / factor, 0.0)

    def call(self, inputs):
        if not self.fixed_bilinear:
            return super().call(inputs)
        h, w, c = (inputs.shape[i] if inputs.shape[i] is not None else ops.shape(inputs)[i] for i in (1, 2, 3))
        k, s = self.kernel_size[0], self.strides[0]
        out_h, out_w = s * (h - 1) + k, s * (w - 1) + k
        # Two matrix products with the interpolation matrix broadcast over the batch, on reshapes
        # that keep the NHWC memory order (no transposes): rows first, (n, h, w*c) -> (n, H, w*c),
        # then columns, (n*H, w, c) -> (n*H, W, c). On 2 CPU cores this took FCN-8s' upscore8
        # (73x73x21 -> 584x584x21) from 21.7-27.7 ms (two einsums) to 14.3-16.7 ms, where the
        # dense transposed convolution takes 20-21 ms (scripts/bench_upsampling.py, two runs).
        rows = ops.matmul(self._interp_matrix(h), ops.reshape(inputs, (-1, h, w * c)))
        both = ops.matmul(self._interp_matrix(w), ops.reshape(rows, (-1, w, c)))
        return ops.reshape(both, (-1, out_h, out_w, c))

    def _check_kernel(self, kernel):
        """A fixed-bilinear layer only accepts the kernel its forward pass assumes."""
        if not self.fixed_bilinear:
            return
        want = bilinear_kernel(self.kernel_size[0], self.filters, self.filters)
        kernel = np.asarray(kernel)
        if kernel.shape != want.shape or not np.allclose(kernel, want, atol=1e-6):
            diff = np.abs(kernel - want).max() if kernel.shape == want.shape else f"shape {kernel.shape}"
            raise WeightsMismatchError(
                f"{self.name} is a fixed bilinear upsampling, so its kernel must be the bilinear kernel; the given "
                f"kernel differs (max difference {diff}). Build the model with upsampling=\"learned\" (zoo.get(..., "
                f"upsampling=\"learned\"), or --set model.options.upsampling=learned) to load it."
            )

    def set_weights(self, weights):
        if weights:
            self._check_kernel(weights[0])
        super().set_weights(weights)

    def load_own_variables(self, store):
        if "0" in store:
            self._check_kernel(store["0"])
        super().load_own_variables(store)

    def get_config(self):
        initializer = None if isinstance(self.kernel_initializer, BilinearKernel) else self.kernel_initializer
        return {
            **keras.layers.Layer.get_config(self),
            "filters": self.filters,
            "kernel_size": self.kernel_size[0],
            "strides": self.strides[0],
            "use_bias": self.use_bias,
            "fixed_bilinear": self.fixed_bilinear,
            "kernel_initializer": initializer and keras.initializers.serialize(initializer),
        }
