"""Max pooling with Caffe's output-size arithmetic.

Caffe's `Pooling` layer rounds the output size up (pooling_layer.cpp):

    out = ceil((H + 2 * pad - kernel) / stride) + 1,   then, if pad > 0,
    out -= 1 when the last window would start at or beyond H + pad,

whereas Keras' `MaxPooling2D(padding="valid")` rounds down. FCN's crop offsets (19, 5, 27, 9,
31) are only right with Caffe's sizes, because its 100-pixel pad makes most sizes odd
(Caffe's `pooling_layer.cpp`; shelhamer/fcn.berkeleyvision.org `voc-fcn*/net.py`). Caffe ignores
padded positions (a window's maximum is over the real inputs it covers).
"""

from __future__ import annotations

import functools
import math

import keras
from keras import ops

from zoo.errors import ConfigError


def _pair(value, what):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or any(int(v) != v for v in pair):
        raise ConfigError(f"{what} must be an int or a pair of ints, got {value!r}")
    return tuple(int(v) for v in pair)


def caffe_pool_size(size, kernel, stride, pad):
    """Caffe's pooled size of one spatial axis of length `size`."""
    out = math.ceil((size + 2 * pad - kernel) / stride) + 1
    if pad > 0 and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _repeat_edge(x, axis, before, after):
    """Pad `axis` by repeating its first/last slice `before`/`after` times."""

    def edge(index):
        key = [slice(None)] * len(x.shape)
        key[axis] = slice(index, index + 1 if index >= 0 else None)
        return x[tuple(key)]

    parts = ([ops.repeat(edge(0), before, axis=axis)] if before else []) + [x]
    parts += [ops.repeat(edge(-1), after, axis=axis)] if after else []
    return ops.concatenate(parts, axis=axis) if len(parts) > 1 else x


@keras.saving.register_keras_serializable(package="zoo")
class CaffeMaxPooling2D(keras.layers.Layer):
    """Caffe `Pooling` (MAX) on channels-last inputs: ceil-mode output sizes, padding ignored.

    Args:
        pool_size: kernel size, an int or (kh, kw).
        strides: stride, an int or (sh, sw); defaults to `pool_size`.
        padding: Caffe's `pad`, an int or (ph, pw) added on both sides (must be < pool_size).

    Padding repeats the edge rows and columns instead of using -inf: each window that reaches
    into the padding also covers the edge it repeats, so the maxima equal Caffe's, and the
    exported graph has no infinite constants (which int8 quantisation cannot represent).
    """

    def __init__(self, pool_size=2, strides=None, padding=0, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _pair(pool_size, "pool_size")
        self.strides = _pair(pool_size if strides is None else strides, "strides")
        self.padding = _pair(padding, "padding")
        for k, s, p in zip(self.pool_size, self.strides, self.padding):
            if not 0 <= p < k:
                raise ConfigError(f"Caffe pooling needs 0 <= padding < pool_size, got padding {p} for pool_size {k}")
            if s > k:
                # Caffe would then produce windows that cover only padding or nothing at all.
                raise ConfigError(f"CaffeMaxPooling2D needs strides <= pool_size, got stride {s} for pool_size {k}")

    def _axis_padding(self, size, axis):
        """(before, after): edge rows to add on one axis; `after` must be static."""
        k, s, p = self.pool_size[axis], self.strides[axis], self.padding[axis]
        if size is None:
            return p, p + s - 1  # enough for ceil rounding; the Caffe rule is applied by slicing
        out = caffe_pool_size(size, k, s, p)
        return p, max((out - 1) * s + k - size - p, 0)

    def call(self, inputs):
        x = inputs
        for axis in (0, 1):
            x = _repeat_edge(x, axis + 1, *self._axis_padding(inputs.shape[axis + 1], axis))
        y = ops.max_pool(x, self.pool_size, self.strides, padding="valid", data_format="channels_last")
        if not any(self.padding):
            return y  # the edge rows added above give exactly Caffe's number of windows
        # With padding, drop a last window that would start beyond the left-padded input.
        h, w = (inputs.shape[i] if inputs.shape[i] is not None else ops.shape(inputs)[i] for i in (1, 2))
        return y[:, : self._out_size(h, 0), : self._out_size(w, 1)]

    def _out_size(self, size, axis):
        k, s, p = self.pool_size[axis], self.strides[axis], self.padding[axis]
        if isinstance(size, int):
            return caffe_pool_size(size, k, s, p)
        out = (size + 2 * p - k + s - 1) // s + 1  # ceil((size + 2p - k) / s) + 1
        return ops.where((out - 1) * s >= size + p, out - 1, out)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        size = [None if d is None else caffe_pool_size(d, k, s, p) for d, k, s, p in
                zip((h, w), self.pool_size, self.strides, self.padding)]
        return (n, size[0], size[1], c)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides, "padding": self.padding}


@keras.saving.register_keras_serializable(package="zoo")
class PaddedMaxPooling2D(keras.layers.Layer):
    """Max pooling with symmetric padding that is ignored and floor-mode sizes (cuDNN's, as Theano's
    `dnn_pool` calls it): out = floor((H + 2 * pad - kernel) / stride) + 1. Keras' "same" pads
    asymmetrically, so its windows sit one pixel off. The BiGAN release pools this way (net.py
    `Pool`, pad (k - 1) // 2). Padding repeats the edges, as CaffeMaxPooling2D, which equals -inf
    padding for max pooling.
    """

    def __init__(self, pool_size=3, strides=2, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _pair(pool_size, "pool_size")
        self.strides = _pair(strides, "strides")
        self.padding = _pair(padding, "padding")
        if any(not 0 <= p < k for k, p in zip(self.pool_size, self.padding)):
            raise ConfigError(f"padded pooling needs 0 <= padding < pool_size, got {self.padding} for {self.pool_size}")

    def call(self, inputs):
        x = inputs
        for axis, p in zip((1, 2), self.padding):
            x = _repeat_edge(x, axis, p, p)
        return ops.max_pool(x, self.pool_size, self.strides, padding="valid", data_format="channels_last")

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        size = [None if d is None else (d + 2 * p - k) // s + 1
                for d, k, s, p in zip((h, w), self.pool_size, self.strides, self.padding)]
        return (n, size[0], size[1], c)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides, "padding": self.padding}


@keras.saving.register_keras_serializable(package="zoo")
class CaffeMaxPooling3D(keras.layers.Layer):
    """C3D's `Pooling3D` (MAX) on (N, T, H, W, C): ceil-mode sizes on every axis, no padding.

    Tran et al. 2015 §3.1 (facebook/C3D pooling3d_layer.cpp: pooled = ceil((L - k) / s) + 1 on
    length, height and width). C3D's pool1 is 1x2x2 ("not to merge the temporal signal too
    early"), the others 2x2x2; pool5 takes 2x7x7 to 1x4x4 by the ceil rounding, so fc6 reads
    512x1x4x4 = 8192 values.

    Args:
        pool_size: (kt, kh, kw) or an int.
        strides: (st, sh, sw); defaults to `pool_size`.

    Built from 2-D max pooling over the frames (time folded into the batch) and an elementwise
    maximum of strided time slices, so TFLite converts it with builtin ops (it has no 3-D max
    pooling builtin). The clip length T must be static.
    """

    def __init__(self, pool_size=2, strides=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _triple(pool_size, "pool_size")
        self.strides = _triple(pool_size if strides is None else strides, "strides")
        if any(s > k for k, s in zip(self.pool_size, self.strides)):
            raise ConfigError(f"CaffeMaxPooling3D needs strides <= pool_size, got {self.strides} for {self.pool_size}")
        self._spatial = CaffeMaxPooling2D(self.pool_size[1:], self.strides[1:], name=f"{self.name}_spatial")

    def build(self, input_shape):
        self._spatial.build((None, *input_shape[2:]))
        self.built = True

    def call(self, inputs):
        steps = inputs.shape[1]
        if steps is None:
            raise ConfigError("CaffeMaxPooling3D needs a static clip length T (build the model with a fixed T)")
        frames = self._spatial(ops.reshape(inputs, (-1, *inputs.shape[2:])))
        x = ops.reshape(frames, (-1, steps, *frames.shape[1:]))
        k, s = self.pool_size[0], self.strides[0]
        if k == 1 and s == 1:
            return x
        out = caffe_pool_size(steps, k, s, 0)
        x = _repeat_edge(x, 1, 0, max((out - 1) * s + k - steps, 0))
        slices = [x[:, j : j + (out - 1) * s + 1 : s] for j in range(k)]
        return functools.reduce(ops.maximum, slices)

    def compute_output_shape(self, input_shape):
        n, *sizes, c = input_shape
        out = [None if d is None else caffe_pool_size(d, k, s, 0) for d, k, s in zip(sizes, self.pool_size, self.strides)]
        return (n, *out, c)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides}


def _triple(value, what):
    triple = (value,) * 3 if isinstance(value, int) else tuple(value)
    if len(triple) != 3 or any(int(v) != v or v < 1 for v in triple):
        raise ConfigError(f"{what} must be a positive int or a triple of them, got {value!r}")
    return tuple(int(v) for v in triple)
