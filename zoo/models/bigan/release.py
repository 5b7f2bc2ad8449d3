"""The BiGAN release's ImageNet networks, exactly as jeffdonahue/bigan builds them (net.py, gan.py,
train_imagenet.sh), so that its weights (`pretrained_bigan_weights.zip`, read by
zoo.models.bigan.convert) load and give the release's outputs. Donahue thesis §5.3.3, App. 5.5.3.2.

Where the release differs from `bigan_alexnet` (which follows the thesis text):
- E (`alexnet_group_padpool`, "slightly broken version ... which pads conv1 & pool inputs"):
  conv1 11x11 stride 4 with 5 pixels of padding and no BN; pools 3x3 stride 2 with 1 pixel of
  padding, floor-mode sizes (cuDNN's dnn_pool, whose max never takes a padded position: apache/mxnet#2753,
  denizyuret/Knet.jl#182; leaky ReLU makes it matter); conv2..conv5 (groups 2 on conv2/4/5) with BN (scale and shift),
  leaky ReLU 0.2 everywhere; no conv has a bias. conv5's (C, H, W) map -> linear 200 without bias
  -> 2 sigmoid(.) - 1 (dist.py UniformDistribution.logits_to_recon). 64x64 -> conv5 4x4;
  112x112 (generalized BiGAN) -> 7x7.
- G (`deconvnet_64`, --gen_net_size 64): z -> linear 8 s*4*4 (no bias) -> BN over the flat vector
  ("bn_flat") -> ReLU -> (8 s, 4, 4); three 5x5 stride-2 deconvolutions (4 s, 2 s, s), each plus a
  per-channel bias computed from z by a linear map (apply_cond), BN, ReLU; a last 5x5 stride-2
  deconvolution to 3 channels, sigmoid, rescaled to [-1, 1].
- D (`convnet_64`, --feat_net_size 64): 5x5 stride-2 convs (s, 2 s, 4 s, 8 s; 2 pixels of padding
  each side), leaky ReLU; conv2..conv4 add a linear map of z per channel before their BN; then a
  linear logit (no bias) of the (C, H, W) map. z enters every layer but the first and the logit.
- Theano pads symmetrically ((k - 1) // 2); Keras' "same" pads stride-2 layers one pixel more at
  the end, so convolutions pad explicitly and the deconvolutions crop their full output as the
  release's gradient-of-convolution does (2 pixels at the start, 1 at the end).
- BN: epsilon 1e-8; the release stores the sums of the batch statistics and their count.

Generalized BiGAN (`encoder_size=112`, train_imagenet_highres_encoder.sh): D sees the 112x112 crop
resized to 64x64 as the release's data.py does (PIL ANTIALIAS, a Lanczos filter; here Keras' lanczos3
with antialiasing: on uint8 noise images within half a grey level of PIL on average, single pixels up to 16
levels off, as PIL rounds and clips to uint8 between its horizontal and vertical passes).

`encoder_width` scales E's widths (96, 256, 384, 384, 256); values other than 1 are small test
configurations, not the release.
"""

from __future__ import annotations

import keras

from zoo.errors import ConfigError
from zoo.layers.pooling import PaddedMaxPooling2D
from zoo.models.bigan.bigan import bigan_triple

LATENT_DIM = 200
SIZE = 64  # --gen_net_size / --feat_net_size of train_imagenet.sh
EPSILON = 1e-8  # net.py BatchNorm
ENCODER = (("conv1", 96, 11, 4, 1), ("conv2", 256, 5, 1, 2), ("conv3", 384, 3, 1, 1), ("conv4", 384, 3, 1, 2),
           ("conv5", 256, 3, 1, 2))  # name, filters, kernel, stride, groups


def _init(std=0.02):
    return keras.initializers.RandomNormal(0.0, std)


def _bn(name):
    return keras.layers.BatchNormalization(epsilon=EPSILON, name=name)


def _conv(x, filters, k, stride, groups, name):
    """Theano's conv2d with pad (k - 1) // 2 on both sides (net.py get_pad('SAME'))."""
    pad = (k - 1) // 2
    x = keras.layers.ZeroPadding2D(pad, name=f"{name}_pad")(x) if pad else x
    return keras.layers.Conv2D(filters, k, strides=stride, groups=groups, use_bias=False, kernel_initializer=_init(),
                               name=name)(x)


def _to_unit_range(x, name):
    """sigmoid, then [0, 1] -> [-1, 1] (the release's dist.py and gen_transform)."""
    x = keras.layers.Activation("sigmoid", name=f"{name}_sigmoid")(x)
    return keras.layers.Rescaling(2.0, offset=-1.0, name=name)(x)


def release_encoder(latent_dim=LATENT_DIM, image_size=64, encoder_width=1.0, name="encoder"):
    """E of the release: alexnet_group_padpool -> linear -> 2 sigmoid - 1."""
    x = image = keras.Input((image_size, image_size, 3), name="image")
    for layer, filters, k, stride, groups in ENCODER:
        width = max(groups, int(round(filters * encoder_width / groups)) * groups)
        x = _conv(x, width, k, stride, groups, layer)
        if layer != "conv1":
            x = _bn(f"{layer}_bn")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"{layer}_lrelu")(x)
        if layer in ("conv1", "conv2"):
            x = PaddedMaxPooling2D(3, 2, 1, name=f"pool{layer[-1]}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(latent_dim, use_bias=False, kernel_initializer=_init(), name="fc_z")(x)
    return keras.Model(image, _to_unit_range(x, "code"), name=name)


def _plus_z(x, z, width, name, std):
    """apply_cond: a linear map of z added as a per-channel bias (std 0.02 k^2 at init)."""
    b = keras.layers.Dense(width, use_bias=False, kernel_initializer=_init(std), name=f"{name}_cond")(z)
    if len(x.shape) == 4:
        b = keras.layers.Reshape((1, 1, width), name=f"{name}_cond_map")(b)
    return keras.layers.Add(name=f"{name}_plus_z")([x, b])


def _deconv(x, filters, name):
    """5x5 stride-2 transposed convolution cropped as Theano's gradient of a pad-2 convolution."""
    x = keras.layers.Conv2DTranspose(filters, 5, strides=2, padding="valid", use_bias=False,
                                     kernel_initializer=_init(), name=name)(x)
    return keras.layers.Cropping2D(((2, 1), (2, 1)), name=f"{name}_crop")(x)


def release_generator(latent_dim=LATENT_DIM, size=SIZE, name="generator"):
    """G of the release (deconvnet_64): z -> 4x4 -> 64x64x3 in [-1, 1], z added at every deconvolution."""
    z = keras.Input((latent_dim,), name="noise")
    x = keras.layers.Dense(8 * size * 16, use_bias=False, kernel_initializer=_init(), name="fc")(z)
    x = keras.layers.ReLU(name="fc_relu")(_bn("fc_bn")(x))  # BN over the flat vector ("bn_flat")
    x = keras.layers.Permute((2, 3, 1), name="to_nhwc")(keras.layers.Reshape((8 * size, 4, 4), name="view")(x))
    for i, width in enumerate((4 * size, 2 * size, size), start=1):
        x = _plus_z(_deconv(x, width, f"deconv{i}"), z, width, f"deconv{i}", 0.02 * 25)
        x = keras.layers.ReLU(name=f"deconv{i}_relu")(_bn(f"deconv{i}_bn")(x))
    return keras.Model(z, _to_unit_range(_deconv(x, 3, "deconv4"), "image_out"), name=name)


def release_joint_discriminator(latent_dim=LATENT_DIM, size=SIZE, image_size=64, name="discriminator"):
    """D(x, z) of the release (convnet_64 conditioned on z) -> logit."""
    image = keras.Input((image_size, image_size, 3), name="image")
    z = keras.Input((latent_dim,), name="noise")
    x = keras.layers.LeakyReLU(0.2, name="conv1_lrelu")(_conv(image, size, 5, 2, 1, "conv1"))
    for i, width in enumerate((2 * size, 4 * size, 8 * size), start=2):
        x = _plus_z(_conv(x, width, 5, 2, 1, f"conv{i}"), z, width, f"conv{i}", 0.02 * 25)
        x = keras.layers.LeakyReLU(0.2, name=f"conv{i}_lrelu")(_bn(f"conv{i}_bn")(x))
    x = keras.layers.Flatten(name="flatten")(x)
    logit = keras.layers.Dense(1, use_bias=False, kernel_initializer=_init(), name="fc")(x)
    return keras.Model([image, z], logit, name=name)


def bigan_alexnet_release(latent_dim: int = LATENT_DIM, size: int = SIZE, encoder_size: int = 64,
                          encoder_width: float = 1.0):
    """The BiGAN release's ImageNet model (Donahue thesis §5.3.3): E, G, D(x, z) as jeffdonahue/bigan builds
    them; `encoder_size` 112 is the generalized BiGAN (D sees the image area-resized to 64)."""
    if encoder_size not in (64, 112):
        raise ConfigError(f"the release trains E on 64x64 (standard) or 112x112 (generalized) crops; got "
                          f"{encoder_size}")
    if size < 1 or latent_dim < 1 or encoder_width <= 0:
        raise ConfigError(f"need size >= 1, latent_dim >= 1 and encoder_width > 0; got {size}, {latent_dim}, "
                          f"{encoder_width}")
    encoder = release_encoder(latent_dim, encoder_size, encoder_width)
    generator = release_generator(latent_dim, size)
    discriminator = release_joint_discriminator(latent_dim, size)
    if encoder_size == 64:
        return bigan_triple(encoder, generator, discriminator, name="bigan_alexnet_release")
    from zoo.models.bigan.bigan_alexnet import _generalized

    # the release's data.py makes D's 64x64 image with PIL's ANTIALIAS (Lanczos) resize of E's 112x112 crop
    return _generalized(encoder, generator, discriminator, interpolation="lanczos3", antialias=True,
                        name="bigan_alexnet_release_generalized")
