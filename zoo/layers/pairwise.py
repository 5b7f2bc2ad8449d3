"""The pairwise transpose of Long's region networks as a Keras layer (thesis §4.3.2-4.3.3).

`PairwiseTranspose(k)` maps a `(B, H, W, k*k)` pairwise map p (zoo.ops.pairwise's layout:
offset Δ = (i - k//2, j - k//2) at channel i*k + j) to p^T(x, Δ) = p(x + Δ, -Δ): each output
cell then reads the features under that cell rather than under the region's centre. No weights.
"""

from __future__ import annotations

import keras

from zoo.ops.pairwise import pairwise_transpose


@keras.saving.register_keras_serializable(package="zoo")
class PairwiseTranspose(keras.layers.Layer):
    """p^T(x, Δ) = p(x + Δ, -Δ) on a `(B, H, W, k*k)` pairwise map (0 outside the grid)."""

    def __init__(self, k, **kwargs):
        super().__init__(**kwargs)
        self.k = int(k)

    def call(self, inputs):
        return pairwise_transpose(inputs, self.k)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "k": self.k}
