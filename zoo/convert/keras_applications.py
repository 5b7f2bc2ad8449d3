"""keras.applications weights files (`.h5`) into zoo models, by layer name.

    model = zoo.get("vgg16", weights="vgg16_weights_tf_dim_ordering_tf_kernels.h5")
    model = zoo.get("resnet50.imagenet")            # downloads keras.applications' file, md5-checked
    load_keras_applications(model, "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5")

Two HDF5 layouts are read (the file's own structure decides, not its name):

- Keras 2 weights files, the ones keras.applications downloads
  (`vgg16_weights_tf_dim_ordering_tf_kernels[_notop].h5`, `resnet50_weights_...h5`): the root (or
  the `model_weights` group of a whole-model `.h5` written by `model.save("x.h5")`) lists its
  layers in the `layer_names` attribute; each layer's group lists its arrays in `weight_names`,
  in the layer's variable order, and holds them at `group[weight_name]`.
- Keras 3 `save_weights` files (`keras.applications.VGG16(...).save_weights("x.weights.h5")`):
  `layers/<key>/vars/0, 1, ...`, the layer's name in the `name` attribute of its `vars` group.
  Keras 3 writes these only under a `.weights.h5` name, which zoo reads as a zoo file
  (zoo.weights); rename such a file to `.h5` or call `load_keras_applications`.

Names: keras.applications' VGG16/VGG19 use block1_conv1 ... block5_conv4, fc1, fc2, predictions;
zoo's VGG keeps the Caffe release's conv1_1 ... conv5_4, fc6, fc7, fc8, so those are renamed.
Both flatten pool5 channels-last, so fc6's rows need no reordering. zoo's ResNets already use
keras.applications' names.

Conv biases: keras.applications' ResNet50 gives every convolution a bias, although a
BatchNormalization follows each one; zoo's ResNets have none unless built with
`conv_bias=True`. In a model without them each bias b is folded into the following
BatchNormalization's moving mean (mean - b), which is exact: at inference BN computes
(conv(x) + b - mean) / sqrt(var + eps), and in training BN subtracts the batch mean, which
cancels b, while the moving mean it accumulates shifts by b. A bias with no BatchNormalization
right after it to absorb it is an error.

Loading is strict (zoo.weights.assign_named): missing, unexpected and mis-shaped layers are
listed and nothing is loaded. A `_notop` file has no classifier: build the model with
include_top=False.
"""

from __future__ import annotations

import re

import keras
import numpy as np

from zoo import weights as weights_mod
from zoo.errors import WeightsFormatError, WeightsMismatchError

__all__ = ["load_keras_applications", "read_h5", "to_zoo_names"]

# keras.applications VGG16/VGG19 -> the Caffe release's names (zoo.models.vgg).
_VGG_CONV = re.compile(r"^block(\d)_conv(\d)$")
_VGG_FC = {"fc1": "fc6", "fc2": "fc7", "predictions": "fc8"}


def _text(value) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _read_keras2(group) -> dict:
    named = {}
    for layer in group.attrs["layer_names"]:
        layer = _text(layer)
        g = group[layer]
        names = [_text(n) for n in g.attrs.get("weight_names", [])]
        if names:
            named[layer] = [np.asarray(g[n]) for n in names]
    return named


def _read_keras3(group, prefix="") -> dict:
    named = {}
    for key in group:
        g = group[key]
        if "vars" in g and len(g["vars"]):
            name = _text(g["vars"].attrs.get("name", key))
            named[prefix + name] = [np.asarray(g["vars"][str(i)]) for i in range(len(g["vars"]))]
        if "layers" in g:  # a nested model: its layers are 'outer/inner', as zoo.weights.named_layers
            outer = _text(g["vars"].attrs.get("name", key)) if "vars" in g else key
            named.update(_read_keras3(g["layers"], f"{prefix}{outer}/"))
    return named


def read_h5(path) -> dict:
    """{layer name in the file: [arrays in the layer's variable order]} of a Keras 2 or Keras 3 `.h5` file."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            root = f["model_weights"] if "model_weights" in f else f
            if "layer_names" in root.attrs:
                return _read_keras2(root)
            if "layers" in root:
                return _read_keras3(root["layers"])
    except (OSError, KeyError, ValueError) as e:
        raise WeightsFormatError(f"cannot read {path} as a Keras HDF5 weights file: {type(e).__name__}: {e}") from e
    raise WeightsFormatError(
        f"{path} is an HDF5 file but not Keras weights: it has neither a 'layer_names' attribute (Keras 2 weights, "
        f"as keras.applications ships them) nor a 'layers' group (Keras 3 save_weights)"
    )


def to_zoo_names(named: dict, model) -> dict:
    """The file's keras.applications VGG names as the zoo's Caffe names, when the model has those."""
    layers = weights_mod.named_layers(model)
    if "conv1_1" not in layers or "block1_conv1" in layers:
        return dict(named)
    out = {}
    for name, arrays in named.items():
        m = _VGG_CONV.match(name)
        out[f"conv{m.group(1)}_{m.group(2)}" if m else _VGG_FC.get(name, name)] = arrays
    return out


def _only_consumer(layer):
    """The one layer that reads `layer`'s output in the model graph, or None."""
    nodes = getattr(layer, "_outbound_nodes", [])
    consumers = {id(n.operation): n.operation for n in nodes}
    return next(iter(consumers.values())) if len(consumers) == 1 else None


def fold_conv_biases(named: dict, model, source: str = "weights") -> dict:
    """Fold the file's conv biases into the next BatchNormalization where the model's conv has no bias."""
    layers = weights_mod.named_layers(model)
    out = dict(named)
    for name, arrays in named.items():
        conv = layers.get(name)
        if not isinstance(conv, keras.layers.Conv2D) or conv.use_bias or len(arrays) != 2:
            continue
        bn = _only_consumer(conv)
        bn_name = next((k for k, v in layers.items() if v is bn), None)
        if not isinstance(bn, keras.layers.BatchNormalization) or bn_name not in out or bn.axis not in (-1, 3):
            raise WeightsMismatchError(
                f"{source}: {name} has a bias in the file but not in {model.name}, and no BatchNormalization reads "
                f"it alone to absorb the bias; build the model with conv_bias=True; nothing was loaded"
            )
        kernel, bias = arrays
        bn_arrays = list(out[bn_name])
        mean_index = len(bn_arrays) - 2  # [gamma, beta, moving_mean, moving_variance], gamma/beta optional
        if bn_arrays[mean_index].shape != bias.shape:
            raise WeightsMismatchError(
                f"{source}: {name}'s bias {bias.shape} does not match {bn_name}'s moving mean "
                f"{bn_arrays[mean_index].shape}; nothing was loaded"
            )
        moving_mean = bn_arrays[mean_index]
        bn_arrays[mean_index] = (moving_mean.astype(np.float64) - bias).astype(moving_mean.dtype)
        out[name], out[bn_name] = [kernel], bn_arrays
    return out


def _builder_takes(card, option) -> bool:
    import inspect

    return card is not None and option in inspect.signature(card.builder).parameters


def _check_top(named: dict, model, card, source):
    """A `_notop` file loaded into a model with a classifier: say what to do instead of listing layers."""
    layers = weights_mod.named_layers(model)
    heads = [h for h in (card.head_layers if card else ()) if h in layers]
    if heads and not any(h in named for h in heads):
        fix = ("build it with include_top=False" if _builder_takes(card, "include_top")
               else f"{card.name} has no include_top option; load the file into its convolutional layers yourself")
        raise WeightsMismatchError(
            f"{source} has no classifier ({', '.join(heads)}): it is a keras.applications '_notop' file. "
            f"{model.name} has one; {fix}. Nothing was loaded"
        )


def convert(path, model, card=None) -> dict:
    """The arrays of a keras.applications `.h5` file, named and laid out for `model`."""
    named = to_zoo_names(read_h5(path), model)
    _check_top(named, model, card, str(path))
    return fold_conv_biases(named, model, str(path))


def _file_num_classes(named: dict, head_layers) -> int | None:
    heads = [h for h in head_layers if h in named]
    return int(named[heads[0]][-1].shape[-1]) if heads else None


def load_keras_applications(model, path, *, skip=()) -> dict:
    """Load a keras.applications `.h5` (Keras 2 or 3 layout) into any model named like keras.applications or zoo."""
    return weights_mod.assign_named(model, convert(path, model), skip=skip, source=str(path))


def _zoo_reader(path, model, card, build_kwargs):
    """The `.h5` reader of `zoo.weights.load_into`."""
    named = convert(path, model, card)
    return named, _file_num_classes(named, card.head_layers)


weights_mod.register_format(".h5", _zoo_reader)
