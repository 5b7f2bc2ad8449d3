"""Shared pieces: feature models by layer name, input gradients on any backend, probabilities."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from zoo.errors import ConfigError


def layer_names(model) -> list[str]:
    """Every layer name of `model`, nested models walked into, in order."""
    names = []
    for layer in model.layers:
        names.append(layer.name)
        if isinstance(layer, keras.Model):
            names.extend(layer_names(layer))
    return names


def get_layer(model, name):
    """The layer called `name`, searched in nested models too; ConfigError listing the names otherwise."""
    for layer in model.layers:
        if layer.name == name:
            return layer
        if isinstance(layer, keras.Model):
            try:
                return get_layer(layer, name)
            except ConfigError:
                pass
    raise ConfigError(f"{model.name} has no layer {name!r}; its layers are: {', '.join(layer_names(model))}")


def feature_model(model, layers, *, with_output=False):
    """A keras.Model from `model`'s input to the named layer's output, or to a list of the named
    layers' outputs (a list or tuple of names), the model's output appended with `with_output`."""
    if len(model.inputs) != 1:
        raise ConfigError(f"{model.name} has {len(model.inputs)} inputs; the visualizations take single-image models")
    names = [layers] if isinstance(layers, str) else list(layers)
    outputs = [get_layer(model, n).output for n in names]
    if with_output:
        outputs.append(model.outputs[0])
    single = isinstance(layers, str) and not with_output
    return keras.Model(model.inputs[0], outputs[0] if single else outputs, name=f"{model.name}_features")


def input_shape(model, image_shape=None) -> tuple:
    """(H, W, C) the model takes, `image_shape` filling the sizes the model leaves free."""
    shape = tuple(model.inputs[0].shape[1:])
    if None in shape:
        if image_shape is None:
            raise ConfigError(f"{model.name} takes any input size {shape}: pass an image or an image_shape")
        shape = tuple(image_shape)
    return shape


def value_and_grad(fn, x):
    """(fn(x), d fn / d x) for a scalar-valued `fn` of one tensor, on the current Keras backend."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = fn(x)
        return value, tape.gradient(value, x)
    if backend == "jax":
        import jax

        return jax.value_and_grad(fn)(ops.convert_to_tensor(x))
    if backend == "torch":
        import torch

        x = ops.convert_to_tensor(x).detach().requires_grad_(True)
        value = fn(x)
        (grad,) = torch.autograd.grad(value, x)
        return value.detach(), grad
    raise ConfigError(f"input gradients are not implemented for the {backend} backend (use tensorflow or jax)")


def to_numpy(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


def outputs_are_probabilities(model) -> bool:
    """Whether the model ends in a softmax (else its outputs are logits)."""
    last = model.layers[-1]
    act = getattr(last, "activation", None)
    return isinstance(last, keras.layers.Softmax) or getattr(act, "__name__", "") == "softmax"


def probabilities(model, outputs) -> np.ndarray:
    """Class probabilities (float64) from the model's outputs, logits or already softmax."""
    from zoo.ops.numerics import softmax

    out = np.asarray(outputs, dtype=np.float64)
    out = out.reshape(out.shape[0], -1) if out.ndim != 2 else out
    return out if outputs_are_probabilities(model) else softmax(out)


def batched(fn, xs, batch_size):
    """fn over `xs` in batches, outputs concatenated (each output of a list separately)."""
    parts = [fn(xs[i:i + batch_size]) for i in range(0, len(xs), batch_size)]
    if isinstance(parts[0], (list, tuple)):
        return [np.concatenate([to_numpy(p[j]) for p in parts]) for j in range(len(parts[0]))]
    return np.concatenate([to_numpy(p) for p in parts])


def check_images(images, what="images") -> np.ndarray:
    """A float32 (N, H, W, C) batch, or a clear error."""
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise ConfigError(f"{what} must be (N, H, W, C) or (H, W, C) arrays of network inputs, got shape {arr.shape}")
    return arr
