"""DRAW's read attention as a classifier: the "Differentiable RAM" of Gregor et al. 2015 §4.1 (Table 1,
cluttered translated MNIST; Table 3's first row: 8 glimpses, an LSTM of 256, 12x12 reads).

An LSTM receives one N x N glimpse of the image per step, read with the selective-attention filterbank of
§3.2 (the same filters as DRAW's read, zoo.models.draw.draw, applied to x alone: there is no canvas and so
no error image); the glimpse's window (g_X, g_Y, log σ², log δ̃, log γ) is linear in the previous hidden
state, which starts at zero, so the first glimpse is a learned fixed window. After T glimpses a softmax
layer on the last hidden state classifies the image. The model outputs the logits; `glimpse_windows(model)`
gives the model of the glimpses' windows (N, T, 3): g_X, g_Y, δ of every glimpse, where the network looked.
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.errors import ConfigError
from zoo.models.draw.draw import attention_parameters, filterbank


@keras.saving.register_keras_serializable(package="zoo")
class GlimpseLSTM(keras.layers.Layer):
    """T attention glimpses into an LSTM; returns [last hidden state (N, units), windows (N, T, 3)]."""

    def __init__(self, image_size, steps, units, read_n, channels=1, **kwargs):
        super().__init__(**kwargs)
        self.image_size = tuple(int(v) for v in image_size)
        self.steps, self.units, self.read_n, self.channels = int(steps), int(units), int(read_n), int(channels)
        self.lstm = keras.layers.LSTMCell(self.units, name="lstm")
        self.read_window = keras.layers.Dense(5, name="read_window")

    def build(self, input_shape):
        self.lstm.build((None, self.read_n**2 * self.channels))
        self.read_window.build((None, self.units))
        self.built = True

    def glimpse(self, x, h):
        """γ F_Y x F_X^T flattened (eq. 27 without the error image), and the window (g_X, g_Y, δ)."""
        gx, gy, delta, sigma2, gamma = attention_parameters(self.read_window(h), self.image_size, self.read_n)
        fx = filterbank(gx, delta, sigma2, self.read_n, self.image_size[1])
        fy = filterbank(gy, delta, sigma2, self.read_n, self.image_size[0])
        g = ops.einsum("nib,nbac,nja->nijc", fy, x, fx)
        return gamma * ops.reshape(g, (ops.shape(x)[0], -1)), ops.concatenate([gx, gy, delta], axis=-1)

    def call(self, image):
        batch = ops.shape(image)[0]
        x = ops.reshape(ops.cast(image, self.compute_dtype), (batch, *self.image_size, self.channels))
        h = ops.zeros((batch, self.units), self.compute_dtype)
        state, windows = [h, h], []
        for _ in range(self.steps):
            r, window = self.glimpse(x, h)
            h, state = self.lstm(r, state)
            windows.append(window)
        return [h, ops.stack(windows, axis=1)]

    def compute_output_shape(self, input_shape):
        return [(input_shape[0], self.units), (input_shape[0], self.steps, 3)]

    def get_config(self):
        return {**super().get_config(), "image_size": list(self.image_size), "steps": self.steps,
                "units": self.units, "read_n": self.read_n, "channels": self.channels}


def draw_classifier(num_classes=10, input_shape=(100, 100, 1), steps=8, units=256, read_n=12):
    """Differentiable RAM (Gregor et al. 2015 §4.1): 12x12 attention glimpses into an LSTM, softmax after T."""
    if len(input_shape) != 3 or None in input_shape or input_shape[-1] not in (1, 3):
        raise ConfigError(f"input_shape must be a fixed (H, W, 1) or (H, W, 3) image, got {tuple(input_shape)}")
    if steps < 1 or units < 1 or read_n < 1:
        raise ConfigError(f"steps, units and read_n must be >= 1, got {steps}, {units}, {read_n}")
    image = keras.Input(tuple(input_shape), name="image")
    h, windows = GlimpseLSTM(input_shape[:2], steps, units, read_n, input_shape[-1], name="glimpses")(image)
    return keras.Model(image, keras.layers.Dense(num_classes, name="classifier")(h), name="draw_classifier")


def glimpse_windows(model):
    """The model image -> windows (N, T, 3) of a draw_classifier: each glimpse's centre (g_X, g_Y) and stride δ."""
    return keras.Model(model.inputs, model.get_layer("glimpses").output[1])
