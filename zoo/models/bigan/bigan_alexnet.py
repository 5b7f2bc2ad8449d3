"""BiGAN for ImageNet (Donahue thesis §5.3.3, App. 5.5.3.2): an AlexNet encoder, DCGAN-style G and D.

- E: AlexNet conv1..conv5 (conv2, conv4, conv5 in two groups, Caffe's ceil-mode pool1/pool2) with
  the LRN layers removed and batch normalization with learned scale and bias plus leaky ReLU
  (0.2) after each conv; for supervised use the BN is folded into the convs
  (zoo.export.fold_bn). Ours (not stated): conv5's map is flattened and one linear layer `fc_z`
  gives z. Input 64x64, or 112x112 for the generalized BiGAN (§5.2.5) whose D sees g_X(x), x
  average-pooled to 64x64 (`encoder_size=112`).
- G: z -> linear to 4x4x(8 gf) with BN + ReLU, then "four 5x5 ... fractionally-strided
  convolutions applied with 2 pixel stride", BN + ReLU after the first three, tanh after the
  last: 4 -> 8 -> 16 -> 32 -> 64. Widths (not stated) are DCGAN's (gf = 128: 1024, 512, 256, 128).
- D: four 5x5 stride-2 convolutions (df, 2df, 4df, 8df; BN after all but the first and leaky ReLU
  0.2, as DCGAN) and a linear logit. D conditions on z (§5.3): a learned linear projection of z to
  each layer's width is added to that layer's non-linearity input (broadcast over positions for
  the convolutions).
- Initialisation (§5.2.4): every weight N(0, 0.02), except the z projections added to the spatial
  convolutions' outputs, scaled by the kernel size: std 0.02 x 25 = 0.5 for 5x5 kernels.
- p_Z = U(-1, 1)^200; images in [-1, 1].
"""

from __future__ import annotations

import keras

from zoo.layers.pooling import CaffeMaxPooling2D
from zoo.models.bigan.bigan import bigan_triple

LATENT_DIM = 200
IMAGE_SIZE = 64
STD = 0.02


def _init(std=STD):
    return keras.initializers.RandomNormal(0.0, std)


def _bn(name):
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


def alexnet_encoder(latent_dim=LATENT_DIM, image_size=IMAGE_SIZE, name="encoder"):
    """AlexNet conv1..conv5 without LRN, each conv with BN + leaky ReLU, then a linear map to z."""
    x = image = keras.Input((image_size, image_size, 3), name="image")
    specs = [("conv1", 96, 11, 4, "valid", 1), ("conv2", 256, 5, 1, "same", 2), ("conv3", 384, 3, 1, "same", 1),
             ("conv4", 384, 3, 1, "same", 2), ("conv5", 256, 3, 1, "same", 2)]
    for layer, width, k, stride, padding, groups in specs:
        x = keras.layers.Conv2D(width, k, strides=stride, padding=padding, groups=groups, use_bias=False,
                                kernel_initializer=_init(), name=layer)(x)
        x = keras.layers.LeakyReLU(0.2, name=f"{layer}_lrelu")(_bn(f"{layer}_bn")(x))
        if layer in ("conv1", "conv2"):
            x = CaffeMaxPooling2D(3, 2, name=f"pool{layer[-1]}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    return keras.Model(image, keras.layers.Dense(latent_dim, kernel_initializer=_init(), name="fc_z")(x), name=name)


def dcgan5_generator(latent_dim=LATENT_DIM, gf=128, name="generator"):
    """z -> 4x4x8gf -> four 5x5 stride-2 deconvolutions -> 64x64x3 in [-1, 1]."""
    z = keras.Input((latent_dim,), name="noise")
    x = keras.layers.Dense(4 * 4 * 8 * gf, use_bias=False, kernel_initializer=_init(), name="fc")(z)
    x = keras.layers.ReLU(name="fc_relu")(_bn("fc_bn")(keras.layers.Reshape((4, 4, 8 * gf), name="view")(x)))
    for i, width in enumerate([4 * gf, 2 * gf, gf], start=1):
        x = keras.layers.Conv2DTranspose(width, 5, strides=2, padding="same", use_bias=False,
                                         kernel_initializer=_init(), name=f"deconv{i}")(x)
        x = keras.layers.ReLU(name=f"deconv{i}_relu")(_bn(f"deconv{i}_bn")(x))
    x = keras.layers.Conv2DTranspose(3, 5, strides=2, padding="same", kernel_initializer=_init(), name="deconv4")(x)
    return keras.Model(z, keras.layers.Activation("tanh", name="tanh")(x), name=name)


def dcgan5_joint_discriminator(latent_dim=LATENT_DIM, df=128, image_size=IMAGE_SIZE, name="discriminator"):
    """D(x, z): four 5x5 stride-2 convs and a logit, each with z projected and added before the non-linearity."""
    image = keras.Input((image_size, image_size, 3), name="image")
    z = keras.Input((latent_dim,), name="noise")
    x = image
    for i, width in enumerate([df, 2 * df, 4 * df, 8 * df], start=1):
        x = keras.layers.Conv2D(width, 5, strides=2, padding="same", use_bias=i == 1, kernel_initializer=_init(),
                                name=f"conv{i}")(x)
        if i > 1:
            x = _bn(f"conv{i}_bn")(x)
        # the z weights play the role of a 5x5 kernel over a constant map: std scaled by 25 (§5.2.4)
        zp = keras.layers.Dense(width, use_bias=False, kernel_initializer=_init(STD * 25), name=f"z_proj{i}")(z)
        x = keras.layers.Add(name=f"add{i}")([x, keras.layers.Reshape((1, 1, width), name=f"z_map{i}")(zp)])
        x = keras.layers.LeakyReLU(0.2, name=f"conv{i}_lrelu")(x)
    x = keras.layers.Dense(1, kernel_initializer=_init(), name="fc")(keras.layers.Flatten(name="flatten")(x))
    zp = keras.layers.Dense(1, use_bias=False, kernel_initializer=_init(), name="z_proj5")(z)
    return keras.Model([image, z], keras.layers.Add(name="logit")([x, zp]), name=name)


def bigan_alexnet(latent_dim: int = LATENT_DIM, gf: int = 128, df: int = 128, encoder_size: int = IMAGE_SIZE):
    """BiGAN for ImageNet (Donahue thesis §5.3.3): AlexNet-conv5 encoder (BN + leaky ReLU, no LRN), DCGAN G and D(x, z)."""
    encoder = alexnet_encoder(latent_dim, encoder_size)
    generator = dcgan5_generator(latent_dim, gf)
    discriminator = dcgan5_joint_discriminator(latent_dim, df)
    if encoder_size == IMAGE_SIZE:
        return bigan_triple(encoder, generator, discriminator, name="bigan_alexnet")
    # generalized BiGAN (§5.2.5): D sees g_X(x), the encoder's input downsampled to the generator's size
    return _generalized(encoder, generator, discriminator)


def _generalized(encoder, generator, discriminator, interpolation="area", antialias=False,
                 name="bigan_alexnet_generalized"):
    """{"image": x, "noise": z} -> E(x), G(z), D(g_X(x), E(x)), D(G(z), z); g_X resizes x to 64x64."""
    from zoo.models.dcgan.dcgan import named_outputs

    x = keras.Input(tuple(encoder.inputs[0].shape[1:]), name="image")
    z = keras.Input(tuple(generator.inputs[0].shape[1:]), name="noise")
    small = keras.layers.Resizing(IMAGE_SIZE, IMAGE_SIZE, interpolation=interpolation, antialias=antialias,
                                  name="g_x")(x)
    fake, code = generator(z), encoder(x)
    outputs = {"encoded": code, "generated": fake, "real": discriminator([small, code]), "fake": discriminator([fake, z])}
    return keras.Model({"image": x, "noise": z}, named_outputs(outputs), name=name)
