"""Projections of a unit back to the input: gradient saliency (Simonyan et al. 2014), guided
backpropagation (Springenberg et al. 2015) and the deconvnet (Zeiler & Fergus 2014; Laptev
slides §A.7.3).

All three are the input gradient of a chosen unit with a different backward rule at each ReLU:

    gradient   g · [x > 0]                 (saliency: max over channels of |g|)
    deconvnet  relu(g)                     (the forward mask is ignored: "rectification")
    guided     g · [x > 0] · [g > 0]

The deconvnet's other two parts are what the gradient already does: max pooling sends the
signal to the position that won the forward pass (the "switches"), and a convolution's input
gradient is the convolution with the transposed (flipped) filters. Normalisation layers are
passed through by their gradient (Zeiler & Fergus do not invert LRN).
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np
from keras import ops

from zoo.errors import ConfigError
from zoo.visualize.core import check_images, feature_model, get_layer, to_numpy, value_and_grad

RULES = ("gradient", "deconvnet", "guided")


def _relu_with_rule(rule):
    @ops.custom_gradient
    def relu(x):
        def grad(*args, upstream=None):
            g = args[0] if upstream is None else upstream
            if rule == "deconvnet":
                return ops.relu(g)
            return g * ops.cast(x > 0, g.dtype) * ops.cast(g > 0, g.dtype)

        return ops.relu(x), grad

    return relu


def _is_relu(fn):
    return getattr(fn, "__name__", "") == "relu"


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


@contextlib.contextmanager
def relu_rule(model, rule):
    """Within the block, every ReLU of `model` (fused activations, Activation and plain ReLU layers)
    uses the backward `rule`; the model is restored after."""
    if rule not in RULES:
        raise ConfigError(f"unknown backward rule {rule!r}; choose one of {RULES}")
    if rule == "gradient":
        yield
        return
    relu, saved = _relu_with_rule(rule), []
    for layer in _all_layers(model):
        if _is_relu(getattr(layer, "activation", None)):
            saved.append((layer, "activation", layer.activation))
            layer.activation = relu
        elif isinstance(layer, keras.layers.ReLU):
            if layer.negative_slope or layer.max_value is not None or layer.threshold:
                raise ConfigError(f"{layer.name} is a leaky or capped ReLU; the {rule} rule is for plain ReLUs")
            saved.append((layer, "call", None))
            layer.call = relu
    try:
        yield
    finally:
        for layer, attr, old in saved:
            if attr == "call":
                del layer.call
            else:
                layer.activation = old


def _unit_objective(fmodel, unit, weights):
    def objective(x):
        out = fmodel(x, training=False)
        if unit is not None:
            return ops.sum(ops.reshape(out, (ops.shape(out)[0], -1))[:, unit])
        return ops.sum(out * weights)

    return objective


def project(model, image, layer=None, *, unit=None, signal=None, rule="gradient"):
    """The input-space projection (H, W, C) of one unit of `layer` (default the output).

    `unit` is a flat index into the layer's output per example (a class index for the output),
    or `signal`, an array of the layer's output shape, weights the layer's units (Zeiler & Fergus
    feed one feature map, the others zeroed: see `deconvnet`). `rule` is the ReLU backward rule.
    """
    image = check_images(image, "image")[:1]
    fmodel = feature_model(model, layer) if layer else model
    if (unit is None) == (signal is None):
        raise ConfigError("give exactly one of unit= (an output index) or signal= (weights over the layer's output)")
    weights = None if signal is None else ops.convert_to_tensor(np.asarray(signal, dtype="float32")[None])
    with relu_rule(model, rule):
        _, grad = value_and_grad(_unit_objective(fmodel, unit, weights), ops.convert_to_tensor(image))
    return to_numpy(grad)[0]


def saliency(model, image, class_index) -> np.ndarray:
    """Simonyan et al.'s image-specific class saliency: max over channels of |d score / d image|."""
    return np.abs(project(model, image, unit=class_index, rule="gradient")).max(axis=-1)


def guided_backprop(model, image, class_index=None, *, layer=None, unit=None) -> np.ndarray:
    """Guided backpropagation of a class score (or of `unit` of `layer`) to the input."""
    return project(model, image, layer, unit=class_index if layer is None else unit, rule="guided")


def deconvnet(model, image, layer, channel=None, *, strongest_only=True):
    """Zeiler & Fergus' projection of one feature map of `layer` to the input.

    The map is `channel` (default the most active one on this image). With `strongest_only` only
    its strongest activation is kept, the rest of the layer zeroed (the paper's figures); otherwise
    the whole map is projected. Returns (projection (H, W, C), channel, (y, x) of the maximum).
    """
    image = check_images(image, "image")[:1]
    acts = to_numpy(feature_model(model, layer)(image, training=False))[0]
    if acts.ndim != 3:
        raise ConfigError(f"{layer} outputs shape {acts.shape}; the deconvnet projects (H, W, C) feature maps")
    if channel is None:
        channel = int(acts.reshape(-1, acts.shape[-1]).sum(axis=0).argmax())
    y, x = np.unravel_index(int(acts[..., channel].argmax()), acts.shape[:2])
    signal = np.zeros_like(acts)
    if strongest_only:
        signal[y, x, channel] = acts[y, x, channel]
    else:
        signal[..., channel] = acts[..., channel]
    get_layer(model, layer)  # a clear error for a wrong name
    return project(model, image, layer, signal=signal, rule="deconvnet"), channel, (int(y), int(x))
