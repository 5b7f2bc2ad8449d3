"""BiGAN on permutation-invariant MNIST (Donahue thesis §5.2, §5.3.2, App. 5.5.3.1).

E: x -> z, G: z -> x and D: (x, z) -> logit are MLPs with two hidden layers of 1024 units; hidden
layer 1 is followed by the non-linearity, hidden layer 2 by batch normalization without
parameters (no scale, no shift) and then the non-linearity; a linear output layer of the
appropriate size ends each. Leaky ReLU (leak 0.2) in D and E, ReLU in G. p_Z = U(-1, 1)^50,
x is the 28x28 image as a 784-d vector (the models flatten their image input and reshape G's output,
so a data pipeline feeds images; `image_shape=(8, 8, 1)` for the digits stand-in).

D conditions on z (§5.3): it takes x as its input and "at each linear layer thereafter, the
latent representation z is transformed using a learned linear transformation to the hidden
layer dimension and added to the non-linearity input": here every linear layer of D (both hidden
layers and the output) gets its own projection of z (`z_proj1`, `z_proj2`, `z_proj3`), added
after the second layer's batch normalization, just before the non-linearity.

Not stated by the thesis, ours: G's output activation (sigmoid, for pixels in [0, 1]; "linear"
and "tanh" are options) and E's (linear). Weights are drawn from N(0, 0.02) (§5.2.4).
`joint=False` gives the standard-GAN discriminator D(x) of the D / LR / JLR baselines (§5.3.1).
`trainable` names the sub-models that train; the others are frozen: the latent regressor (LR) first
trains G and D, then E alone on E(G(z)) with G fixed; the autoencoders train E and G (§5.3.1).
"""

from __future__ import annotations

import keras
import numpy as np

from zoo.errors import ConfigError
from zoo.models.dcgan.dcgan import named_outputs

IMAGE_SHAPE = (28, 28, 1)
LATENT_DIM = 50
HIDDEN = 1024
OUTPUTS = ("sigmoid", "linear", "tanh")


SUB_MODELS = ("encoder", "generator", "discriminator")


def _init():
    return keras.initializers.RandomNormal(0.0, 0.02)


def _dense(units, name, bias=True):
    return keras.layers.Dense(units, use_bias=bias, kernel_initializer=_init(), name=name)


def _free_bn(name):
    """Batch normalization without parameters (App. 5.5.3.1)."""
    return keras.layers.BatchNormalization(center=False, scale=False, name=name)


def _act(kind, name):
    return keras.layers.LeakyReLU(0.2, name=name) if kind == "leaky" else keras.layers.ReLU(name=name)


def mlp(source, outputs: int, act: str, name: str, hidden: int = HIDDEN, output_activation=None, output_shape=None):
    """[flatten ->] fc1 -> act -> fc2 -> parameter-free BN -> act -> fc3 [-> activation -> reshape]
    (the E and G of App. 5.5.3.1); `source` is the input's shape."""
    x = inputs = keras.Input(tuple(source), name=f"{name}_input")
    if len(source) > 1:
        x = keras.layers.Flatten(name="flatten")(x)
    x = _act(act, "act1")(_dense(hidden, "fc1")(x))
    x = _act(act, "act2")(_free_bn("bn2")(_dense(hidden, "fc2", bias=False)(x)))  # BN cancels a bias
    x = _dense(outputs, "fc3")(x)
    if output_activation not in (None, "linear"):
        x = keras.layers.Activation(output_activation, name="output")(x)
    if output_shape is not None:
        x = keras.layers.Reshape(tuple(output_shape), name="image")(x)
    return keras.Model(inputs, x, name=name)


def joint_discriminator(image_shape=IMAGE_SHAPE, latent_dim=LATENT_DIM, hidden=HIDDEN, joint=True, name="discriminator"):
    """D(x, z) -> logit, with a learned projection of z added at each linear layer (§5.3); D(x) if not `joint`."""
    image = keras.Input(tuple(image_shape), name="image")
    x = keras.layers.Flatten(name="flatten")(image)
    z = keras.Input((latent_dim,), name="noise")

    def plus_z(h, units, i):
        return keras.layers.Add(name=f"add{i}")([h, _dense(units, f"z_proj{i}", bias=False)(z)]) if joint else h

    h = _act("leaky", "act1")(plus_z(_dense(hidden, "fc1")(x), hidden, 1))
    h = _act("leaky", "act2")(plus_z(_free_bn("bn2")(_dense(hidden, "fc2", bias=False)(h)), hidden, 2))
    out = plus_z(_dense(1, "fc3")(h), 1, 3)
    return keras.Model([image, z] if joint else image, out, name=name)


def bigan_mlp(latent_dim: int = LATENT_DIM, image_shape=IMAGE_SHAPE, hidden: int = HIDDEN,
              generator_output: str = "sigmoid", joint: bool = True, trainable=SUB_MODELS):
    """BiGAN for permutation-invariant MNIST (Donahue thesis §5.3.2, App. 5.5.3.1): E, G, D(x, z)."""
    if generator_output not in OUTPUTS:
        raise ConfigError(f"generator_output must be one of {OUTPUTS}; got {generator_output!r}")
    dim = 1
    for s in image_shape:
        dim *= int(s)
    encoder = mlp(image_shape, latent_dim, "leaky", "encoder", hidden)
    generator = mlp((latent_dim,), dim, "relu", "generator", hidden, generator_output, output_shape=image_shape)
    discriminator = joint_discriminator(image_shape, latent_dim, hidden, joint)
    return bigan_triple(encoder, generator, discriminator, joint, name="bigan_mlp" if joint else "gan_mlp_with_encoder",
                        trainable=trainable)


@keras.saving.register_keras_serializable(package="zoo")
class CodeScale(keras.layers.Layer):
    """Multiplies the first `categories` entries of z (the one-hot part) by `alpha` (Donahue thesis ch. 6:
    "the one-hot is scaled by alpha > 1 before entering G"; InfoGAN notes a plain GAN ignores it otherwise)."""

    def __init__(self, categories: int, alpha: float, **kwargs):
        super().__init__(**kwargs)
        self.categories, self.alpha = int(categories), float(alpha)

    def call(self, z):
        return keras.ops.concatenate([z[:, :self.categories] * self.alpha, z[:, self.categories:]], axis=-1)

    def get_config(self):
        return {**super().get_config(), "categories": self.categories, "alpha": self.alpha}


def gan_discrete_latent_mlp(categories: int = 10, continuous: int = 10, alpha: float = 3.0, image_shape=IMAGE_SHAPE,
                            hidden: int = HIDDEN, generator_output: str = "sigmoid"):
    """The discrete-latent GAN of Donahue thesis ch. 6 (MNIST): z = [alpha * one-hot(categories),
    U(-1, 1)^continuous] into G, a standard D(x), and the MLP encoder E trained jointly to predict z
    from G(z) (the JLR arrangement, §5.3.1), whose categorical part clusters real images. Sizes as
    bigan_mlp; the thesis does not state alpha (3.0 is ours)."""
    if categories < 2 or continuous < 0 or alpha <= 0:
        raise ConfigError(f"need categories >= 2, continuous >= 0 and alpha > 0; got {categories}, {continuous}, {alpha}")
    if generator_output not in OUTPUTS:
        raise ConfigError(f"generator_output must be one of {OUTPUTS}; got {generator_output!r}")
    latent = categories + continuous
    decoder = mlp((latent,), int(np.prod(image_shape)), "relu", "decoder", hidden, generator_output,
                  output_shape=image_shape)
    z = keras.Input((latent,), name="generator_input")
    generator = keras.Model(z, decoder(CodeScale(categories, alpha, name="code_scale")(z)), name="generator")
    encoder = mlp(image_shape, latent, "leaky", "encoder", hidden)
    discriminator = joint_discriminator(image_shape, latent, hidden, joint=False)
    return bigan_triple(encoder, generator, discriminator, joint=False, name="gan_discrete_latent_mlp")


def bigan_triple(encoder, generator, discriminator, joint=True, name="bigan", trainable=SUB_MODELS):
    """One model over {"image": x, "noise": z} -> {"encoded": E(x), "generated": G(z),
    "real": D(x, E(x)), "fake": D(G(z), z)} (D(x), D(G(z)) when not `joint`); the sub-models not in
    `trainable` are frozen."""
    unknown = sorted(set(trainable) - set(SUB_MODELS))
    if unknown or not trainable:
        raise ConfigError(f"trainable must name some of {', '.join(SUB_MODELS)}; got {list(trainable)}")
    for sub in (encoder, generator, discriminator):
        sub.trainable = sub.name in trainable
    x = keras.Input(tuple(encoder.inputs[0].shape[1:]), name="image")
    z = keras.Input(tuple(generator.inputs[0].shape[1:]), name="noise")
    fake, code = generator(z), encoder(x)
    real_logit = discriminator([x, code]) if joint else discriminator(x)
    fake_logit = discriminator([fake, z]) if joint else discriminator(fake)
    outputs = {"encoded": code, "generated": fake, "real": real_logit, "fake": fake_logit}
    return keras.Model({"image": x, "noise": z}, named_outputs(outputs), name=name)
