"""Writing Caffe nets: binary `.caffemodel` weights and text deploy `.prototxt` definitions.

The inverse of `zoo.convert.caffe`: tests use it to make fixtures in the original format, and
users use it to hand zoo weights to Caffe-format tools (OpenCV's dnn module, Caffe itself):

    layers = keras_to_caffe(model)                      # Caffe layout, named like the model
    write_caffemodel("net.caffemodel", layers)
    write_prototxt("deploy.prototxt", [input_layer, *layers_with_params], name="net")

`write_caffemodel` writes the current `layer` (LayerParameter) format by default, or the old
V1 `layers` format with `v1=True`; blobs carry a BlobShape, or the legacy 4-D
num/channels/height/width with `legacy_shapes=True`. `dialect="c3d"` writes facebook/C3D v1.0's
format (V1 layers with its Convolution3D / Pooling3D enum values, 5-D num/channels/length/
height/width blobs with data in field 6; `zoo.convert.caffe_proto`), as the released C3D
Sports-1M model is stored.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import keras
import numpy as np

from zoo import weights as weights_mod
from zoo.convert.caffe import flattened_map, is_channel_scale
from zoo.convert.caffe_proto import (
    BLOB,
    BLOB_SHAPE,
    C3D_BLOB,
    C3D_LAYER_TYPES,
    I32,
    I64,
    LAYER,
    LEN,
    NET,
    PARAMS,
    V1_LAYER,
    V1_LAYER_TYPES,
    VARINT,
    CaffeLayer,
)
from zoo.errors import ConfigError, ExportError

_V1_TYPE_IDS = {name: number for number, name in V1_LAYER_TYPES.items() if name}
_C3D_TYPE_IDS = {name: number for number, name in C3D_LAYER_TYPES.items() if name}

# Keras layer class -> export(keras_layer, arrays) -> (Caffe type, blobs, params): the inverse of
# zoo.convert.caffe.register_layer_converter, for layer types a model family brings (LRCN's LSTM).
_EXPORTERS: dict = {}


def register_layer_exporter(keras_class, export) -> None:
    """Teach `keras_to_caffe` to write Keras layers of `keras_class` as a Caffe layer.

    `export(layer, arrays)` gets the layer and its weights and returns (Caffe type, blobs in
    Caffe layout, params as `CaffeLayer.params`).
    """
    _EXPORTERS[keras_class] = export


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int32/int64 are sent as 64-bit two's complement
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


# Messages are built as lists of byte chunks (the blob data as views of the arrays) and joined
# or written once, so a 500 MB file is not copied once per nesting level.


def _len_field(number: int, payload) -> list:
    chunks = payload if isinstance(payload, list) else [payload]
    return [_key(number, LEN) + _varint(sum(len(c) for c in chunks)), *chunks]


def _varint_field(number: int, value: int) -> bytes:
    return _key(number, VARINT) + _varint(int(value))


def _c3d_blob(array) -> list:
    """A C3D v1.0 BlobProto: (N, C, L, H, W) varints, left-padded with 1s, and packed float data."""
    array = np.asarray(array)
    if array.ndim > 5:
        raise ConfigError(f"a C3D blob holds at most 5 axes, not shape {array.shape}")
    dims = (1,) * (5 - array.ndim) + array.shape
    out = [_varint_field(C3D_BLOB[key], d) for key, d in zip(("num", "channels", "length", "height", "width"), dims)]
    return out + _len_field(C3D_BLOB["data"], memoryview(np.ascontiguousarray(array, "<f4").reshape(-1)).cast("B"))


def _blob(array, *, legacy_shape: bool = False, double: bool = False, packed: bool = True, c3d: bool = False) -> list:
    """A BlobProto holding `array` (float data, or double_data with `double=True`; C3D's with `c3d`)."""
    if c3d:
        return _c3d_blob(array)
    array = np.asarray(array)
    out = []
    if legacy_shape:
        if array.ndim > 4:
            raise ConfigError(f"a legacy 4-D blob cannot hold shape {array.shape}")
        for number, dim in zip((BLOB["num"], BLOB["channels"], BLOB["height"], BLOB["width"]),
                               (1,) * (4 - array.ndim) + array.shape):
            out.append(_varint_field(number, dim))
    else:
        dims = b"".join(_varint(d) for d in array.shape)
        out += _len_field(BLOB["shape"], _len_field(BLOB_SHAPE["dim"], dims) if dims else b"")
    number, dtype, wire = (BLOB["double_data"], "<f8", I64) if double else (BLOB["data"], "<f4", I32)
    values = np.ascontiguousarray(array, dtype=dtype).reshape(-1)
    if packed:
        out += _len_field(number, memoryview(values).cast("B"))
    else:
        out += [_key(number, wire) + v.tobytes() for v in values]
    return out


def _params(name: str, params: dict) -> bytes:
    """The fields of a parameter message that the reader knows; the others live in the prototxt only."""
    return b"".join(_varint_field(number, params[key]) for key, (number, _) in PARAMS[name].items() if key in params)


def _layer(layer: CaffeLayer, *, v1: bool = False, **blob_options) -> list:
    """A LayerParameter (or a V1LayerParameter with `v1=True`) with the layer's blobs."""
    fields = V1_LAYER if v1 else LAYER
    out = _len_field(fields["name"], layer.name.encode())
    if v1:
        type_ids = _C3D_TYPE_IDS if blob_options.get("c3d") else _V1_TYPE_IDS
        if layer.type not in type_ids:
            raise ConfigError(f"layer type {layer.type!r} has no V1 enum value in this dialect; write it with v1=False")
        out.append(_varint_field(fields["type"], type_ids[layer.type]))
    else:
        out += _len_field(fields["type"], layer.type.encode())
    for key in ("bottom", "top"):
        for blob_name in getattr(layer, key):
            out += _len_field(fields[key], blob_name.encode())
    for name in PARAMS:
        if name in layer.params:
            out += _len_field(fields[name], _params(name, layer.params[name]))
    for blob in layer.blobs:
        out += _len_field(fields["blobs"], _blob(blob, **blob_options))
    return out


def _net(layers, *, name: str = "", v1: bool = False, **blob_options) -> list:
    out = _len_field(NET["name"], name.encode()) if name else []
    field = NET["layers"] if v1 else NET["layer"]
    for layer in layers:
        out += _len_field(field, _layer(layer, v1=v1, **blob_options))
    return out


def encode_net(layers, *, name: str = "", v1: bool = False, **blob_options) -> bytes:
    """A serialized NetParameter: the bytes of a `.caffemodel`. Options as `write_caffemodel`'s
    (`legacy_shape`, `double`, `packed`)."""
    return b"".join(_net(layers, name=name, v1=v1, **blob_options))


def _write_atomic(path, chunks) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
    os.replace(tmp, path)
    return path


def write_caffemodel(path, layers, *, name: str = "", v1: bool = False, legacy_shapes: bool = False,
                     double: bool = False, packed: bool = True, dialect: str = "bvlc") -> Path:
    """Write `layers` (CaffeLayer, blobs in Caffe layout) as a binary `.caffemodel`.

    `v1` writes the old `layers` format; `legacy_shapes` the 4-D num/channels/height/width
    dimensions instead of a BlobShape; `double` double_data; `packed=False` one field per value.
    `dialect="c3d"` writes C3D v1.0's V1 layers and 5-D blobs (the other options do not apply).
    """
    if dialect == "c3d":
        return _write_atomic(path, _net(layers, name=name, v1=True, c3d=True))
    if dialect != "bvlc":
        raise ConfigError(f"dialect must be 'bvlc' or 'c3d', got {dialect!r}")
    return _write_atomic(path, _net(layers, name=name, v1=v1, legacy_shape=legacy_shapes, double=double, packed=packed))


class Enum(str):
    """An enum value in a prototxt parameter, written bare: `{"pool": Enum("MAX")}` -> `pool: MAX`."""


def _text_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, Enum):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ConfigError(f"{value!r} is not an enum identifier")
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    raise ConfigError(f"cannot write {value!r} ({type(value).__name__}) in a prototxt")


def _text_fields(fields: dict, indent: str) -> list[str]:
    lines = []
    for key, value in fields.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, dict):
                lines += [f"{indent}{key} {{", *_text_fields(item, indent + "  "), f"{indent}}}"]
            else:
                lines.append(f"{indent}{key}: {_text_value(item)}")
    return lines


def to_prototxt(layers, *, name: str = "") -> str:
    """A text-format NetParameter (deploy `.prototxt`) of `layers`: names, types, connections, params.

    `params` are nested dicts (`{"convolution_param": {"num_output": 96, "kernel_size": 11}}`);
    lists are repeated fields; `Enum("MAX")` values are written bare, other strings quoted.
    """
    lines = [f"name: {_text_value(name)}"] if name else []
    for layer in layers:
        fields = {"name": layer.name, "type": layer.type, "bottom": list(layer.bottom), "top": list(layer.top)}
        lines += ["layer {", *_text_fields({**fields, **layer.params}, "  "), "}"]
    return "\n".join(lines) + "\n"


def write_prototxt(path, layers, *, name: str = "") -> Path:
    """Write `to_prototxt(layers)` to `path`."""
    return _write_atomic(path, [to_prototxt(layers, name=name).encode()])


def keras_to_caffe(model, *, names: dict | None = None) -> list[CaffeLayer]:
    """The learned layers of a Keras model as Caffe layers, blobs in Caffe layout.

    Conv2D -> Convolution, Conv2DTranspose -> Deconvolution, Dense -> InnerProduct (inputs put
    back in Caffe's (C, H, W) order after a Flatten), per-channel scales -> Scale, Embedding ->
    Embed, and the classes of `register_layer_exporter` (LSTM -> LSTM, CaffeRNN -> RNN, by
    zoo.models.lrcn). `names` maps Keras layer names to Caffe ones (e.g. 'inception_3a_1x1' ->
    'inception_3a/1x1'). Other
    learned layers raise ExportError. The layers' `params` hold what a `.caffemodel` stores
    (num_output, bias_term, group); a deploy prototxt also needs kernel sizes, strides and the
    weightless layers, which the caller adds.
    """
    names = names or {}
    out, unsupported = [], []
    for key, layer in weights_mod.named_layers(model).items():
        arrays = [np.asarray(w) for w in layer.get_weights()]
        bias = arrays[1:]
        if isinstance(layer, keras.layers.Conv3D):  # C3D's Convolution3D: (O, I, kd, kh, kw)
            kind, param = "Convolution3D", "convolution_param"
            blobs = [arrays[0].transpose(4, 3, 0, 1, 2)] + bias
            params = {"num_output": layer.filters, "bias_term": layer.use_bias, "group": layer.groups}
        elif isinstance(layer, keras.layers.Conv2D):
            kind, param = "Convolution", "convolution_param"
            blobs = [arrays[0].transpose(3, 2, 0, 1)] + bias
            params = {"num_output": layer.filters, "bias_term": layer.use_bias, "group": layer.groups}
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            kind, param = "Deconvolution", "convolution_param"
            blobs = [arrays[0].transpose(3, 2, 0, 1)] + bias
            params = {"num_output": layer.filters, "bias_term": layer.use_bias}
        elif isinstance(layer, keras.layers.Dense):
            kind, param = "InnerProduct", "inner_product_param"
            weight = arrays[0].T
            flat = flattened_map(layer)
            if flat is not None:
                caffe_order = np.empty_like(weight)
                caffe_order[:, flat[1]] = weight
                weight = caffe_order
            blobs = [weight] + bias
            params = {"num_output": layer.units, "bias_term": layer.use_bias}
        elif is_channel_scale(layer):
            kind, param = "Scale", "scale_param"
            blobs, params = arrays, {"bias_term": len(arrays) == 2}
        elif isinstance(layer, keras.layers.Embedding):
            kind, param = "Embed", "embed_param"
            blobs, params = arrays, {"input_dim": layer.input_dim, "num_output": layer.output_dim, "bias_term": False}
        else:
            export = next((f for cls, f in _EXPORTERS.items() if isinstance(layer, cls)), None)
            if export is None:
                unsupported.append(f"{key} ({type(layer).__name__})")
            else:
                kind, blobs, all_params = export(layer, arrays)
                out.append(CaffeLayer(name=names.get(key, key), type=kind, blobs=blobs, params=all_params))
            continue
        out.append(CaffeLayer(name=names.get(key, key), type=kind, blobs=blobs, params={param: params}))
    if unsupported:
        raise ExportError(f"{model.name} has learned layers with no Caffe equivalent here: {', '.join(unsupported)}")
    return out
