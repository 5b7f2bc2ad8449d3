"""The conditional GAN of CGAN-C2ST (Oquab thesis §5.4.2, Eq. 5.7-5.8; Lopez-Paz & Oquab 2017).

The thesis gives the objectives, not the networks. The defaults are those of the authors' public
code (lopezpaz/classifier_tests, code/gan_tuebingen/tuebingen.lua), stated as such:

- generator g(x, z): Linear(dim_x + 10 -> 128), ReLU, Dropout(0.25), Linear(128 -> dim_y), with
  z ~ N(0, 1)^10 concatenated to the cause, so the noise is independent of the cause by
  construction (the structural equation y <- g(x, n), Eq. 5.7);
- discriminator d(x, y): Linear(dim_x + dim_y -> 128), ReLU, Dropout(0.25), Linear(128 -> 1); the
  Lua code ends in a Sigmoid under a BCE loss, here the layer gives the logit and the loss applies
  the sigmoid (zoo.experiments.cause_effect), which is the same function, computed stably.

The pair model maps {"cause", "effect", "noise"} to {"generated": g(x, z), "real": d(x, y),
"fake": d(x, g(x, z))}, with sub-models named "generator" and "discriminator" as the adversarial
step expects.
"""

from __future__ import annotations

import keras

from zoo.errors import ConfigError
from zoo.models.dcgan.dcgan import named_outputs


def _mlp(input_dim: int, hidden: int, output_dim: int, dropout: float, name: str):
    x = inputs = keras.Input((input_dim,), name=f"{name}_input")
    x = keras.layers.Dense(hidden, activation="relu", name=f"{name}_hidden")(x)
    x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return keras.Model(inputs, keras.layers.Dense(output_dim, name=f"{name}_output")(x), name=name)


def cgan_mlp(cause_dim: int = 1, effect_dim: int = 1, noise_dim: int = 10, hidden: int = 128, dropout: float = 0.25):
    """CGAN-C2ST's conditional generator and discriminator (Oquab thesis §5.4.2; sizes of the authors' code)."""
    for key, value in (("cause_dim", cause_dim), ("effect_dim", effect_dim), ("noise_dim", noise_dim),
                       ("hidden", hidden)):
        if int(value) != value or value < 1:
            raise ConfigError(f"{key} must be a positive integer, got {value!r}")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), got {dropout!r}")
    generator = _mlp(cause_dim + noise_dim, hidden, effect_dim, dropout, "generator")
    discriminator = _mlp(cause_dim + effect_dim, hidden, 1, dropout, "discriminator")
    x = keras.Input((cause_dim,), name="cause")
    y = keras.Input((effect_dim,), name="effect")
    z = keras.Input((noise_dim,), name="noise")
    fake = generator(keras.layers.Concatenate(name="cause_noise")([x, z]))
    real_pair = keras.layers.Concatenate(name="real_pair")([x, y])
    fake_pair = keras.layers.Concatenate(name="fake_pair")([x, fake])
    outputs = {"generated": fake, "real": discriminator(real_pair), "fake": discriminator(fake_pair)}
    return keras.Model({"cause": x, "effect": y, "noise": z}, named_outputs(outputs), name="cgan_mlp")
