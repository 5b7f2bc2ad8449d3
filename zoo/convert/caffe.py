"""Original Caffe weights (`.caffemodel`) into zoo models, without Caffe.

    model = zoo.get("caffenet", weights="bvlc_reference_caffenet.caffemodel")
    load_caffemodel(my_keras_model, "net.caffemodel")          # any Keras model named like the net

The file is decoded by `zoo.convert.caffe_proto` (old V1 `layers` and new `layer` files both
work) and each learned layer is converted to the layout of the Keras layer of the same name
(Caffe's '/' in names such as GoogLeNet's 'inception_3a/1x1' becomes '_'). The Keras layer's
type drives the conversion:

| Caffe layer   | Keras layer     | weights                                                          |
|---------------|-----------------|------------------------------------------------------------------|
| Convolution   | Conv2D          | (O, I/g, kh, kw) -> (kh, kw, I/g, O); groups split channels alike|
| Convolution3D | Conv3D          | C3D (O, I, kd, kh, kw) -> (kd, kh, kw, I, O); pool5 (C, T, H, W) |
|               |                 | flattened into fc6 permuted like a 2-D map (Tran et al. 2015)    |
| InnerProduct  | Dense           | (O, I) -> (I, O); after a Flatten of a feature map, Caffe's      |
|               |                 | (C, H, W) input order is permuted to Keras's (H, W, C)           |
| InnerProduct  | Conv2D          | (O, C*kh*kw) -> (O, C, kh, kw) -> (kh, kw, C, O): FCN's fc6/fc7  |
|               |                 | "convolutionalized" (Long et al. 2015, Sec. 3.1; surgery.py)     |
| Convolution   | Dense           | (O, C, kh, kw) flattened in Caffe's order, then as above         |
| Deconvolution | Conv2DTranspose | (I, O, kh, kw) -> (kh, kw, O, I)                                 |
| Scale         | per-channel     | (C,) scale [and bias] as they are (FCN-8s at-once's fixed scales)|
| Embed         | Embedding       | (V, E) as it is (Caffe's embed_layer.cpp keeps input_dim first)  |

Caffe layer types that only one model family uses are taught to the importer by that family with
`register_layer_converter(caffe_type, keras_class, convert)`: LRCN registers Caffe's `LSTM`
into Keras `LSTM` (zoo.models.lrcn.convert: gate blocks i, f, o, g reordered, the static input's
W_xc_static as extra kernel rows) and Caffe's vanilla `RNN` into `zoo.layers.caffe_rnn.CaffeRNN`,
so this module stays free of any family's code.

Loading is strict (`zoo.weights.assign_named`): a file for another architecture raises
`WeightsMismatchError` listing every missing, unexpected and mis-shaped layer, and nothing is
loaded. A conversion never reshapes an array to fit the model unless the sizes it reshapes
from are the ones the Keras layer implies, so a wrong file cannot be silently coerced.
"""

from __future__ import annotations

import keras
import numpy as np

from zoo import weights as weights_mod
from zoo.convert.caffe_proto import CaffeLayer, parse_net, read_caffemodel
from zoo.errors import WeightsFormatError, WeightsMismatchError

__all__ = [
    "CaffeLayer", "caffe_to_keras", "file_num_classes", "load_caffemodel", "parse_net", "read_caffemodel",
    "register_layer_converter",
]

# (Caffe layer type, Keras layer class) -> convert(caffe_layer, keras_layer) -> arrays in Keras layout.
_CONVERTERS: dict = {}


def register_layer_converter(caffe_type: str, keras_class, convert) -> None:
    """Teach the importer to load Caffe layers of `caffe_type` into Keras layers of `keras_class`.

    `convert(caffe_layer, keras_layer)` returns the arrays in the Keras layer's weight order, or
    raises WeightsMismatchError saying what in the blobs is wrong (it is reported with the other
    layers that do not fit). Shapes are checked afterwards against the model by assign_named.
    """
    _CONVERTERS[(caffe_type, keras_class)] = convert


def _canonical(blob: np.ndarray, rank: int) -> np.ndarray:
    """Drop the leading size-1 axes of Caffe's legacy 4-D blobs: (1, 1, O, I) -> (O, I), (1, 1, 1, O) -> (O,).

    Only axes of size 1 are dropped, so a blob of another size keeps its shape and is reported
    as mis-shaped.
    """
    extra = blob.ndim - rank
    if extra > 0 and all(d == 1 for d in blob.shape[:extra]):
        return blob.reshape(blob.shape[extra:])
    return blob


def _bias(blobs: list) -> list:
    """The blobs after the weights: the bias (legacy (1, 1, 1, O) -> (O,)) and anything unexpected."""
    return [_canonical(b, 1) for b in blobs[1:]]


def _first_call(layer):
    """The node of `layer`'s first call, if it was called in a functional graph with one input."""
    nodes = getattr(layer, "_inbound_nodes", None)
    if not nodes or len(nodes[0].parent_nodes) != 1:
        return None
    return nodes[0]


def flattened_map(dense):
    """What a Dense reads through a Flatten: ((C, H, W), Caffe's flat index at each Keras input position).

    Caffe flattens a blob as (C, H, W) (C3D's 5-D blobs as (C, T, H, W): Tran et al. 2015's pool5
    into fc6); a channels-last Flatten gives (H, W, C) ((T, H, W, C)), or whatever
    order a Permute before the Flatten makes. Elementwise layers between the Flatten and the
    Dense (Dropout, Activation) are looked through. None when the Dense input is not a
    flattened feature map (e.g. a global pooling output), where no reordering applies.
    """
    node = _first_call(dense)
    while node is not None and not isinstance(node.parent_nodes[0].operation, keras.layers.Flatten):
        parent = node.parent_nodes[0]
        op = parent.operation
        if op.weights or len(parent.input_tensors) != 1 or parent.input_tensors[0].shape != parent.outputs[0].shape:
            return None
        node = _first_call(op)
    if node is None:
        return None
    flatten = _first_call(node.parent_nodes[0].operation)
    if flatten is None:
        return None
    shape = tuple(flatten.input_tensors[0].shape[1:])
    source = flatten.parent_nodes[0]
    permute = None
    if isinstance(source.operation, keras.layers.Permute):
        permute = [d - 1 for d in source.operation.dims]
        shape = tuple(source.input_tensors[0].shape[1:])
    if len(shape) not in (3, 4) or None in shape:
        return None
    # (H, W, C) maps, or C3D's (T, H, W, C) volumes that Caffe flattens as (C, T, H, W)
    *spatial, channels = shape
    caffe_shape = (channels, *spatial)
    order = np.arange(int(np.prod(shape))).reshape(caffe_shape).transpose(*range(1, len(shape)), 0)
    if permute is not None:
        order = order.transpose(permute)
    return caffe_shape, order.reshape(-1)


def _into_dense(weight: np.ndarray, dense) -> np.ndarray:
    """Caffe (O, N) InnerProduct or (O, C, kh, kw) Convolution weights -> Keras (N, O) Dense kernel.

    A Convolution's (C, kh, kw) must be the map the Dense sees through its Flatten (or 1x1 on
    a vector); otherwise its 4-D kernel is returned, to be reported as mis-shaped.
    """
    flat = flattened_map(dense)
    if weight.ndim == 4:
        fits = weight.shape[2:] == (1, 1) if flat is None else weight.shape[1:] == flat[0]
        if not fits:
            return weight.transpose(2, 3, 1, 0)
        weight = weight.reshape(weight.shape[0], -1)
    if flat is not None and weight.ndim == 2 and weight.shape[1] == flat[1].size:
        weight = weight[:, flat[1]]
    return weight.T


def _inner_product_weight(layer: CaffeLayer) -> np.ndarray:
    weight = _canonical(layer.blobs[0], 2)
    # transpose: true stores the weights as (I, O) (caffe.proto, InnerProductParameter).
    if layer.params.get("inner_product_param", {}).get("transpose") and weight.ndim == 2:
        weight = weight.T
    return weight


def is_channel_scale(layer) -> bool:
    """A Keras layer that is Caffe's `Scale`: x * scale [+ bias] with per-channel vectors, not a normalization."""
    norms = (keras.layers.BatchNormalization, keras.layers.LayerNormalization, keras.layers.GroupNormalization)
    vectors = 1 <= len(layer.weights) <= 2 and all(len(w.shape) == 1 for w in layer.weights)
    return vectors and not isinstance(layer, norms)


def _convert(layer: CaffeLayer, target) -> list | None:
    """The blobs of `layer` in the layout of Keras layer `target`, or None if the pair is unsupported."""
    blobs = layer.blobs
    if layer.type == "Convolution" and isinstance(target, keras.layers.Conv2D):
        return [blobs[0].transpose(2, 3, 1, 0) if blobs[0].ndim == 4 else blobs[0]] + _bias(blobs)
    if layer.type in ("Convolution3D", "Convolution") and isinstance(target, keras.layers.Conv3D):
        # C3D (O, I, kd, kh, kw) -> Keras (kd, kh, kw, I, O)
        return [blobs[0].transpose(2, 3, 4, 1, 0) if blobs[0].ndim == 5 else blobs[0]] + _bias(blobs)
    if layer.type == "Deconvolution" and isinstance(target, keras.layers.Conv2DTranspose):
        return [blobs[0].transpose(2, 3, 1, 0) if blobs[0].ndim == 4 else blobs[0]] + _bias(blobs)
    if layer.type == "InnerProduct" and isinstance(target, keras.layers.Dense):
        return [_into_dense(_inner_product_weight(layer), target)] + _bias(blobs)
    if layer.type == "Convolution" and isinstance(target, keras.layers.Dense):
        return [_into_dense(blobs[0], target)] + _bias(blobs)
    if layer.type == "Scale" and is_channel_scale(target):
        return [_canonical(b, 1) for b in blobs]  # per-channel scale (and bias), e.g. FCN-8s at-once
    if layer.type == "Embed" and isinstance(target, keras.layers.Embedding):
        return [_canonical(blobs[0], 2)] + _bias(blobs)  # a bias (bias_term: true) is reported as mis-shaped
    if layer.type == "InnerProduct" and isinstance(target, keras.layers.Conv2D):
        weight = _inner_product_weight(layer)
        kh, kw, cin, cout = target.kernel.shape
        if weight.shape == (cout, cin * kh * kw):
            weight = weight.reshape(cout, cin, kh, kw).transpose(2, 3, 1, 0)
        else:
            weight = weight.T
        return [weight] + _bias(blobs)
    for (caffe_type, keras_class), convert in _CONVERTERS.items():
        if layer.type == caffe_type and isinstance(target, keras_class):
            return convert(layer, target)
    return None


def _keras_name(caffe_name: str, keras_names) -> str:
    return caffe_name if caffe_name in keras_names else caffe_name.replace("/", "_")


def caffe_to_keras(layers: list[CaffeLayer], model, *, skip=(), source: str = "caffemodel") -> dict:
    """{Keras layer name: [arrays in Keras layout]} for the learned layers of a Caffe net.

    Layers without blobs are ignored. File layers with no Keras layer of that name keep their
    Caffe blobs (assign_named reports them as unexpected). A Caffe layer whose type cannot
    load into the Keras layer of its name, or whose blobs a registered converter refuses,
    raises WeightsMismatchError, listing all of them.
    """
    targets = weights_mod.named_layers(model)
    named, seen, unsupported, malformed = {}, {}, [], []
    for layer in layers:
        if not layer.blobs:
            continue
        name = _keras_name(layer.name, targets)
        if name in seen:
            raise WeightsFormatError(
                f"{source} has two learned layers that map to {name!r}: {seen[name]!r} and {layer.name!r}"
            )
        seen[name] = layer.name
        target = targets.get(name)
        if target is None or name in skip:
            named[name] = list(layer.blobs)
            continue
        try:
            converted = _convert(layer, target)
        except WeightsMismatchError as e:
            malformed.append(f"{layer.name} ({e})")
            continue
        if converted is None:
            unsupported.append(f"{layer.name} (Caffe {layer.type or 'untyped'} into Keras {type(target).__name__})")
        else:
            named[name] = converted
    if unsupported or malformed:
        parts = []
        if unsupported:
            parts.append(f"Layers whose Caffe type cannot load into the Keras layer of the same name: "
                         f"{', '.join(unsupported)}")
        if malformed:
            parts.append(f"Layers whose blobs are malformed: {'; '.join(malformed)}")
        raise WeightsMismatchError(f"{source} does not fit {model.name}; nothing was loaded. " + ". ".join(parts))
    return named


def _num_outputs(layer: CaffeLayer) -> int:
    """The number of outputs (channels, classes) of a learned layer."""
    params = layer.params.get("convolution_param") or layer.params.get("inner_product_param") or {}
    if params.get("num_output"):
        return int(params["num_output"])
    if layer.type == "Deconvolution":  # (I, O / group, kh, kw)
        return int(_canonical(layer.blobs[0], 4).shape[1]) * int(params.get("group", 1))
    if layer.type == "InnerProduct":
        return int(_inner_product_weight(layer).shape[0])
    return int(layer.blobs[0].shape[0])


def file_num_classes(layers: list[CaffeLayer], head_layers) -> int | None:
    """The output size of the last learned layer (in file order) named in `head_layers`, or None."""
    heads = [layer for layer in layers if layer.blobs and _keras_name(layer.name, head_layers) in set(head_layers)]
    return _num_outputs(heads[-1]) if heads else None


def load_caffemodel(model, path, *, skip=()) -> None:
    """Load a `.caffemodel` into any Keras model whose learned layers are named like the Caffe net's."""
    named = caffe_to_keras(read_caffemodel(path), model, skip=skip, source=str(path))
    weights_mod.assign_named(model, named, skip=skip, source=str(path))


def _zoo_reader(path, model, card, build_kwargs):
    """The `.caffemodel` reader of `zoo.weights.load_into`."""
    layers = read_caffemodel(path)
    num_classes = file_num_classes(layers, card.head_layers)
    skip = weights_mod._head_skip(card, build_kwargs, num_classes)
    return caffe_to_keras(layers, model, skip=skip, source=str(path)), num_classes


weights_mod.register_format(".caffemodel", _zoo_reader)
