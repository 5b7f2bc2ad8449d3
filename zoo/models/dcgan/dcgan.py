"""DCGAN generator(gf) and discriminator(df) at 64x64 with 100-d noise (Oquab thesis App. C,
"We reused the Torch7 code of Radford et al. [2016]", §5.3.3).

Generator: noise (100,) viewed as 1x1x100 -> dc1 4x4 deconv 8gf (stride 1) -> dc2..dc4 4x4 deconv
stride 2 (4gf, 2gf, gf), each with SpatialBN + ReLU -> dc5 4x4 deconv stride 2 to 3 channels, tanh.

Discriminator, two readings of its first layer (thesis gotcha 8):
- variant="torch" (default): the reused dcgan.torch code: c1 without BN, LeakyReLU(0.2) after
  every layer;
- variant="appendix": the App. C text as printed: SpatialBN and ReLU after c1 and every layer.
Both use stride 2 in c1: the printed "stride 1" contradicts the 64 -> 32 size it states.
c5 is a 4x4 valid convolution to one logit; the sigmoid is in the loss (zoo.tasks.generative).

As in dcgan.torch's `weights_init`, convolutions have no bias and are drawn from N(0, 0.02), BN
scales from N(1, 0.02). The pair `dcgan(gf, df)` is one model with sub-models "generator" and
"discriminator" for the adversarial step.
"""

from __future__ import annotations

import keras

from zoo.errors import ConfigError

NOISE_DIM = 100
IMAGE_SIZE = 64
VARIANTS = ("torch", "appendix")


def _init(seed=None):
    return keras.initializers.RandomNormal(0.0, 0.02, seed=seed)


def _bn(name):
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02),
                                           name=name)


def dcgan_generator(gf: int = 64, noise_dim: int = NOISE_DIM, name: str = "generator"):
    """DCGAN generator(gf) of Oquab thesis App. C: 100-d noise -> 64x64x3 in [-1, 1]."""
    z = keras.Input((noise_dim,), name="noise")
    x = keras.layers.Reshape((1, 1, noise_dim), name="view")(z)
    for i, (width, stride) in enumerate([(8 * gf, 1), (4 * gf, 2), (2 * gf, 2), (gf, 2)], start=1):
        padding = "valid" if stride == 1 else "same"  # Torch pad 1 with a 4x4 stride-2 kernel doubles the size
        x = keras.layers.Conv2DTranspose(width, 4, strides=stride, padding=padding, use_bias=False,
                                         kernel_initializer=_init(), name=f"dc{i}")(x)
        x = _bn(f"dc{i}_bn")(x)
        x = keras.layers.ReLU(name=f"dc{i}_relu")(x)
    x = keras.layers.Conv2DTranspose(3, 4, strides=2, padding="same", use_bias=False, kernel_initializer=_init(),
                                     name="dc5")(x)
    return keras.Model(z, keras.layers.Activation("tanh", name="dc5_tanh")(x), name=name)


def dcgan_discriminator(df: int = 64, variant: str = "torch", name: str = "discriminator"):
    """DCGAN discriminator(df) of Oquab thesis App. C: 64x64x3 -> one logit (variant "torch" or "appendix")."""
    if variant not in VARIANTS:
        raise ConfigError(f"variant must be one of {VARIANTS}; got {variant!r}")
    x = image = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name="image")
    for i, width in enumerate([df, 2 * df, 4 * df, 8 * df], start=1):
        x = keras.layers.Conv2D(width, 4, strides=2, padding="same", use_bias=False, kernel_initializer=_init(),
                                name=f"c{i}")(x)
        if i > 1 or variant == "appendix":
            x = _bn(f"c{i}_bn")(x)
        if variant == "torch":
            x = keras.layers.LeakyReLU(0.2, name=f"c{i}_lrelu")(x)
        else:
            x = keras.layers.ReLU(name=f"c{i}_relu")(x)
    x = keras.layers.Conv2D(1, 4, padding="valid", use_bias=False, kernel_initializer=_init(), name="c5")(x)
    return keras.Model(image, keras.layers.Flatten(name="logit")(x), name=name)


def gan_pair(generator, discriminator, name: str):
    """One model over {"image": x, "noise": z} -> {"generated": G(z), "real": D(x), "fake": D(G(z))}."""
    z = keras.Input(tuple(generator.inputs[0].shape[1:]), name="noise")
    x = keras.Input(tuple(discriminator.inputs[0].shape[1:]), name="image")
    fake = generator(z)
    outputs = {"generated": fake, "real": discriminator(x), "fake": discriminator(fake)}
    return keras.Model({"image": x, "noise": z}, named_outputs(outputs), name=name)


def named_outputs(outputs: dict) -> dict:
    """Each output through an identity layer of its key's name, so exports name them by key."""
    return {key: keras.layers.Identity(name=key)(value) for key, value in outputs.items()}


def dcgan(gf: int = 64, df: int = 64, variant: str = "torch", noise_dim: int = NOISE_DIM):
    """DCGAN generator(gf) + discriminator(df) of Oquab thesis App. C as one trainable pair."""
    return gan_pair(dcgan_generator(gf, noise_dim), dcgan_discriminator(df, variant), name=f"dcgan_g{gf}_d{df}")
