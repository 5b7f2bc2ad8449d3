"""The N-dimensional Grid LSTM block (Kalchbrenner, Danihelka, Graves 2015, "Grid Long Short-Term
Memory", arXiv:1507.01526, §2-3; J. Bastings' talk on the paper).

An N-LSTM block sits at one point of an N-dimensional grid. Along each dimension i it receives a
hidden vector h_i and a memory vector m_i from its predecessor, and sends h'_i, m'_i on to its
successor along that dimension. All incoming hidden vectors form one shared input

    H = [h_1; ...; h_N]                       (plus [I x] where an input enters the block itself)

and every dimension applies its own transform to it:

    LSTM dimension:      g^u = σ(W^u H)  update      g^f = σ(W^f H)  forget
                         g^o = σ(W^o H)  output      g^c = tanh(W^c H)  content
                         m'_i = g^f ⊙ m_i + g^u ⊙ g^c
                         h'_i = tanh(g^o ⊙ m'_i)      (the paper's form; `output_form="paper"`)
                         h'_i = g^o ⊙ tanh(m'_i)      (the usual LSTM; `output_form="standard"`)
    non-LSTM dimension:  h'_i = α(V_i H)  with α the identity, ReLU or tanh; it carries no memory.

Priority dimensions (paper §3.3) are computed after the others and see their new outputs: their
transforms take H' = [x_1; ...; x_N] with x_j = h'_j for the other dimensions and x_j = h_j for
the priority dimensions themselves.

Weight sharing. The paper's "tied" N-LSTM shares the block's weights between all grid positions
(Bastings' talk: "If weights are shared along all dimensions: Tied N-LSTM"). In Keras that is
calling one block instance at every position; an untied grid calls a new instance per position
along the untied dimension (e.g. one per layer along depth). `tied_transforms=True` is a
different sharing, TF contrib GridRNNCell's `tied`: all LSTM dimensions of the block use one
transform (the translation model shares its weights across source and target dimensions).

Layout of the weights (one kernel per transform, columns in the gate order of the slides):
    `transform_{i}_kernel` (width of H, 4 d_i), columns [update | forget | output | content]
    `transform_{i}_bias`   (4 d_i,)  (with use_bias; the slides' equations have no bias)
    `transfer_{i}_kernel`  (width of H, d_i), `transfer_{i}_bias` (d_i,) for non-LSTM dims
    `transform_shared_*` instead of `transform_{i}_*` with tied_transforms.
Rows of a kernel follow H: the d_1 rows of h_1, then h_2, ..., then the extra input's rows.
Initialisation: kernels Glorot-uniform, biases zero except the forget gate's, which starts at 1
(`unit_forget_bias`, as Keras' LSTM and contrib's Grid*LSTMCell's forget_bias=1.0).

A grid edge (no predecessor) passes None: its h and m count as zero vectors, which is what the
paper's zero-initialised edges give, and the block skips their kernel rows.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import ops

from zoo.errors import ConfigError, InputError

TRANSFERS = ("lstm", "identity", "relu", "tanh")
OUTPUT_FORMS = ("paper", "standard")
GATES = ("update", "forget", "output", "content")


def _as_units(units, num_dims):
    if isinstance(units, Sequence) and not isinstance(units, str):
        units = tuple(units)
        if num_dims is not None and len(units) != num_dims:
            raise ConfigError(f"units has {len(units)} entries for a block of {num_dims} dimensions")
    else:
        if num_dims is None:
            raise ConfigError("give num_dims, or units as one size per dimension")
        units = (units,) * int(num_dims)
    if not units or any(int(u) != u or u < 1 for u in units):
        raise ConfigError(f"units must be positive integers, one per dimension; got {units!r}")
    return tuple(int(u) for u in units)


@keras.saving.register_keras_serializable(package="zoo")
class GridLSTMBlock(keras.layers.Layer):
    """One N-LSTM block: `(hidden, memory) -> (hidden', memory')`, one vector per dimension.

    Call as `block(hidden, memory, inputs=None)`:
        hidden: N tensors (batch, d_i), or None for a grid edge (a zero vector).
        memory: N tensors (batch, d_i) or None; None for every non-LSTM dimension.
        inputs: optional (batch, input_units) tensor appended to H, the slides' [I x; h]
            (a stacked LSTM's layer input); Grid LSTMs project their input into the edges instead.
    Returns `(hidden', memory')`: N hidden tensors and one memory tensor per LSTM dimension, in
    dimension order (`self.lstm_dims` lists them).

    Args:
        units: d_i, an int for every dimension or one per dimension.
        num_dims: N (needed when `units` is an int).
        transfer: per dimension "lstm" (default), or a non-LSTM transfer "identity", "relu", "tanh".
        priority_dims: dimensions computed last, from the other dimensions' new hidden vectors.
        tied_transforms: one LSTM transform shared by all LSTM dimensions (equal units needed).
        input_units: width of `inputs` (0: the block takes none).
        output_form: "paper" h' = tanh(g^o ⊙ m'), or "standard" h' = g^o ⊙ tanh(m').
        use_bias: add biases to every transform (False: exactly the slides' equations).
        unit_forget_bias: start the forget-gate bias at 1.
        kernel_initializer, bias_initializer: Keras initializers.
    """

    def __init__(
        self,
        units,
        num_dims=None,
        transfer=None,
        priority_dims=(),
        tied_transforms=False,
        input_units=0,
        output_form="paper",
        use_bias=True,
        unit_forget_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = _as_units(units, num_dims)
        n = self.num_dims = len(self.units)
        self.transfer = tuple(transfer) if transfer is not None else ("lstm",) * n
        if len(self.transfer) != n or any(t not in TRANSFERS for t in self.transfer):
            raise ConfigError(f"transfer must give one of {TRANSFERS} for each of the {n} dimensions; got {transfer!r}")
        self.priority_dims = tuple(sorted(int(d) for d in priority_dims))
        if any(not 0 <= d < n for d in self.priority_dims) or len(set(self.priority_dims)) != len(self.priority_dims):
            raise ConfigError(f"priority_dims must be distinct dimensions in [0, {n}); got {priority_dims!r}")
        if len(self.priority_dims) == n:
            raise ConfigError("at least one dimension must not be a priority dimension")
        self.lstm_dims = tuple(i for i, t in enumerate(self.transfer) if t == "lstm")
        self.tied_transforms = bool(tied_transforms)
        if self.tied_transforms and len({self.units[i] for i in self.lstm_dims}) > 1:
            raise ConfigError(f"tied_transforms needs equal units on the LSTM dimensions; got {self.units}")
        if output_form not in OUTPUT_FORMS:
            raise ConfigError(f"output_form must be one of {OUTPUT_FORMS}; got {output_form!r}")
        if int(input_units) != input_units or input_units < 0:
            raise ConfigError(f"input_units must be a non-negative integer; got {input_units!r}")
        self.input_units = int(input_units)
        self.output_form = output_form
        self.use_bias = bool(use_bias)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        # Row offsets of each part of H in the kernels: h_1, ..., h_N, then the extra input.
        widths = list(self.units) + [self.input_units]
        self._offsets = [sum(widths[:i]) for i in range(len(widths) + 1)]
        self._create_weights()

    # ------------------------------------------------------------------ weights

    def _bias_init(self, d):
        def init(shape, dtype=None):
            bias = self.bias_initializer((4 * d,), dtype=dtype)
            if self.unit_forget_bias:
                bias = ops.concatenate([bias[:d], ops.ones((d,), dtype=bias.dtype), bias[2 * d :]])
            return bias

        return init

    def _create_weights(self):
        # Every shape is known from the configuration, so weights exist as soon as the block does.
        rows = self._offsets[-1]
        self._kernels, self._biases = {}, {}  # by str(dimension): trackable dicts need string keys
        shared = None
        for i in range(self.num_dims):
            d = self.units[i]
            if self.transfer[i] == "lstm":
                if self.tied_transforms and shared is not None:
                    self._kernels[str(i)], self._biases[str(i)] = shared
                    continue
                tag = "shared" if self.tied_transforms else str(i)
                kernel = self.add_weight(
                    name=f"transform_{tag}_kernel", shape=(rows, 4 * d), initializer=self.kernel_initializer
                )
                bias = (
                    self.add_weight(name=f"transform_{tag}_bias", shape=(4 * d,), initializer=self._bias_init(d))
                    if self.use_bias
                    else None
                )
                shared = (kernel, bias)
            else:
                kernel = self.add_weight(
                    name=f"transfer_{i}_kernel", shape=(rows, d), initializer=self.kernel_initializer
                )
                bias = (
                    self.add_weight(name=f"transfer_{i}_bias", shape=(d,), initializer=self.bias_initializer)
                    if self.use_bias
                    else None
                )
            self._kernels[str(i)], self._biases[str(i)] = kernel, bias
        self.built = True

    # ------------------------------------------------------------------ checks

    def _check(self, hidden, memory, inputs):
        n, name = self.num_dims, self.name
        for what, vectors in (("hidden", hidden), ("memory", memory)):
            if not isinstance(vectors, (list, tuple)) or len(vectors) != n:
                found = len(vectors) if isinstance(vectors, (list, tuple)) else f"one {type(vectors).__name__}"
                raise InputError(
                    f"{name} is a {n}-dimensional Grid LSTM block and takes {n} {what} vectors "
                    f"(None for a grid edge); got {found}"
                )
        for i in range(n):
            for what, v in (("hidden", hidden[i]), ("memory", memory[i])):
                if v is None:
                    continue
                if what == "memory" and self.transfer[i] != "lstm":
                    raise InputError(
                        f"{name}: dimension {i} is a non-LSTM ({self.transfer[i]}) dimension and has no memory; "
                        "pass None"
                    )
                if len(v.shape) != 2 or v.shape[-1] != self.units[i]:
                    raise InputError(
                        f"{name}: the {what} vector of dimension {i} must be (batch, {self.units[i]}); "
                        f"got {tuple(v.shape)}"
                    )
        if (inputs is None) != (self.input_units == 0):
            raise InputError(
                f"{name} takes an input vector of width {self.input_units}" if self.input_units
                else f"{name} was built with input_units=0 and takes no input vector"
            )
        if inputs is not None and (len(inputs.shape) != 2 or inputs.shape[-1] != self.input_units):
            raise InputError(f"{name}: inputs must be (batch, {self.input_units}); got {tuple(inputs.shape)}")
        if inputs is None and all(h is None for h in hidden):
            raise InputError(f"{name}: every hidden vector is None; at least one edge must carry a vector")

    # ------------------------------------------------------------------ the equations

    def _project(self, parts, kernel, bias):
        """kernel-rows-of-the-present-parts · [present parts]: the zero (None) parts of H drop out."""
        present = [j for j, p in enumerate(parts) if p is not None]
        x = parts[present[0]] if len(present) == 1 else ops.concatenate([parts[j] for j in present], axis=-1)
        if len(present) == len(parts):
            w = kernel
        else:
            w = ops.concatenate([kernel[self._offsets[j] : self._offsets[j + 1]] for j in present], axis=0)
        y = ops.matmul(x, w)
        return y + bias if bias is not None else y

    def _transform(self, i, parts, memory):
        d = self.units[i]
        z = self._project(parts, self._kernels[str(i)], self._biases[str(i)])
        if self.transfer[i] != "lstm":
            if self.transfer[i] == "relu":
                z = ops.relu(z)
            elif self.transfer[i] == "tanh":
                z = ops.tanh(z)
            return z, None
        g_update = ops.sigmoid(z[:, :d])
        g_forget = ops.sigmoid(z[:, d : 2 * d])
        g_output = ops.sigmoid(z[:, 2 * d : 3 * d])
        g_content = ops.tanh(z[:, 3 * d :])
        m = g_update * g_content if memory is None else g_forget * memory + g_update * g_content
        h = ops.tanh(g_output * m) if self.output_form == "paper" else g_output * ops.tanh(m)
        return h, m

    def call(self, hidden, memory, inputs=None):
        self._check(hidden, memory, inputs)
        n = self.num_dims
        new_h, new_m = [None] * n, [None] * n
        parts = list(hidden) + [inputs]
        for i in range(n):
            if i not in self.priority_dims:
                new_h[i], new_m[i] = self._transform(i, parts, memory[i])
        if self.priority_dims:
            parts = [h if i in self.priority_dims else new_h[i] for i, h in enumerate(hidden)] + [inputs]
            for i in self.priority_dims:
                new_h[i], new_m[i] = self._transform(i, parts, memory[i])
        return new_h, [new_m[i] for i in self.lstm_dims]

    def compute_output_spec(self, hidden, memory, inputs=None):
        self._check(hidden, memory, inputs)
        batch = next(v.shape[0] for v in [*hidden, inputs] if v is not None)
        dtype = self.compute_dtype
        h = [keras.KerasTensor((batch, d), dtype=dtype) for d in self.units]
        return h, [keras.KerasTensor((batch, self.units[i]), dtype=dtype) for i in self.lstm_dims]

    def get_config(self):
        return {
            **super().get_config(),
            "units": list(self.units),
            "transfer": list(self.transfer),
            "priority_dims": list(self.priority_dims),
            "tied_transforms": self.tied_transforms,
            "input_units": self.input_units,
            "output_form": self.output_form,
            "use_bias": self.use_bias,
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
