"""Reading Caffe's binary `.caffemodel` (a protobuf `NetParameter`) without Caffe or protoc.

A small protobuf wire-format decoder that knows only the fields a weights file needs, from
BVLC Caffe's `src/caffe/proto/caffe.proto`:

    NetParameter      name 1, layer 100 (LayerParameter), layers 2 (V1LayerParameter, pre-2015)
    LayerParameter    name 1, type 2 (string), bottom 3, top 4, blobs 7,
                      convolution_param 106, inner_product_param 117
    V1LayerParameter  bottom 2, top 3, name 4, type 5 (LayerType enum), blobs 6,
                      convolution_param 10, inner_product_param 17
    BlobProto         legacy num/channels/height/width 1-4, data 5 (float), double_data 8,
                      shape 7 (BlobShape: dim 1)
    ConvolutionParameter   num_output 1, bias_term 2, group 5
    InnerProductParameter  num_output 1, bias_term 2, axis 5, transpose 6

C3D's Caffe fork (facebook/C3D v1.0, src/caffe/proto/caffe.proto; Tran et al. 2015), which wrote
the released Sports-1M model `conv3d_deepnetA_sport1m_iter_1900000`, is a second dialect: its
`layers` (field 2) are V1-shaped but its LayerType enum adds CONVOLUTION3D = 30 and POOLING3D =
31 (BVLC later gave 30/31 to ArgMax/Threshold), and its BlobProto is 5-D: num 1, channels 2,
length 3, height 4, width 5, data 6 (packed float). The two dialects cannot be confused: a
BVLC blob's field 5 is packed data where C3D's is the width varint. `parse_net(dialect="auto")`
tries BVLC first and then C3D.

Every other field is skipped by its wire type. Anything malformed (a truncated field, a length
past the end of its message, a wrong wire type for a known field, a blob whose values do not
fill its shape) raises `WeightsFormatError` naming the file, the byte offset and the field.
The decoder cannot recurse deeper than the schema above and every step consumes bytes, so no
input makes it loop or recurse without bound.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from zoo.errors import WeightsFormatError

# V1LayerParameter.LayerType -> the type string Caffe's upgrade_proto.cpp gives it.
V1_LAYER_TYPES = {
    0: "",
    1: "Accuracy",
    2: "BNLL",
    3: "Concat",
    4: "Convolution",
    5: "Data",
    6: "Dropout",
    7: "EuclideanLoss",
    8: "Flatten",
    9: "HDF5Data",
    10: "HDF5Output",
    11: "Im2col",
    12: "ImageData",
    13: "InfogainLoss",
    14: "InnerProduct",
    15: "LRN",
    16: "MultinomialLogisticLoss",
    17: "Pooling",
    18: "ReLU",
    19: "Sigmoid",
    20: "Softmax",
    21: "SoftmaxWithLoss",
    22: "Split",
    23: "TanH",
    24: "WindowData",
    25: "Eltwise",
    26: "Power",
    27: "SigmoidCrossEntropyLoss",
    28: "HingeLoss",
    29: "MemoryData",
    30: "ArgMax",
    31: "Threshold",
    32: "DummyData",
    33: "Slice",
    34: "MVN",
    35: "AbsVal",
    36: "Silence",
    37: "ContrastiveLoss",
    38: "Exp",
    39: "Deconvolution",
}

# Wire types.
VARINT, I64, LEN, I32 = 0, 1, 2, 5

# Field numbers (message -> {field name: number}) shared with the writer.
NET = {"name": 1, "layer": 100, "layers": 2}
LAYER = {"name": 1, "type": 2, "bottom": 3, "top": 4, "blobs": 7, "convolution_param": 106, "inner_product_param": 117}
V1_LAYER = {"v0_layer": 1, "bottom": 2, "top": 3, "name": 4, "type": 5, "blobs": 6, "convolution_param": 10,
            "inner_product_param": 17}
BLOB = {"num": 1, "channels": 2, "height": 3, "width": 4, "data": 5, "shape": 7, "double_data": 8}
BLOB_SHAPE = {"dim": 1}
# C3D v1.0's BlobProto (num, channels, length, height, width, data) and its extra layer types.
C3D_BLOB = {"num": 1, "channels": 2, "length": 3, "height": 4, "width": 5, "data": 6}
C3D_LAYER_TYPES = {**{k: v for k, v in V1_LAYER_TYPES.items() if k < 30}, 30: "Convolution3D", 31: "Pooling3D",
                   32: "VolumeData", 33: "VideoData", 34: "Deconvolution3D", 35: "VideoSegmentationData",
                   36: "VoxelSoftmax", 37: "VoxelSoftmaxLoss", 38: "VideoWithVoxelTruthData",
                   39: "VoxelCustomLoss", 40: "DownSampling"}
DIALECTS = ("bvlc", "c3d")
# Parameter messages: {field name: (number, kind)} with kind "uint" or "bool".
PARAMS = {
    "convolution_param": {"num_output": (1, "uint"), "bias_term": (2, "bool"), "group": (5, "uint")},
    "inner_product_param": {"num_output": (1, "uint"), "bias_term": (2, "bool"), "axis": (5, "int"),
                            "transpose": (6, "bool")},
}


@dataclasses.dataclass
class CaffeLayer:
    """One layer of a Caffe net: its name, type, connections, blobs (Caffe layout) and parameters.

    `params` holds the parsed parameter messages, e.g. `{"convolution_param": {"num_output": 96,
    "group": 2}}`; the writer also accepts any other prototxt parameters here.
    """

    name: str
    type: str
    bottom: tuple = ()
    top: tuple = ()
    blobs: list = dataclasses.field(default_factory=list)
    params: dict = dataclasses.field(default_factory=dict)


class _Decoder:
    """Walks the fields of protobuf messages inside one buffer, raising WeightsFormatError."""

    def __init__(self, data: bytes, source: str, dialect: str = "bvlc"):
        self.dialect = dialect
        self.data = data
        self.view = memoryview(data)
        self.source = source

    def fail(self, what: str, offset: int, where: str):
        raise WeightsFormatError(f"{self.source} is not a readable caffemodel: {what} at byte {offset} (in {where})")

    def varint(self, pos: int, end: int, where: str) -> tuple[int, int]:
        result = shift = 0
        start = pos
        while True:
            if pos >= end:
                self.fail("truncated varint", start, where)
            byte = self.data[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result, pos
            shift += 7
            if shift >= 70:
                self.fail("varint longer than 10 bytes", start, where)

    def fields(self, start: int, end: int, message: str):
        """Yield (field number, wire type, value, offset) for each field of a message in [start, end).

        The value is an int for varints and (start, end) byte offsets for the other wire types.
        """
        pos = start
        while pos < end:
            offset = pos
            key, pos = self.varint(pos, end, message)
            number, wire = key >> 3, key & 7
            if number == 0:
                self.fail("field number 0", offset, message)
            where = f"{message} field {number}"
            if wire == VARINT:
                value, pos = self.varint(pos, end, where)
            elif wire in (I64, I32):
                size = 8 if wire == I64 else 4
                if pos + size > end:
                    self.fail(f"truncated {size * 8}-bit value", pos, where)
                value, pos = (pos, pos + size), pos + size
            elif wire == LEN:
                length, pos = self.varint(pos, end, where)
                if pos + length > end:
                    self.fail(f"length {length} runs past the end of the message ({end - pos} bytes left)", pos, where)
                value, pos = (pos, pos + length), pos + length
            else:  # 3/4: groups, never used by caffe.proto; 6/7: invalid
                self.fail(f"unsupported wire type {wire}", offset, where)
            yield number, wire, value, offset

    def expect(self, wire: int, want: tuple, offset: int, where: str):
        if wire not in want:
            names = {VARINT: "varint", I64: "64-bit", LEN: "length-delimited", I32: "32-bit"}
            self.fail(
                f"wire type {names.get(wire, wire)}, expected {' or '.join(names[w] for w in want)}", offset, where
            )

    def string(self, span, offset: int, where: str) -> str:
        try:
            return bytes(self.view[span[0] : span[1]]).decode("utf-8")
        except UnicodeDecodeError:
            self.fail("a string that is not UTF-8", offset, where)

    def packed_varints(self, span, where: str) -> list[int]:
        out, pos = [], span[0]
        while pos < span[1]:
            value, pos = self.varint(pos, span[1], where)
            out.append(value)
        return out


def _signed(value: int) -> int:
    """A protobuf int32/int64 varint (two's complement in 64 bits) as a Python int."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _read_shape(dec: _Decoder, span, where: str) -> list[int]:
    dims = []
    for number, wire, value, offset in dec.fields(span[0], span[1], f"{where} BlobShape"):
        if number == BLOB_SHAPE["dim"]:
            dec.expect(wire, (VARINT, LEN), offset, f"{where} BlobShape.dim")
            dims += [_signed(v) for v in (dec.packed_varints(value, where) if wire == LEN else [value])]
    return dims


def _read_floats(dec: _Decoder, wire, value, offset, dtype: str, where: str) -> np.ndarray:
    """A packed (LEN) or single (I32/I64) run of little-endian floats."""
    size = np.dtype(dtype).itemsize
    dec.expect(wire, (LEN, I32 if size == 4 else I64), offset, where)
    start, end = value
    if (end - start) % size:
        dec.fail(f"packed {dtype} data of {end - start} bytes, not a multiple of {size}", start, where)
    return np.frombuffer(dec.data, dtype=dtype, count=(end - start) // size, offset=start)


def _read_c3d_blob(dec: _Decoder, span, where: str) -> np.ndarray:
    """A C3D v1.0 BlobProto: five varint dimensions (N, C, L, H, W) and packed float data."""
    dims, pieces = {}, []
    for number, wire, value, offset in dec.fields(span[0], span[1], f"{where} C3D BlobProto"):
        if number in (1, 2, 3, 4, 5):
            dec.expect(wire, (VARINT,), offset, f"{where} C3D BlobProto dimension {number}")
            dims[number] = _signed(value)
        elif number == C3D_BLOB["data"]:
            pieces.append(_read_floats(dec, wire, value, offset, "<f4", f"{where} C3D BlobProto.data"))
    shape = [dims.get(i, 0) for i in (1, 2, 3, 4, 5)]
    return _blob_array(dec, span, where, shape, pieces)


def _blob_array(dec: _Decoder, span, where: str, shape, values) -> np.ndarray:
    """The blob's values as float32 of `shape`, after Caffe's own limits and a count check."""
    # Caffe's own limits (blob.cpp): at most 32 axes, at most INT_MAX values.
    if len(shape) > 32 or any(d < 0 for d in shape) or int(np.prod([d for d in shape if d], dtype=object)) > 2**31 - 1:
        dec.fail(f"impossible blob shape {tuple(shape)}", span[0], f"{where} BlobProto")
    count = sum(len(v) for v in values)
    want = int(np.prod(shape, dtype=object)) if shape else 1
    if count != want:
        dec.fail(f"blob of shape {tuple(shape)} ({want} values) holds {count} values", span[0], f"{where} BlobProto")
    flat = np.concatenate(values) if len(values) > 1 else values[0] if values else np.zeros(0, "<f4")
    with np.errstate(over="ignore"):  # double data beyond float32's range becomes inf, as Caffe's cast does
        return flat.astype(np.float32).reshape(shape)


def _read_blob(dec: _Decoder, span, where: str) -> np.ndarray:
    if dec.dialect == "c3d":
        return _read_c3d_blob(dec, span, where)
    legacy = {}
    shape = None
    pieces = {"data": [], "double_data": []}
    for number, wire, value, offset in dec.fields(span[0], span[1], f"{where} BlobProto"):
        if number in (1, 2, 3, 4):
            dec.expect(wire, (VARINT,), offset, f"{where} BlobProto legacy dimension {number}")
            legacy[number] = _signed(value)
        elif number == BLOB["shape"]:
            dec.expect(wire, (LEN,), offset, f"{where} BlobProto.shape")
            shape = _read_shape(dec, value, where)
        elif number == BLOB["data"]:
            pieces["data"].append(_read_floats(dec, wire, value, offset, "<f4", f"{where} BlobProto.data"))
        elif number == BLOB["double_data"]:
            doubles = _read_floats(dec, wire, value, offset, "<f8", f"{where} BlobProto.double_data")
            pieces["double_data"].append(doubles)
    # Caffe's Blob::FromProto: the deprecated 4-D dimensions win when any is set; double data
    # wins over float data when present.
    if legacy:
        shape = [legacy.get(i, 0) for i in (1, 2, 3, 4)]
    return _blob_array(dec, span, where, shape or [], pieces["double_data"] or pieces["data"])


def _read_params(dec: _Decoder, message: str, span, where: str) -> dict:
    table = {number: (name, kind) for name, (number, kind) in PARAMS[message].items()}
    out = {}
    for number, wire, value, offset in dec.fields(span[0], span[1], f"{where} {message}"):
        if number in table:
            name, kind = table[number]
            dec.expect(wire, (VARINT,), offset, f"{where} {message}.{name}")
            out[name] = bool(value) if kind == "bool" else _signed(value) if kind == "int" else value
    return out


def _read_layer(dec: _Decoder, span, offset: int, v1: bool, index: int) -> CaffeLayer:
    fields = V1_LAYER if v1 else LAYER
    message = f"{'V1LayerParameter' if v1 else 'LayerParameter'} #{index} at byte {offset}"
    by_number = {number: name for name, number in fields.items()}
    layer = CaffeLayer(name="", type="", bottom=[], top=[])
    blob_spans = []
    for number, wire, value, field_offset in dec.fields(span[0], span[1], message):
        name = by_number.get(number)
        if name is None:
            continue
        where = f"{message}.{name}"
        if name == "type" and v1:
            dec.expect(wire, (VARINT,), field_offset, where)
            types = C3D_LAYER_TYPES if dec.dialect == "c3d" else V1_LAYER_TYPES
            if value not in types:
                dec.fail(f"unknown V1 layer type {value}", field_offset, where)
            layer.type = types[value]
            continue
        dec.expect(wire, (LEN,), field_offset, where)
        if name == "v0_layer":
            dec.fail("a V0 (2014 and earlier) layer; upgrade the file with Caffe's upgrade_net_proto_binary",
                     field_offset, where)
        elif name in ("name", "type"):
            setattr(layer, name, dec.string(value, field_offset, where))
        elif name in ("bottom", "top"):
            getattr(layer, name).append(dec.string(value, field_offset, where))
        elif name == "blobs":
            blob_spans.append(value)
        else:
            layer.params[name] = _read_params(dec, name, value, message)
    label = f"layer {layer.name!r}" if layer.name else message
    layer.blobs = [_read_blob(dec, s, f"{label} blob {i}") for i, s in enumerate(blob_spans)]
    layer.bottom, layer.top = tuple(layer.bottom), tuple(layer.top)
    return layer


def parse_net(data: bytes, source: str = "<bytes>", dialect: str = "auto") -> tuple[str, list[CaffeLayer]]:
    """(net name, layers in file order) of a serialized NetParameter.

    `dialect`: "bvlc" (BVLC Caffe, V1 or current layers), "c3d" (facebook/C3D v1.0: 5-D blobs,
    Convolution3D / Pooling3D layers) or "auto" (BVLC, else C3D; the BVLC error if neither reads).
    """
    if dialect == "auto":
        try:
            return parse_net(data, source, "bvlc")
        except WeightsFormatError as bvlc_error:
            try:
                return parse_net(data, source, "c3d")
            except WeightsFormatError:
                raise bvlc_error from None
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be 'auto' or one of {DIALECTS}, got {dialect!r}")
    dec = _Decoder(data, source, dialect)
    name = ""
    layers = []
    for number, wire, value, offset in dec.fields(0, len(data), "NetParameter"):
        if number == NET["name"]:
            dec.expect(wire, (LEN,), offset, "NetParameter.name")
            name = dec.string(value, offset, "NetParameter.name")
        elif number in (NET["layer"], NET["layers"]):
            v1 = number == NET["layers"]
            dec.expect(wire, (LEN,), offset, f"NetParameter.{'layers' if v1 else 'layer'}")
            layers.append(_read_layer(dec, value, offset, v1, len(layers)))
    if not layers:
        raise WeightsFormatError(f"{source} is not a caffemodel: it holds no layers ({len(data)} bytes)")
    if any(not layer.name for layer in layers):
        index = next(i for i, layer in enumerate(layers) if not layer.name)
        raise WeightsFormatError(f"{source} is not a readable caffemodel: layer #{index} has no name")
    return name, layers


def read_caffemodel(path, dialect: str = "auto") -> list[CaffeLayer]:
    """The layers of a `.caffemodel`, in file order, with their blobs as float32 arrays in Caffe layout
    (`dialect` as `parse_net`'s)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise WeightsFormatError(f"cannot read caffemodel {path}: {e.strerror or e}") from e
    return parse_net(data, str(path), dialect)[1]


def read_blobproto(path, dialect: str = "bvlc") -> np.ndarray:
    """One serialized BlobProto (a `.binaryproto` mean file) as float32 in Caffe layout.

    C3D's mean clip (`sport1m_train16_128_mean.binaryproto`) is a C3D-dialect blob (1, 3, 16,
    128, 171): `dialect="c3d"`.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {DIALECTS}, got {dialect!r}")
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise WeightsFormatError(f"cannot read blob file {path}: {e.strerror or e}") from e
    dec = _Decoder(data, str(path), dialect)
    return _read_blob(dec, (0, len(data)), "binaryproto")
