"""Caffe's vanilla `RNN` layer (BVLC/caffe src/caffe/layers/rnn_layer.cpp), as one Keras layer.

Donahue thesis §4.1 gives the vanilla RNN the LRCN captioners are compared with (the "RNN" rows
of Tables 4.5 and 4.6) as h_t = g(W_xh x_t + W_hh h_{t-1} + b_h), z_t = g(W_hz h_t + b_z).
Caffe's RNNLayer unrolls exactly that, with g = tanh, and gates the previous state with the
sequence-continuation input `cont` (0 on the first step of a sequence):

    h_t = tanh(W_xh x_t + b_h [+ W_xh_static x_static] + W_hh (cont_t h_{t-1}))
    o_t = tanh(W_ho h_t + b_o)                                   (the layer's output)

h_0 = 0. Unlike Keras `SimpleRNN`, the output is not the state: a second tanh layer (W_ho, b_o)
sits on every step, inside the layer. `cont` is optional here; without it the state carries on
over the whole input (cont_1 = 0, then 1: one sequence per row, what the captioners feed). The
static input is concatenated to x_t by the caller: its weights are extra rows of `kernel`.

Weights (Keras layout, inputs on the rows): `kernel` (D, H) = W_xhᵀ, `recurrent_kernel` (H, H)
= W_hhᵀ, `bias` (H,) = b_h, `output_kernel` (H, H) = W_hoᵀ, `output_bias` (H,) = b_o.
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.errors import ConfigError, InputError


@keras.saving.register_keras_serializable(package="zoo")
class CaffeRNNCell(keras.layers.Layer):
    """One step of Caffe's RNN: `(x_t, [h_{t-1}]) -> (o_t, [h_t])`.

    A step input one wider than the kernel's rows carries cont_t in its last column (how
    `CaffeRNN` passes `cont` through Keras' recurrence); h_{t-1} is multiplied by it.
    """

    def __init__(self, units, kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 output_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if int(units) != units or units < 1:
            raise ConfigError(f"units must be a positive integer (Caffe's num_output), got {units!r}")
        self.units = int(units)
        self.state_size = self.units
        self.output_size = self.units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.output_initializer = keras.initializers.get(output_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        h = self.units
        self.kernel = self.add_weight((input_shape[-1], h), self.kernel_initializer, name="kernel")
        self.recurrent_kernel = self.add_weight((h, h), self.recurrent_initializer, name="recurrent_kernel")
        self.bias = self.add_weight((h,), self.bias_initializer, name="bias")
        self.output_kernel = self.add_weight((h, h), self.output_initializer, name="output_kernel")
        self.output_bias = self.add_weight((h,), self.bias_initializer, name="output_bias")

    def call(self, inputs, states, training=False):
        h = states[0] if isinstance(states, (list, tuple)) else states
        rows = self.kernel.shape[0]
        if inputs.shape[-1] == rows + 1:  # [x_t ; cont_t]: h_conted_{t-1} = cont_t h_{t-1}
            inputs, cont = inputs[..., :rows], inputs[..., rows:]
            h = h * cont
        h = ops.tanh(ops.matmul(inputs, self.kernel) + self.bias + ops.matmul(h, self.recurrent_kernel))
        return ops.tanh(ops.matmul(h, self.output_kernel) + self.output_bias), [h]

    def get_config(self):
        return {
            **super().get_config(), "units": self.units,
            **{k: keras.initializers.serialize(getattr(self, k)) for k in _INITIALIZERS},
        }


_INITIALIZERS = ("kernel_initializer", "recurrent_initializer", "output_initializer", "bias_initializer")


@keras.saving.register_keras_serializable(package="zoo")
class CaffeRNN(keras.layers.RNN):
    """Caffe's `RNN` layer over (N, T, D) inputs: per-step outputs o_t (N, T, H), or o_T.

    Call as `layer(x, cont=None, initial_state=None)`: `cont` (N, T), 0 where a new sequence
    starts (Caffe's second bottom); `initial_state` [h_0] (N, H), zero by default. With
    `return_state=True` it also returns h_T (the state, not the output). The cell
    (`layer.cell`) runs one step for decoders that carry the state outside.

    Args:
        units: H, Caffe's recurrent_param.num_output (state and output alike).
        kernel_initializer, recurrent_initializer, output_initializer, bias_initializer: the
            fillers of W_xh (+ W_xh_static), W_hh, W_ho and both biases.
        return_sequences, return_state, unroll and the other keras.layers.RNN arguments.
    """

    def __init__(self, units, kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 output_initializer="glorot_uniform", bias_initializer="zeros", return_sequences=True, **kwargs):
        cell = CaffeRNNCell(units, kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                            output_initializer=output_initializer, bias_initializer=bias_initializer,
                            dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True), name="caffe_rnn_cell")
        super().__init__(cell, return_sequences=return_sequences, **kwargs)

    @property
    def units(self):
        return self.cell.units

    def build(self, sequences_shape, cont_shape=None, initial_state_shape=None):
        if len(sequences_shape) != 3:
            raise InputError(f"{self.name}: CaffeRNN takes (batch, time, features) inputs, got shape {sequences_shape}")
        super().build(sequences_shape, initial_state_shape)

    def compute_output_shape(self, sequences_shape, cont_shape=None, initial_state_shape=None):
        return super().compute_output_shape(sequences_shape, initial_state_shape)

    def call(self, sequences, cont=None, initial_state=None, mask=None, training=False):
        if cont is not None:
            want = tuple(sequences.shape[:2])
            if len(cont.shape) != 2 or any(a is not None and b is not None and a != b
                                           for a, b in zip(cont.shape, want)):
                raise InputError(f"{self.name}: cont must be (batch, time) = {want} like the input's first two "
                                 f"axes (1 to carry the state on, 0 to start a sequence); got {tuple(cont.shape)}")
            cont = ops.expand_dims(ops.cast(cont, sequences.dtype), -1)
            sequences = ops.concatenate([sequences, cont], axis=-1)
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        return {**config, "units": self.units,
                **{k: keras.initializers.serialize(getattr(self.cell, k)) for k in _INITIALIZERS}}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
