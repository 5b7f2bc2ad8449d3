"""GoogLeNet (Szegedy et al. 2015, "Going deeper with convolutions"), as released by BVLC.

The layers, widths and names follow `bvlc_googlenet/deploy.prototxt` and the paper's Table 1,
with Caffe's '/' replaced by '_' (Keras names cannot contain '/'): `inception_3a/1x1` is
`inception_3a_1x1`, the classifier `loss3/classifier` is `loss3_classifier`. ReLUs are the conv
layers' activations (Caffe's are in place, so its blobs are the rectified outputs too).

The release keeps the two LRN layers (pool1/norm1, conv2/norm2) and pools with Caffe's
ceil-mode rounding, which matters here: 112 → 56 after pool1 (floor would give 55).
The auxiliary classifiers (§5) exist only for training; with `aux_logits=True` the model returns
[main, aux1, aux2] logits, and the training loss weighs the auxiliary ones by 0.3.
"""

from __future__ import annotations

import keras

from zoo.errors import ConfigError
from zoo.layers.lrn import LocalResponseNormalization
from zoo.layers.pooling import CaffeMaxPooling2D

# Table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
INCEPTION = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}
_POOL_BEFORE = {"4a": "pool3_3x3_s2", "5a": "pool4_3x3_s2"}


def _w(channels, width):
    if width < 1 or channels % width:
        raise ConfigError(f"width must be a positive divisor of {channels}, got {width}")
    return channels // width


def _conv(x, channels, kernel, name, strides=1, padding="same"):
    return keras.layers.Conv2D(channels, kernel, strides=strides, padding=padding, activation="relu", name=name)(x)


def inception(x, name, widths, width):
    """One Inception module (Fig. 2b): 1x1 | 1x1→3x3 | 1x1→5x5 | 3x3 max pool→1x1, concatenated."""
    c1, r3, c3, r5, c5, pp = (_w(c, width) for c in widths)
    p = f"inception_{name}_"
    b1 = _conv(x, c1, 1, p + "1x1")
    b3 = _conv(_conv(x, r3, 1, p + "3x3_reduce"), c3, 3, p + "3x3")
    b5 = _conv(_conv(x, r5, 1, p + "5x5_reduce"), c5, 5, p + "5x5")
    # 3x3/1 pad 1: Caffe's ceil rounding and Keras' "same" give the same windows at stride 1.
    bp = keras.layers.MaxPooling2D(3, strides=1, padding="same", name=p + "pool")(x)
    bp = _conv(bp, pp, 1, p + "pool_proj")
    return keras.layers.Concatenate(name=p + "output")([b1, b3, b5, bp])


def _aux_head(x, index, num_classes, width):
    """§5: 5x5/3 average pool, 1x1 conv 128, fc 1024, dropout 0.7, linear classifier."""
    if None in tuple(x.shape[1:3]):
        raise ConfigError(
            f"aux_logits=True needs a fixed input size (the auxiliary fc reads a flattened map); got {x.shape}"
        )
    p = f"loss{index}_"
    x = keras.layers.AveragePooling2D(5, strides=3, name=p + "ave_pool")(x)
    x = _conv(x, _w(128, width), 1, p + "conv")
    x = keras.layers.Flatten(name=p + "flatten")(x)
    x = keras.layers.Dense(_w(1024, width), activation="relu", name=p + "fc")(x)
    x = keras.layers.Dropout(0.7, name=p + "drop_fc")(x)
    return keras.layers.Dense(num_classes, name=p + "classifier")(x)


def googlenet(
    num_classes=1000, input_shape=(224, 224, 3), include_top=True, aux_logits=False, width=1, classifier_activation=None
):
    """GoogLeNet: stem with LRN, nine Inception modules (3a–5b), average pool, dropout 0.4, fc.

    Szegedy et al. 2015 Table 1 and the bvlc_googlenet release: conv1 7×7/2 (112) → pool 3/2
    (56) → norm1 → conv2 1×1 64, 3×3 192 → norm2 → pool (28) → 3a, 3b → pool (14) → 4a–4e →
    pool (7) → 5a, 5b (7×7×1024) → average pool → dropout 0.4 → loss3_classifier.
    6,998,552 parameters with 1000 classes, 13,378,280 with the two auxiliary heads.

    The 7×7 average pool is a global average pool, identical at 224×224 and defined at other
    sizes. The auxiliary heads (on 4a and 4d) need a fixed input size, since their fc reads a
    flattened 4×4×128 map at 224×224.

    Args:
        num_classes: classifier size (also of the auxiliary classifiers).
        input_shape: (H, W, 3), BGR minus the ILSVRC mean; 224×224 in the paper.
        include_top: False ends at inception_5b_output.
        aux_logits: also return the auxiliary classifiers' logits: [main, aux1, aux2].
        width: divides every layer's width (small test configurations).
        classifier_activation: None for logits, or e.g. "softmax" for Caffe's `prob` (on every head).
    """
    if aux_logits and not include_top:
        raise ConfigError("aux_logits=True needs include_top=True: the auxiliary heads are classifiers")
    x = inputs = keras.Input(input_shape, name="data")
    x = keras.layers.ZeroPadding2D(3, name="conv1_7x7_s2_pad")(x)
    x = _conv(x, _w(64, width), 7, "conv1_7x7_s2", strides=2, padding="valid")
    x = CaffeMaxPooling2D(3, 2, name="pool1_3x3_s2")(x)
    x = LocalResponseNormalization(5, alpha=1e-4, beta=0.75, name="pool1_norm1")(x)
    x = _conv(x, _w(64, width), 1, "conv2_3x3_reduce")
    x = _conv(x, _w(192, width), 3, "conv2_3x3")
    x = LocalResponseNormalization(5, alpha=1e-4, beta=0.75, name="conv2_norm2")(x)
    x = CaffeMaxPooling2D(3, 2, name="pool2_3x3_s2")(x)
    aux = []
    for name, widths in INCEPTION.items():
        if name in _POOL_BEFORE:
            x = CaffeMaxPooling2D(3, 2, name=_POOL_BEFORE[name])(x)
        x = inception(x, name, widths, width)
        if aux_logits and name in ("4a", "4d"):
            aux.append(_aux_head(x, len(aux) + 1, num_classes, width))
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="pool5_7x7_s1")(x)
        x = keras.layers.Dropout(0.4, name="pool5_drop_7x7_s1")(x)
        x = keras.layers.Dense(num_classes, name="loss3_classifier")(x)
    heads = [x, *aux]
    if include_top and classifier_activation is not None:
        names = ["prob", "loss1_prob", "loss2_prob"]
        heads = [keras.layers.Activation(classifier_activation, name=n)(h) for n, h in zip(names, heads)]
    return keras.Model(inputs, heads if aux_logits else heads[0], name="googlenet")
