"""VGG: Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition",
ICLR 2015, Table 1 (configurations A, A-LRN, B, C, D, E), as laid out in the Caffe release.

Every conv has stride 1 and Caffe pad (k - 1) / 2 ("same"), followed by ReLU; each of the five
blocks ends in a 2x2 stride-2 max pool. The classifier is FC-4096, FC-4096, FC-classes with
dropout 0.5 after the first two (the Caffe release's drop6/drop7). Layer names are the Caffe
release's: conv1_1 .. conv5_4, pool1 .. pool5, fc6, fc7, fc8, so pool3/pool4/pool5/fc6/fc7 are
reachable by name as features (DeCAF-style transfer, FCN skips).

The model outputs fc8 logits; `classifier_activation="softmax"` adds Caffe's `prob`.
"""

from __future__ import annotations

import keras

from zoo.errors import ConfigError
from zoo.layers.lrn import LocalResponseNormalization
from zoo.layers.pooling import CaffeMaxPooling2D

# Table 1: per block, the (channels, kernel) of each conv. C adds a 1x1 conv to blocks 3-5.
_B = [[(64, 3)] * 2, [(128, 3)] * 2, [(256, 3)] * 2, [(512, 3)] * 2, [(512, 3)] * 2]
CONFIGS = {
    "A": [[(64, 3)], [(128, 3)], [(256, 3)] * 2, [(512, 3)] * 2, [(512, 3)] * 2],
    "B": _B,
    "C": _B[:2] + [b + [(b[0][0], 1)] for b in _B[2:]],
    "D": _B[:2] + [b + [(b[0][0], 3)] for b in _B[2:]],
    "E": _B[:2] + [b + [(b[0][0], 3)] * 2 for b in _B[2:]],
}
FC_UNITS = 4096


def channels(n: int, width: int) -> int:
    """`n` channels divided by the reduced-`width` factor (1 = the paper's net)."""
    if int(width) != width or width < 1 or n % width:
        raise ConfigError(f"width must be a positive integer dividing every channel count (64 ... 4096), got {width!r}")
    return n // int(width)


def vgg_trunk(inputs, config: str = "D", *, width: int = 1, first_pad: int = 1, lrn: bool = False) -> dict:
    """The conv layers conv1_1 .. pool5 of VGG `config` on `inputs`; returns {"pool1": ..., "pool5": ...}
    and every conv layer's output by its name ("conv2_2", ...: the region pathways' taps, Long §4.4.1).

    Pooling is Caffe's (ceil-mode sizes, `CaffeMaxPooling2D`), which equals Keras' at 224x224
    and keeps Caffe's sizes at any other input. `first_pad` is conv1_1's Caffe pad: 1 for the
    classifier, 100 for FCN (reference code voc-fcn*/net.py). `lrn` puts Local Response
    Normalization after conv1_1 (configuration A-LRN).
    """
    if config not in CONFIGS:
        raise ConfigError(f"unknown VGG configuration {config!r}; expected one of {', '.join(CONFIGS)}")
    x, taps = inputs, {}
    for block, convs in enumerate(CONFIGS[config], start=1):
        for i, (n, k) in enumerate(convs, start=1):
            name = f"conv{block}_{i}"
            padding = "same"
            if (block, i) == (1, 1) and first_pad != 1:
                x = keras.layers.ZeroPadding2D(first_pad, name=f"{name}_pad")(x)
                padding = "valid"
            x = taps[name] = keras.layers.Conv2D(channels(n, width), k, padding=padding, activation="relu", name=name)(x)
            if lrn and (block, i) == (1, 1):
                # The paper uses the LRN parameters of Krizhevsky et al. 2012 (Sec. 3.3: n=5,
                # alpha=1e-4, beta=0.75, k=2, sum not divided by n); in Caffe's convention,
                # which divides alpha by n, that is alpha=5e-4. [recalled from Krizhevsky et al.]
                x = LocalResponseNormalization(size=5, alpha=5e-4, beta=0.75, k=2.0, name="norm1")(x)
        x = taps[f"pool{block}"] = CaffeMaxPooling2D(2, 2, name=f"pool{block}")(x)
    return taps


def _vgg(config, name, *, num_classes, input_shape, width, classifier_activation, lrn=False):
    if None in tuple(input_shape)[:2]:
        raise ConfigError(
            f"{name}'s fc6 is a dense layer over pool5, so input_shape needs a fixed size (the paper's is 224x224x3); "
            f"got {tuple(input_shape)}. For any input size use an FCN (zoo.get('fcn32s'))."
        )
    inputs = keras.Input(input_shape, name="data")
    x = vgg_trunk(inputs, config, width=width, lrn=lrn)["pool5"]
    x = keras.layers.Flatten(name="flatten")(x)
    for fc, drop in (("fc6", "drop6"), ("fc7", "drop7")):
        x = keras.layers.Dense(channels(FC_UNITS, width), activation="relu", name=fc)(x)
        x = keras.layers.Dropout(0.5, name=drop)(x)
    x = keras.layers.Dense(num_classes, name="fc8")(x)
    if classifier_activation is not None:
        x = keras.layers.Activation(classifier_activation, name="prob")(x)
    return keras.Model(inputs, x, name=name)


def vgg11(num_classes=1000, input_shape=(224, 224, 3), width=1, classifier_activation=None):
    """VGG configuration A (VGG-11): 8 conv layers, 3 FC (Simonyan & Zisserman 2015, Table 1).

    Arguments as for `vgg16`.
    """
    return _vgg("A", "vgg11", num_classes=num_classes, input_shape=input_shape, width=width,
                classifier_activation=classifier_activation)


def vgg_a_lrn(num_classes=1000, input_shape=(224, 224, 3), width=1, classifier_activation=None):
    """VGG configuration A-LRN: A with Local Response Normalization after conv1_1 (Table 1).

    Arguments as for `vgg16`.
    """
    return _vgg("A", "vgg_a_lrn", num_classes=num_classes, input_shape=input_shape, width=width,
                classifier_activation=classifier_activation, lrn=True)


def vgg13(num_classes=1000, input_shape=(224, 224, 3), width=1, classifier_activation=None):
    """VGG configuration B (VGG-13): two 3x3 convs in every block (Table 1).

    Arguments as for `vgg16`.
    """
    return _vgg("B", "vgg13", num_classes=num_classes, input_shape=input_shape, width=width,
                classifier_activation=classifier_activation)


def vgg_c(num_classes=1000, input_shape=(224, 224, 3), width=1, classifier_activation=None):
    """VGG configuration C: B plus a 1x1 conv closing blocks 3-5 (Table 1).

    Arguments as for `vgg16`.
    """
    return _vgg("C", "vgg_c", num_classes=num_classes, input_shape=input_shape, width=width,
                classifier_activation=classifier_activation)


def vgg16(num_classes=1000, input_shape=(224, 224, 3), width=1, classifier_activation=None):
    """VGG configuration D (VGG-16): three 3x3 convs in blocks 3-5 (Table 1).

    Args (the same for every configuration):
        num_classes: fc8's outputs (1000 for ILSVRC).
        input_shape: (H, W, 3), BGR minus the mean; fixed, because fc6 is dense over pool5.
        width: divides every channel count (conv and FC) for small test or demo nets; 1 is
            the paper's net.
        classifier_activation: None for fc8 logits, or e.g. "softmax" for Caffe's `prob`.
    """
    return _vgg("D", "vgg16", num_classes=num_classes, input_shape=input_shape, width=width,
                classifier_activation=classifier_activation)


def vgg19(num_classes=1000, input_shape=(224, 224, 3), width=1, classifier_activation=None):
    """VGG configuration E (VGG-19): four 3x3 convs in blocks 3-5 (Table 1).

    Arguments as for `vgg16`.
    """
    return _vgg("E", "vgg19", num_classes=num_classes, input_shape=input_shape, width=width,
                classifier_activation=classifier_activation)
