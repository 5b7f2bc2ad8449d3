"""Caffe's `Crop` layer on the spatial axes (`axis: 2`), channels-last.

FCN crops each upsampled score map to the size of a reference blob (the next skip's scores or
the input image) at a fixed offset that undoes the 100-pixel pad and the deconvolution borders
(reference code voc-fcn*/net.py, `caffe.coord_map.crop`).
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.errors import ConfigError, InputError


@keras.saving.register_keras_serializable(package="zoo")
class CaffeCrop(keras.layers.Layer):
    """`CaffeCrop(offset)([a, reference])` -> a[:, o:o + H_ref, o:o + W_ref, :].

    Args:
        offset: Caffe's crop offset, an int (both axes) or (oh, ow).

    A smaller than reference + offset raises InputError whenever the sizes are known (always
    in eager mode and with static shapes; inside a graph with unknown sizes the slice simply
    cannot be checked).
    """

    def __init__(self, offset, **kwargs):
        super().__init__(**kwargs)
        pair = (offset, offset) if isinstance(offset, int) else tuple(offset)
        if len(pair) != 2 or any(int(o) != o or o < 0 for o in pair):
            raise ConfigError(f"crop offset must be a non-negative int or a pair of them, got {offset!r}")
        self.offset = tuple(int(o) for o in pair)

    def _check(self, a_shape, ref_shape):
        for axis, name in ((1, "height"), (2, "width")):
            a, ref, o = a_shape[axis], ref_shape[axis], self.offset[axis - 1]
            if isinstance(a, int) and isinstance(ref, int) and a < ref + o:
                raise InputError(
                    f"{self.name}: cannot crop {name} {ref} at offset {o} from an input of {name} {a}; "
                    f"it needs at least {ref + o}"
                )

    def call(self, inputs):
        a, ref = inputs
        self._check(tuple(a.shape), tuple(ref.shape))
        oh, ow = self.offset
        h = ref.shape[1] if ref.shape[1] is not None else ops.shape(ref)[1]
        w = ref.shape[2] if ref.shape[2] is not None else ops.shape(ref)[2]
        return a[:, oh : oh + h, ow : ow + w, :]

    def compute_output_shape(self, input_shapes):
        a_shape, ref_shape = (tuple(s) for s in input_shapes)
        self._check(a_shape, ref_shape)
        return (a_shape[0], ref_shape[1], ref_shape[2], a_shape[3])

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}
