"""Batch normalization folded into the preceding linear layer, for supervised use and export
(Donahue thesis §5.3.3: "for supervised evaluation, BN is removed and its scale and bias are
merged into the preceding convolution's weights and bias").

At inference BN computes gamma * (y - mean) / sqrt(var + eps) + beta of y = x W + b, which is
x W' + b' with, per output channel,

    s = gamma / sqrt(var + eps),   W' = W * s,   b' = (b - mean) * s + beta

(gamma = 1 and beta = 0 for BN without parameters, BiGAN's MLPs). `fold_batchnorm(model)` returns
a functional model without the BN layers whose Dense / Conv2D layers carry the folded weights and
a bias; it equals `model(x, training=False)`.
"""

from __future__ import annotations

import keras
import numpy as np

from zoo.errors import ExportError

FOLDABLE = (keras.layers.Dense, keras.layers.Conv2D)


@keras.saving.register_keras_serializable(package="zoo")
class FoldedBatchNorm(keras.layers.Layer):
    """Where a BN layer was: the identity (its statistics now live in the preceding layer)."""

    def call(self, inputs, training=None, mask=None):
        return inputs


def _pairs(model):
    """{BN layer name: name of the Dense / Conv2D layer whose output is its only input}, for BN
    layers whose producer feeds nothing else."""
    consumers = {}
    for layer in model.layers:
        for node in layer._inbound_nodes:
            for t in node.input_tensors:
                producer = t._keras_history.operation
                consumers.setdefault(producer.name, set()).add(layer.name)
    pairs = {}
    for layer in model.layers:
        if not isinstance(layer, keras.layers.BatchNormalization):
            continue
        producers = {t._keras_history.operation for node in layer._inbound_nodes for t in node.input_tensors}
        if len(producers) != 1:
            continue
        producer = producers.pop()
        if isinstance(producer, FOLDABLE) and not isinstance(producer, keras.layers.Conv2DTranspose) \
                and consumers.get(producer.name) == {layer.name} and producer.get_config().get("activation") == "linear":
            pairs[layer.name] = producer.name
    return pairs


def folded_weights(layer, bn):
    """(W', b') of `layer` followed by the BN layer `bn` (inference statistics)."""
    weights = layer.get_weights()
    kernel = weights[0]
    bias = weights[1] if layer.use_bias else np.zeros(kernel.shape[-1], kernel.dtype)
    mean, var = np.asarray(bn.moving_mean), np.asarray(bn.moving_variance)
    gamma = np.asarray(bn.gamma) if bn.scale else np.ones_like(mean)
    beta = np.asarray(bn.beta) if bn.center else np.zeros_like(mean)
    if bn.axis not in (-1, [-1], len(bn.input.shape) - 1, [len(bn.input.shape) - 1]):
        raise ExportError(f"BN layer {bn.name!r} normalises axis {bn.axis}; only the channel (last) axis folds")
    scale = gamma / np.sqrt(var + bn.epsilon)
    return (kernel * scale).astype(kernel.dtype), ((bias - mean) * scale + beta).astype(kernel.dtype)


def fold_batchnorm(model):
    """A copy of the functional `model` with each BN that follows a linear Dense / Conv2D merged into
    it; BN layers that cannot be folded (after an activation, or normalising another axis) stay."""
    pairs = _pairs(model)
    if not pairs:
        return model
    folded_into = {producer: bn for bn, producer in pairs.items()}

    def clone(layer):
        if layer.name in pairs:
            return FoldedBatchNorm(name=layer.name)
        config = layer.get_config()
        if layer.name in folded_into:
            config["use_bias"] = True
        return layer.__class__.from_config(config)

    out = keras.models.clone_model(model, clone_function=clone)
    for layer in model.layers:
        if layer.name in folded_into:
            out.get_layer(layer.name).set_weights(list(folded_weights(layer, model.get_layer(folded_into[layer.name]))))
        elif layer.name not in pairs and layer.weights:
            out.get_layer(layer.name).set_weights(layer.get_weights())
    return out
