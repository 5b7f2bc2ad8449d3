"""BVLC AlexNet and CaffeNet (Krizhevsky et al. 2012, as released with Caffe), and ZFNet.

Layer names are Caffe's (conv1, norm1, pool1, ..., fc6, fc7, fc8), so released `.caffemodel`
weights load by name. Caffe's ReLUs are in place, so its blob `fc6` is the rectified output: here
the ReLU is the conv/dense layer's own activation and the tap `fc6` is that same blob (DeCAF6;
`fc7` is DeCAF7, Donahue thesis §2.2). The models return logits (`fc8`); Caffe's `prob` softmax
is added with `classifier_activation="softmax"`.

Two Caffe details matter for fidelity (BVLC/caffe `models/bvlc_alexnet/deploy.prototxt`):
- conv2, conv4 and conv5 have `group: 2` (the two GPU streams of the paper): `Conv2D(groups=2)`
  splits channels exactly as Caffe does.
- Max pooling rounds output sizes up (`CaffeMaxPooling2D`). At 227×227 ceil and floor agree
  (55 → 27 → 13 → 6); at other sizes only ceil matches Caffe.
Caffe's fc6 reads pool5 in (C, H, W) order; `Flatten` here is (H, W, C), so a weights converter
must reorder fc6's rows.
"""

from __future__ import annotations

import functools

import keras

from zoo.errors import ConfigError
from zoo.layers.lrn import LocalResponseNormalization
from zoo.layers.pooling import CaffeMaxPooling2D


def scaled(channels: int, width: int) -> int:
    """`channels` / `width`, for the small test configurations; must divide exactly."""
    if width < 1 or channels % width:
        raise ConfigError(f"width must be a positive divisor of {channels}, got {width}")
    return channels // width


def classifier(x, num_classes, fc_units, width, classifier_activation, first_fc=6):
    """Flatten -> (fc, ReLU, dropout 0.5) per entry of `fc_units` -> fc logits (fc6, drop6, ..., fc8)."""
    if None in tuple(x.shape[1:3]):
        raise ConfigError(
            f"the fully connected layers read a flattened {x.shape[1:]} map, so input_shape needs a fixed size; "
            "use include_top=False for other sizes"
        )
    x = keras.layers.Flatten(name="flatten")(x)
    index = first_fc
    for units in fc_units:
        x = keras.layers.Dense(scaled(units, width), activation="relu", name=f"fc{index}")(x)
        x = keras.layers.Dropout(0.5, name=f"drop{index}")(x)
        index += 1
    x = keras.layers.Dense(num_classes, name=f"fc{index}")(x)
    if classifier_activation is not None:
        x = keras.layers.Activation(classifier_activation, name="prob")(x)
    return x


def _bvlc(name, norm_first, num_classes, input_shape, include_top, width, classifier_activation, fc_units=(4096, 4096)):
    """The shared body of AlexNet (LRN before pooling) and CaffeNet (pooling before LRN)."""
    w = functools.partial(scaled, width=width)
    x = inputs = keras.Input(input_shape, name="data")

    def norm_and_pool(x, i):
        norm = LocalResponseNormalization(5, alpha=1e-4, beta=0.75, name=f"norm{i}")
        pool = CaffeMaxPooling2D(3, 2, name=f"pool{i}")
        return pool(norm(x)) if norm_first else norm(pool(x))

    x = keras.layers.Conv2D(w(96), 11, strides=4, activation="relu", name="conv1")(x)
    x = norm_and_pool(x, 1)
    x = keras.layers.Conv2D(w(256), 5, padding="same", groups=2, activation="relu", name="conv2")(x)
    x = norm_and_pool(x, 2)
    x = keras.layers.Conv2D(w(384), 3, padding="same", activation="relu", name="conv3")(x)
    x = keras.layers.Conv2D(w(384), 3, padding="same", groups=2, activation="relu", name="conv4")(x)
    x = keras.layers.Conv2D(w(256), 3, padding="same", groups=2, activation="relu", name="conv5")(x)
    x = CaffeMaxPooling2D(3, 2, name="pool5")(x)
    if include_top:
        x = classifier(x, num_classes, fc_units, width, classifier_activation)
    return keras.Model(inputs, x, name=name)


def alexnet(num_classes=1000, input_shape=(227, 227, 3), include_top=True, width=1, classifier_activation=None):
    """BVLC AlexNet: five conv layers (conv2/4/5 in two groups) with LRN before pooling, fc6-fc8.

    Krizhevsky et al. 2012 §3, as released by BVLC (`models/bvlc_alexnet/deploy.prototxt`):
    conv1 96×11×11/4 → ReLU → norm1 → pool1 3/2 → conv2 256×5×5 (group 2) → norm2 → pool2 →
    conv3 384×3×3 → conv4 384×3×3 (group 2) → conv5 256×3×3 (group 2) → pool5 (6×6×256 at 227)
    → fc6 4096 → fc7 4096 → fc8. 60,965,224 parameters with 1000 classes.

    Args:
        num_classes: size of fc8.
        input_shape: (H, W, 3), BGR minus the ILSVRC mean; 227×227 in the release.
        include_top: False ends at pool5 (the DeCAF5 tap); other input sizes then work.
        width: divides every layer's width (small test configurations); 1 is the paper's net.
        classifier_activation: None for fc8 logits, or e.g. "softmax" for Caffe's `prob`.
    """
    return _bvlc("alexnet", True, num_classes, input_shape, include_top, width, classifier_activation)


def caffenet(num_classes=1000, input_shape=(227, 227, 3), include_top=True, width=1, classifier_activation=None):
    """CaffeNet (bvlc_reference_caffenet): AlexNet with pooling before LRN; the DeCAF/R-CNN backbone.

    "A minor variant of AlexNet" (Donahue thesis §4.3): conv1 → ReLU → pool1 → norm1, and the
    same for conv2 (BVLC/caffe `models/bvlc_reference_caffenet/deploy.prototxt`). Same layers and parameter count
    (60,965,224) as `alexnet`. Taps: pool5, fc6, fc7 (DeCAF5/6/7).

    Args: as `alexnet`.
    """
    return _bvlc("caffenet", False, num_classes, input_shape, include_top, width, classifier_activation)


def zfnet(num_classes=1000, input_shape=(224, 224, 3), include_top=True, width=1, classifier_activation=None):
    """ZFNet: AlexNet with a 7×7/2 first layer and 5×5/2 second layer, dense (ungrouped) convs.

    Zeiler & Fergus 2014, Fig. 3: a 224×224 crop → layer 1: 96 filters 7×7 stride 2 (110×110),
    ReLU, max pool 3×3 stride 2, contrast normalisation across feature maps → 96 maps of 55×55;
    layer 2: 256 filters 5×5 stride 2 (26×26), pool, normalisation → 13×13; layers 3, 4, 5:
    384, 384, 256 filters 3×3 (13×13); pool → 6×6×256 = 9216 inputs to fc6 4096, fc7 4096.

    The figure's sizes fix two choices: conv1 pads 1 pixel ((224 + 2 − 7) // 2 + 1 = 110), and
    pooling rounds up as Caffe does (110 → 55 and 26 → 13; rounding down gives 54 and 12).
    The paper gives no normalisation constants; AlexNet's LRN (5, 1e-4, 0.75) is used. The
    layers follow CaffeNet's names and order (pool before norm).

    Args: as `alexnet`; `input_shape` defaults to 224×224.
    """
    w = functools.partial(scaled, width=width)
    x = inputs = keras.Input(input_shape, name="data")
    x = keras.layers.ZeroPadding2D(1, name="conv1_pad")(x)
    x = keras.layers.Conv2D(w(96), 7, strides=2, activation="relu", name="conv1")(x)
    x = CaffeMaxPooling2D(3, 2, name="pool1")(x)
    x = LocalResponseNormalization(5, alpha=1e-4, beta=0.75, name="norm1")(x)
    x = keras.layers.Conv2D(w(256), 5, strides=2, activation="relu", name="conv2")(x)
    x = CaffeMaxPooling2D(3, 2, name="pool2")(x)
    x = LocalResponseNormalization(5, alpha=1e-4, beta=0.75, name="norm2")(x)
    x = keras.layers.Conv2D(w(384), 3, padding="same", activation="relu", name="conv3")(x)
    x = keras.layers.Conv2D(w(384), 3, padding="same", activation="relu", name="conv4")(x)
    x = keras.layers.Conv2D(w(256), 3, padding="same", activation="relu", name="conv5")(x)
    x = CaffeMaxPooling2D(3, 2, name="pool5")(x)
    if include_top:
        x = classifier(x, num_classes, (4096, 4096), width, classifier_activation)
    return keras.Model(inputs, x, name="zfnet")
