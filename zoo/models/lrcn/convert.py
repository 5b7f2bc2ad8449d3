"""Caffe LSTM weights into Keras LSTMs, and the released LRCN `.caffemodel` files into zoo models.

Caffe's `LSTM` layer (BVLC/caffe src/caffe/layers/lstm_layer.cpp, from the LRCN recurrent
branch) stores its parameters in the order its unrolled net creates them:

    W_xc (4H, D)           input transform, with the layer's only bias
    b_c (4H,)
    W_xc_static (4H, Ds)   only with a static input (the captioner's image feature); no bias
    W_hc (4H, H)           hidden transform, no bias

with the gate pre-activations packed as i, f, o, g (LSTMUnit: i, f, o = sigmoid, g = tanh,
c_t = cont_t·f·c_{t-1} + i·g, h_t = o·tanh(c_t)). A Keras LSTM has kernel (D, 4H),
recurrent_kernel (H, 4H) and bias (4H,) packed as i, f, c (= g), o. The converters below swap
the last two gate blocks and transpose; a static input becomes extra kernel rows after the
dynamic input's, because the zoo's LRCN models concatenate [x_t ; static] as the LSTM input.

Caffe's `cont_t` (0 at the first step of a sequence) zeroes h_{t-1} and the c_{t-1} term; a
Keras LSTM started from a zero state on each clip or caption computes the same thing.

Importing this module registers the conversion with the Caffe importer and writer
(`register_layer_converter` / `register_layer_exporter`), so `zoo.get(name, weights=
"x.caffemodel")` loads LRCN files and `keras_to_caffe` writes them; `ModelCard.builder` imports
it with the first LRCN builder it resolves (zoo.registry).
"""

from __future__ import annotations

import keras
import numpy as np

from zoo import weights as weights_mod
from zoo.convert.caffe import caffe_to_keras, read_caffemodel, register_layer_converter
from zoo.convert.caffe_writer import register_layer_exporter
from zoo.errors import WeightsMismatchError

# Caffe's gate blocks i, f, o, g in Keras order i, f, c(=g), o: block 2 and 3 swap (self-inverse).
_GATE_ORDER = (0, 1, 3, 2)


def _swap_gates(array, units, axis=0):
    blocks = np.split(np.asarray(array), 4, axis=axis)
    if blocks[0].shape[axis] != units:
        raise WeightsMismatchError(f"gate axis of size {array.shape[axis]} is not 4 x {units} units")
    return np.concatenate([blocks[i] for i in _GATE_ORDER], axis=axis)


def caffe_lstm_to_keras(blobs, *, name="LSTM") -> list[np.ndarray]:
    """Caffe LSTM blobs [W_xc, b_c, (W_xc_static,) W_hc] -> Keras [kernel, recurrent_kernel, bias]."""
    blobs = [np.asarray(b, dtype=np.float32) for b in blobs]
    if len(blobs) not in (3, 4):
        raise WeightsMismatchError(
            f"{name}: a Caffe LSTM has 3 blobs (W_xc, b_c, W_hc) or 4 with a static input; the file has {len(blobs)}"
        )
    w_hc = blobs[-1]
    if w_hc.ndim != 2 or w_hc.shape[0] != 4 * w_hc.shape[1]:
        raise WeightsMismatchError(f"{name}: W_hc must be (4H, H); the file has {w_hc.shape}")
    units = w_hc.shape[1]
    inputs = blobs[:1] + blobs[2:-1]  # W_xc and, with a static input, W_xc_static
    bias = blobs[1].reshape(-1)
    for w in inputs:
        if w.ndim != 2 or w.shape[0] != 4 * units:
            raise WeightsMismatchError(
                f"{name}: input weights must be (4H, D) with H = {units}; the file has {w.shape}"
            )
    if bias.shape != (4 * units,):
        raise WeightsMismatchError(f"{name}: b_c must have 4H = {4 * units} values; the file has {blobs[1].shape}")
    kernel = np.concatenate(inputs, axis=1)
    return [_swap_gates(kernel, units).T, _swap_gates(w_hc, units).T, _swap_gates(bias, units)]


def keras_lstm_to_caffe(arrays, *, static_dim: int = 0) -> list[np.ndarray]:
    """Keras [kernel, recurrent_kernel, bias] -> Caffe blobs; the last `static_dim` kernel rows
    become W_xc_static (the inverse of `caffe_lstm_to_keras`)."""
    kernel, recurrent, bias = (np.asarray(a, dtype=np.float32) for a in arrays)
    units = recurrent.shape[0]
    w_x = _swap_gates(kernel.T, units)
    blobs = [w_x[:, : w_x.shape[1] - static_dim], _swap_gates(bias, units)]
    if static_dim:
        blobs.append(w_x[:, w_x.shape[1] - static_dim :])
    return blobs + [_swap_gates(recurrent.T, units)]


def _static_dim(lstm) -> int:
    """Width of the static input of an LRCN LSTM: the zoo's models feed `<name>_input` =
    Concatenate([x_t, static]) (captioning.word_decoder), whose last part is Caffe's static input."""
    nodes = getattr(lstm, "_inbound_nodes", None)
    if not nodes or not nodes[0].parent_nodes:
        return 0
    parent = nodes[0].parent_nodes[0]
    if isinstance(parent.operation, keras.layers.Concatenate) and parent.operation.name == f"{lstm.name}_input":
        return int(parent.input_tensors[-1].shape[-1])
    return 0


def _squeeze_leading(blob, rank):
    """A legacy 4-D blob (1, 1, 4H, D) or (1, 1, 1, 4H) as (4H, D) or (4H,); other shapes as they are."""
    blob = np.asarray(blob)
    while blob.ndim > rank and blob.shape[0] == 1:
        blob = blob[0]
    return blob


def _from_caffe(layer, target) -> list[np.ndarray]:
    """zoo.convert.caffe's converter of Caffe `LSTM` layers into Keras LSTMs."""
    blobs = [_squeeze_leading(b, 1 if i == 1 else 2) for i, b in enumerate(layer.blobs)]  # b_c is blob 1
    return caffe_lstm_to_keras(blobs, name=f"LSTM {layer.name}")


def _to_caffe(layer, arrays):
    """zoo.convert.caffe_writer's exporter of Keras LSTMs as Caffe `LSTM` layers."""
    return "LSTM", keras_lstm_to_caffe(arrays, static_dim=_static_dim(layer)), {
        "recurrent_param": {"num_output": layer.cell.units}
    }


register_layer_converter("LSTM", keras.layers.LSTM, _from_caffe)
register_layer_exporter(keras.layers.LSTM, _to_caffe)


def load_caffemodel(model, path, *, partial: bool = False) -> dict:
    """Load a released LRCN `.caffemodel` (e.g. RGB_lstm_model_iter_30000.caffemodel) into `model`.

    `zoo.get(name, weights="x.caffemodel")` does the same for a registered model (the Caffe
    importer reads `LSTM` layers through the converter registered above). Strict and
    all-or-nothing (`zoo.weights.assign_named`): every learned layer of the model must be in the
    file with its shape, and nothing else may be. `partial=True` loads the layers the two share
    and leaves the rest initialised, as the release initialises the LSTM model from the
    single-frame one (conv1 .. fc6); shapes must still agree. Returns assign_named's report.
    """
    named = caffe_to_keras(read_caffemodel(path), model, source=str(path))
    return weights_mod.assign_named(model, named, source=str(path), partial=partial)
