"""The multi-layer perceptron of the slides (Laptev, §A.2): a nonlinear classifier trained by
back-propagation, units σ(w·x + b)."""

from __future__ import annotations

import keras

from zoo.errors import ConfigError


def mlp(
    num_classes=10, input_shape=(28, 28, 1), hidden_sizes=(300, 100), activation="sigmoid", classifier_activation=None
):
    """A fully connected classifier: flatten → hidden layers → linear output (logits).

    The slides' units are sigmoids, σ(t) = 1/(1 + e^−t); any Keras activation name works.

    Args:
        num_classes: size of the output layer.
        input_shape: the input, flattened first (an MNIST-sized image by default).
        hidden_sizes: widths of the hidden layers, named hidden1, hidden2, ...; () is a linear classifier.
        activation: the hidden units' nonlinearity.
        classifier_activation: None for logits, or e.g. "softmax".
    """
    if any(int(h) != h or h < 1 for h in hidden_sizes):
        raise ConfigError(f"hidden_sizes must be positive integers, got {hidden_sizes!r}")
    x = inputs = keras.Input(input_shape, name="input")
    x = keras.layers.Flatten(name="flatten")(x)
    for i, width in enumerate(hidden_sizes, start=1):
        x = keras.layers.Dense(int(width), activation=activation, name=f"hidden{i}")(x)
    x = keras.layers.Dense(num_classes, name="output")(x)
    if classifier_activation is not None:
        x = keras.layers.Activation(classifier_activation, name="prob")(x)
    return keras.Model(inputs, x, name="mlp")
