"""Encoder and one-step decoder models cut from a trained LRCN sequence model.

Greedy, beam and sampling searches need the network one word at a time with the recurrent
state carried outside (thesis §4.4.1.2; the release's captioner.py does the same with Caffe's
`cont` input). `decoder_parts(model)` returns two Keras models that share the trained
model's weights:

- encoder: the model's non-word inputs -> a dict with `feature` (the image fc8, or the CRF
  vector) and/or the decoder's initial states (`lstm1_h`, `lstm1_c`, ...: the LSTM encoder of
  video-description architecture (a));
- step: {"word": (N,) int32, "feature": (N, D), "lstm1_h": (N, H), "lstm1_c": ..., ...} ->
  {"logits": (N, V), "lstm1_h": ..., ...}: one step of every recurrent layer and `predict`.

Both are plain functional models (builtin TFLite ops; export each on its own), and
`Decoder` wraps them as the NumPy step function `zoo.text.decoding` expects.
"""

from __future__ import annotations

import keras
import numpy as np

from zoo.errors import ConfigError

WORDS = "words"  # the name of the word input of every LRCN sequence model


def recurrent_layers(model) -> list:
    """The decoder's recurrent layers in order: lstm1, lstm2 (or rnn1, rnn2)."""
    layers = []
    for prefix in ("lstm", "rnn"):
        i = 1
        while any(layer.name == f"{prefix}{i}" for layer in model.layers):
            layers.append(model.get_layer(f"{prefix}{i}"))
            i += 1
    if not layers:
        raise ConfigError(f"{model.name} has no lstm1/rnn1 layer: not an LRCN sequence model")
    return layers


def state_names(layer) -> list[str]:
    return [f"{layer.name}_h", f"{layer.name}_c"] if isinstance(layer, keras.layers.LSTM) else [f"{layer.name}_h"]


def _has(model, name):
    return any(layer.name == name for layer in model.layers)


def _feature(model):
    for name in ("fc8", "crf_features"):
        if _has(model, name):
            return model.get_layer(name).output
    return None


def decoder_parts(model) -> tuple[keras.Model, keras.Model]:
    """(encoder, step) models sharing `model`'s weights; see the module docstring."""
    recurrent = recurrent_layers(model)
    inputs = [t for t in model.inputs if t.name != WORDS]
    if len(inputs) == len(model.inputs):
        raise ConfigError(f"{model.name} has no input named {WORDS!r}: not an LRCN sequence model")
    outputs = {}
    feature = _feature(model)
    if feature is not None:
        outputs["feature"] = feature
    for i, layer in enumerate(recurrent, start=1):
        if _has(model, f"encoder{i}"):  # video description (a): the decoder starts from the encoder's states
            _, *states = model.get_layer(f"encoder{i}").output
            outputs.update(zip(state_names(layer), states))
    encoder = keras.Model(inputs[0] if len(inputs) == 1 else inputs, outputs, name=f"{model.name}_encoder")

    word = keras.Input((), dtype="int32", name="word")
    step_inputs = {"word": word}
    x = model.get_layer("embedding")(word)
    if feature is not None:
        step_inputs["feature"] = keras.Input((feature.shape[-1],), name="feature")
    step_outputs = {}
    for layer in recurrent:
        if _has(model, f"{layer.name}_input"):
            x = keras.layers.Concatenate(name=f"{layer.name}_input")([x, step_inputs["feature"]])
        states = [keras.Input((layer.cell.units,), name=n) for n in state_names(layer)]
        step_inputs.update(zip(state_names(layer), states))
        # Keras names every LSTM's cell "lstm_cell"; the step model calls them side by side. A CaffeRNN
        # cell returns the output o_t and the state h_t (zoo.layers.caffe_rnn).
        layer.cell.name = f"{layer.name}_cell"
        x, new_states = layer.cell(x, states)
        step_outputs.update(zip(state_names(layer), new_states))
    step_outputs = {"logits": model.get_layer("predict")(x), **step_outputs}
    step = keras.Model(step_inputs, step_outputs, name=f"{model.name}_step")
    return encoder, step


class Decoder:
    """The NumPy face of (encoder, step): `initial_state(inputs)` and `step(words, state)`.

    A state is a dict of arrays with the batch (or beam) on axis 0: `feature` (constant over
    the steps) and the recurrent states; decoding.py reorders its rows when beams are pruned.
    """

    def __init__(self, model):
        self.encoder, self.step_model = decoder_parts(model)
        self.names = [n for layer in recurrent_layers(model) for n in state_names(layer)]
        self.vocab_size = int(model.get_layer("predict").units)

    def initial_state(self, inputs) -> dict:
        """Encoder outputs for a batch of inputs (an image batch, or [the CRF inputs]), plus zero
        recurrent states where the encoder gives none."""
        out = {k: np.asarray(v) for k, v in self.encoder(inputs, training=False).items()}
        batch = len(next(iter(out.values())))
        for name in self.names:
            if name not in out:
                units = self.step_model.get_layer(name).output.shape[-1]
                out[name] = np.zeros((batch, units), np.float32)
        return out

    def step(self, words, state: dict) -> tuple[np.ndarray, dict]:
        feed = {"word": np.asarray(words, np.int32), **state}
        out = self.step_model(feed, training=False)
        new_state = {k: np.asarray(out[k]) for k in self.names}
        if "feature" in state:
            new_state["feature"] = state["feature"]
        return np.asarray(out["logits"]), new_state
