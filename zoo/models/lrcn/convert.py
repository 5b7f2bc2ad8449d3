"""Caffe LSTM and RNN weights into Keras layers, and the released LRCN `.caffemodel` files into zoo models.

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

Caffe's vanilla `RNN` layer (rnn_layer.cpp; the captioners' "RNN" rows, `lrcn2f_rnn`) loads into
`zoo.layers.caffe_rnn.CaffeRNN`. Its unrolled net creates, in this order,

    W_xh (H, D), b_h (H,)  x_transform, biased      W_xh_static (H, Ds)  only with a static input
    W_hh (H, H)            the hidden transform     W_ho (H, H), b_o (H,)  the output tanh layer

(all InnerProducts, (out, in)); CaffeRNN keeps them transposed as kernel (D [+ Ds], H),
recurrent_kernel, bias, output_kernel, output_bias, the static rows after the dynamic ones.

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
from zoo.layers.caffe_rnn import CaffeRNN

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
    """Width of the static input of an LRCN LSTM or RNN: the zoo's models feed `<name>_input` =
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


def caffe_rnn_to_keras(blobs, *, name="RNN") -> list[np.ndarray]:
    """Caffe RNN blobs [W_xh, b_h, (W_xh_static,) W_hh, W_ho, b_o] -> CaffeRNN [kernel, recurrent_kernel,
    bias, output_kernel, output_bias]; WeightsMismatchError naming the blob that does not fit."""
    blobs = [np.asarray(b, dtype=np.float32) for b in blobs]
    if len(blobs) not in (5, 6):
        raise WeightsMismatchError(
            f"{name}: a Caffe RNN has 5 blobs (W_xh, b_h, W_hh, W_ho, b_o) or 6 with a static input "
            f"(W_xh_static after b_h); the file has {len(blobs)}"
        )
    w_xh, b_h, *w_static, w_hh, w_ho, b_o = blobs
    if w_hh.ndim != 2 or w_hh.shape[0] != w_hh.shape[1]:
        raise WeightsMismatchError(f"{name}: W_hh must be (H, H); the file has {w_hh.shape}")
    units = w_hh.shape[0]
    for label, w in (("W_xh", w_xh), *(("W_xh_static", w) for w in w_static)):
        if w.ndim != 2 or w.shape[0] != units:
            raise WeightsMismatchError(f"{name}: {label} must be (H, D) with H = {units}; the file has {w.shape}")
    if w_ho.shape != (units, units):
        raise WeightsMismatchError(f"{name}: W_ho must be (H, H) = ({units}, {units}); the file has {w_ho.shape}")
    for label, b in (("b_h", b_h), ("b_o", b_o)):
        if b.shape != (units,):
            raise WeightsMismatchError(f"{name}: {label} must have H = {units} values; the file has {b.shape}")
    return [np.concatenate([w_xh, *w_static], axis=1).T, w_hh.T, b_h, w_ho.T, b_o]


def keras_rnn_to_caffe(arrays, *, static_dim: int = 0) -> list[np.ndarray]:
    """CaffeRNN weights -> Caffe RNN blobs; the last `static_dim` kernel rows become W_xh_static
    (the inverse of `caffe_rnn_to_keras`)."""
    kernel, recurrent, bias, output_kernel, output_bias = (np.asarray(a, dtype=np.float32) for a in arrays)
    w_x = kernel.T
    dynamic = w_x.shape[1] - static_dim
    static = [w_x[:, dynamic:]] if static_dim else []
    return [w_x[:, :dynamic], bias, *static, recurrent.T, output_kernel.T, output_bias]


def _rnn_from_caffe(layer, target) -> list[np.ndarray]:
    """zoo.convert.caffe's converter of Caffe `RNN` layers into CaffeRNN (b_h and b_o are the vectors)."""
    vectors = {1, len(layer.blobs) - 1}
    blobs = [_squeeze_leading(b, 1 if i in vectors else 2) for i, b in enumerate(layer.blobs)]
    return caffe_rnn_to_keras(blobs, name=f"RNN {layer.name}")


def _rnn_to_caffe(layer, arrays):
    """zoo.convert.caffe_writer's exporter of CaffeRNN layers as Caffe `RNN` layers."""
    return "RNN", keras_rnn_to_caffe(arrays, static_dim=_static_dim(layer)), {
        "recurrent_param": {"num_output": layer.units}
    }


register_layer_converter("LSTM", keras.layers.LSTM, _from_caffe)
register_layer_exporter(keras.layers.LSTM, _to_caffe)
register_layer_converter("RNN", CaffeRNN, _rnn_from_caffe)
register_layer_exporter(CaffeRNN, _rnn_to_caffe)


def load_caffemodel(model, path, *, partial: bool = False) -> dict:
    """Load a released LRCN `.caffemodel` (e.g. RGB_lstm_model_iter_30000.caffemodel) into `model`.

    `zoo.get(name, weights="x.caffemodel")` does the same for a registered model (the Caffe
    importer reads `LSTM` and `RNN` layers through the converters registered above). Strict and
    all-or-nothing (`zoo.weights.assign_named`): every learned layer of the model must be in the
    file with its shape, and nothing else may be. `partial=True` loads the layers the two share
    and leaves the rest initialised, as the release initialises the LSTM model from the
    single-frame one (conv1 .. fc6); shapes must still agree. Returns assign_named's report.
    """
    named = caffe_to_keras(read_caffemodel(path), model, source=str(path))
    return weights_mod.assign_named(model, named, source=str(path), partial=partial)
