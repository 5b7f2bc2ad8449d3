"""Saliency, guided backpropagation and the deconvnet against NumPy transcriptions of their
backward rules, and input gradients against finite differences."""

import keras
import numpy as np
import pytest

from zoo.errors import ConfigError
from zoo.visualize import backprop
from zoo.visualize.core import value_and_grad, to_numpy


def mlp(seed=0, activation="relu", dtype="float32"):
    """Input 2x2x2 -> flatten -> 6 relu -> 5 relu -> 3 logits, with known weights."""
    rng = np.random.default_rng(seed)
    x = inputs = keras.Input((2, 2, 2), dtype=dtype)
    x = keras.layers.Flatten(dtype=dtype)(x)
    x = keras.layers.Dense(6, activation=activation, name="d1", dtype=dtype)(x)
    x = keras.layers.Dense(5, name="d2", dtype=dtype)(x)
    x = keras.layers.ReLU(name="r2", dtype=dtype)(x) if activation == "relu" else keras.layers.Activation(
        activation, dtype=dtype)(x)
    x = keras.layers.Dense(3, name="d3", dtype=dtype)(x)
    model = keras.Model(inputs, x)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([rng.standard_normal(w.shape).astype(dtype) for w in layer.weights])
    return model


def numpy_backward(model, image, cls, rule):
    """The three backward rules transcribed: the input gradient of logit `cls`."""
    (w1, b1), (w2, b2), (w3, _) = (model.get_layer(n).get_weights() for n in ("d1", "d2", "d3"))
    v = image.reshape(-1).astype(np.float64)
    z1 = v @ w1 + b1
    z2 = np.maximum(z1, 0) @ w2 + b2
    g = w3[:, cls].astype(np.float64)
    for z, w in ((z2, w2), (z1, w1)):
        if rule == "gradient":
            g = g * (z > 0)
        elif rule == "deconvnet":
            g = np.maximum(g, 0)
        else:
            g = g * (z > 0) * (g > 0)
        g = w @ g
    return g.reshape(image.shape)


@pytest.mark.parametrize("rule", backprop.RULES)
def test_backward_rules_equal_the_numpy_transcription(rule):
    model = mlp()
    image = np.random.default_rng(1).standard_normal((2, 2, 2)).astype("float32")
    for cls in range(3):
        got = backprop.project(model, image, unit=cls, rule=rule)
        np.testing.assert_allclose(got, numpy_backward(model, image, cls, rule), rtol=1e-4, atol=1e-5)
    # the model is restored: its plain gradient afterwards is the plain one
    np.testing.assert_allclose(backprop.project(model, image, unit=0), numpy_backward(model, image, 0, "gradient"),
                               rtol=1e-4, atol=1e-5)


def test_guided_differs_from_gradient_where_signals_are_negative():
    model = mlp()
    image = np.random.default_rng(1).standard_normal((2, 2, 2)).astype("float32")
    plain = backprop.project(model, image, unit=1, rule="gradient")
    guided = backprop.guided_backprop(model, image, 1)
    assert not np.allclose(plain, guided)  # so the rule test above could fail


def test_gradients_against_finite_differences():
    """A smooth (tanh) float64 model: value_and_grad and saliency equal central differences."""
    model = mlp(activation="tanh", dtype="float64")
    image = np.random.default_rng(2).standard_normal((1, 2, 2, 2))

    def fn(x):
        return model(x)[0, 2]

    _, grad = value_and_grad(fn, keras.ops.convert_to_tensor(image))
    eps, fd = 1e-6, np.zeros_like(image)
    for idx in np.ndindex(image.shape):
        d = np.zeros_like(image)
        d[idx] = eps
        fd[idx] = (float(to_numpy(fn(image + d))) - float(to_numpy(fn(image - d)))) / (2 * eps)
    np.testing.assert_allclose(to_numpy(grad), fd, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(backprop.saliency(model, image, 2), np.abs(fd[0]).max(axis=-1), rtol=1e-5)


def test_deconvnet_unpools_through_the_switches_with_transposed_filters():
    """conv 2x2 (valid) -> relu -> max pool 2 -> one unit: the projection is the flipped-filter
    (transposed) convolution of a signal placed at the pooling switch, in NumPy."""
    rng = np.random.default_rng(3)
    x = inputs = keras.Input((5, 5, 1))
    x = keras.layers.Conv2D(1, 2, activation="relu", use_bias=False, name="conv")(x)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    model = keras.Model(inputs, x)
    kernel = np.abs(rng.standard_normal((2, 2, 1, 1))).astype("float32")
    model.get_layer("conv").set_weights([kernel])
    image = np.abs(rng.standard_normal((5, 5, 1))).astype("float32")
    proj, channel, (py, px) = backprop.deconvnet(model, image, "pool")
    assert channel == 0
    conv = np.array([[np.sum(image[i:i + 2, j:j + 2, 0] * kernel[..., 0, 0]) for j in range(4)] for i in range(4)])
    pooled = conv[:4, :4].reshape(2, 2, 2, 2).max(axis=(1, 3))
    assert (py, px) == np.unravel_index(pooled.argmax(), pooled.shape)
    window = conv[2 * py:2 * py + 2, 2 * px:2 * px + 2]
    sy, sx = np.unravel_index(window.argmax(), window.shape)  # the switch
    unpooled = np.zeros((4, 4))
    unpooled[2 * py + sy, 2 * px + sx] = pooled.max()
    expected = np.zeros((5, 5))
    for i in range(4):  # the transposed convolution: each unit spreads its signal with the filter
        for j in range(4):
            expected[i:i + 2, j:j + 2] += unpooled[i, j] * kernel[..., 0, 0]
    np.testing.assert_allclose(proj[..., 0], expected, rtol=1e-5)


def test_leaky_relu_and_bad_arguments_are_refused():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.ReLU(negative_slope=0.1)(keras.layers.Dense(2)(inputs)))
    with pytest.raises(ConfigError, match="leaky"):
        backprop.guided_backprop(model, np.zeros((1, 4), "float32").reshape(1, 1, 1, 4)[0], 0)
    with pytest.raises(ConfigError, match="unknown backward rule"):
        backprop.project(model, np.zeros((1, 1, 4), "float32"), unit=0, rule="nope")
