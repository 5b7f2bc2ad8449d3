"""The parts around `GridLSTMBlock` that keep a Grid LSTM network's graph readable.

A Grid LSTM is unrolled in Python (zoo.models.grid_lstm): one block call per grid position. Left
to Keras, that gives a layer per slice of the input (`get_item_17`), two per read-out step
(`concatenate_4`, `reshape_4`), and a `summary()` row for each block listing every position it
is called at (hundreds of lines). Here instead:

- `GridCells` splits a (batch, *grid, d) tensor into its grid cells, row-major, in one named
  layer (`embed_h_cells`: the embedded token of every step);
- `StackSteps` concatenates each step's read-out vectors and stacks the steps, in one layer;
- `GridModel` is a functional model whose `summary()` has one row per layer, with how many
  grid positions call it (`keras.Model.summary(model)` still prints Keras' own table).

None of them has weights: the weights and their names are the blocks', embeddings' and dense
layers' own.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from zoo.layers.grid_lstm import GridLSTMBlock


@keras.saving.register_keras_serializable(package="zoo")
class GridCells(keras.layers.Layer):
    """(batch, *grid, d) -> the list of the grid's cells, each (batch, d), row-major over the
    `grid_rank` grid axes (1: a sequence's steps; 2: an image's patches by rows, then columns)."""

    def __init__(self, grid_rank=1, **kwargs):
        super().__init__(**kwargs)
        self.grid_rank = int(grid_rank)

    def call(self, x):
        grid = tuple(x.shape[1 : 1 + self.grid_rank])
        if self.grid_rank > 1:
            x = ops.reshape(x, (-1, math.prod(grid), *x.shape[1 + self.grid_rank :]))
        return [x[:, k] for k in range(math.prod(grid))]

    def get_config(self):
        return {**super().get_config(), "grid_rank": self.grid_rank}


@keras.saving.register_keras_serializable(package="zoo")
class StackSteps(keras.layers.Layer):
    """A list of steps, each a (batch, d) tensor or a list of them (concatenated), -> (batch, steps, sum d)."""

    def call(self, steps):
        return ops.stack([ops.concatenate(s, axis=-1) if isinstance(s, (list, tuple)) else s for s in steps], axis=1)


def _shapes(structure) -> str:
    """'(None, 8)', or '3 x (None, 8), (None, 4)' for several outputs (None entries left out)."""
    shapes = [tuple(t.shape) for t in keras.tree.flatten(structure) if t is not None]
    groups = []
    for shape in shapes:
        if groups and groups[-1][0] == shape:
            groups[-1][1] += 1
        else:
            groups.append([shape, 1])
    return ", ".join(f"{n} x {s}" if n > 1 else str(s) for s, n in groups)


_ITEM_BYTES = {"float16": 2, "bfloat16": 2, "float64": 8, "int64": 8, "int8": 1, "uint8": 1}  # else 4


def _bytes(weights) -> int:
    return sum(math.prod(w.shape) * _ITEM_BYTES.get(keras.backend.standardize_dtype(w.dtype), 4) for w in weights)


def grid_summary(model) -> str:
    """One row per layer: name (type), output shape at its first call, parameters, calls."""
    rows = [("Layer (type)", "Output shape (first call)", "Param #", "Calls")]
    for layer in model.layers:
        nodes = getattr(layer, "_inbound_nodes", [])
        out = nodes[0].output_tensors if nodes else None
        if isinstance(layer, GridLSTMBlock):  # flat: a hidden vector per dimension, then the memories
            shape = f"h {_shapes(out[:layer.num_dims])}; m {_shapes(out[layer.num_dims:])}"
        else:
            shape = _shapes(out) if nodes else ""
        rows.append((f"{layer.name} ({type(layer).__name__})", shape, f"{layer.count_params():,}", str(len(nodes))))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f'Model: "{model.name}"']
    for k, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if k == 0:
            lines.append("-" * len(lines[-1]))
    total, trainable = model.count_params(), sum(math.prod(w.shape) for w in model.trainable_weights)
    lines += [f"Total params: {total:,} ({_bytes(model.weights) / 2**20:.2f} MiB)", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}",
              "Calls: how many grid positions call the layer (all with its one set of weights).",
              "keras.Model.summary(model) prints Keras' own table, with a line per call."]
    return "\n".join(lines)


@keras.saving.register_keras_serializable(package="zoo")
class GridModel(keras.Model):
    """A functional Keras model (built as `GridModel(inputs, outputs, name=...)`) whose
    `summary()` is `grid_summary`: one row per layer instead of one line per block call."""

    def summary(self, line_length=None, positions=None, print_fn=None, **kwargs):
        (print_fn or print)(grid_summary(self))
