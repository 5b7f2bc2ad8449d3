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
from zoo.registry import CAFFE_BGR_MEAN, InputContract, WeightsSpec, register

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
    """The conv layers conv1_1 .. pool5 of VGG `config` on `inputs`; returns {"pool1": ..., "pool5": ...}.

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
            x = keras.layers.Conv2D(channels(n, width), k, padding=padding, activation="relu", name=name)(x)
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


_PAPER = "Simonyan & Zisserman, Very Deep Convolutional Networks for Large-Scale Image Recognition, ICLR 2015"
_CONTRACT = InputContract(
    shape=(224, 224, 3),
    channel_order="BGR",
    mean=CAFFE_BGR_MEAN,
    note="the VGG Caffe release and keras.applications subtract (103.939, 116.779, 123.68) BGR",
)
_SLIDES = "Laptev CNN slides, VGG Table 1"


def _card(name, config, layers, aliases=(), numbers=None, weights=()):
    return register(
        name,
        family="vgg",
        paper=_PAPER,
        section=f"Sec. 2.3, Table 1, configuration {config}",
        task="classification",
        input_contract=_CONTRACT,
        paper_numbers={f"weight layers ({_SLIDES})": layers, **(numbers or {})},
        head_layers=("fc8",),
        default_num_classes=1000,
        aliases=aliases,
        test_kwargs={"width": 16, "num_classes": 5},
        test_input_shape=(224, 224, 3),
        slow=True,
        weights=weights,
    )


# The released weights of D and E. keras.applications ported the VGG team's Caffe weights; both expect
# keras.applications' 'caffe' mode, the mean pixel the VGG release states (gist readme: "the following BGR
# values should be subtracted: [103.939, 116.779, 123.68]").
_VGG_MEAN_CONTRACT = InputContract(
    shape=(224, 224, 3), channel_order="BGR", mean=(103.939, 116.779, 123.68),
    note="keras.applications 'caffe' mode: BGR minus the VGG release's mean pixel, not scaled",
)
_KERAS_APPS = "https://storage.googleapis.com/tensorflow/keras-applications"
_KERAS_SOURCE = ("keras.applications ({}.py: WEIGHTS_PATH and the md5 file_hash passed to get_file), "
                 "ported from the VGG release")
_KERAS_LICENSE = ("Creative Commons Attribution: 'The VGG16 and VGG19 weights are ported from the ones released by VGG "
                  "at Oxford under the Creative Commons Attribution License' (fchollet/deep-learning-models README)")
_OXFORD = "https://www.robots.ox.ac.uk/~vgg/software/very_deep/caffe"
_OXFORD_SOURCE = ("VGG, Oxford: gist ksimonyan/{}, caffemodel_url of its readme; the readme publishes no hash, "
                  "so the download is unverified and refused unless allowed (ZOO_ALLOW_UNVERIFIED=1)")
_OXFORD_LICENSE = "see http://www.robots.ox.ac.uk/~vgg/research/very_deep/ (the gist readme's license line)"


def _keras_weights(model, top_md5, metrics):
    """keras.applications' ImageNet weights of `model` ("vgg16" | "vgg19"), tag keras_imagenet (alias imagenet)."""
    return WeightsSpec(
        tag="keras_imagenet", aliases=("imagenet",),
        url=f"{_KERAS_APPS}/{model}/{model}_weights_tf_dim_ordering_tf_kernels.h5",
        file_hash=top_md5, hash_algorithm="md5", format="keras_applications_h5", num_classes=1000,
        source=_KERAS_SOURCE.format(model), license=_KERAS_LICENSE, preprocessing=_VGG_MEAN_CONTRACT,
        metrics={"ILSVRC-2012 val, 224x224 single center crop (released: keras.io/api/applications table)": metrics},
    )


def _oxford_weights(model, gist, metrics):
    """The VGG team's own Caffe release (VGG_ILSVRC_16_layers / _19_layers.caffemodel), tag vgg_caffe."""
    return WeightsSpec(
        tag="vgg_caffe", url=f"{_OXFORD}/{model}.caffemodel", file_hash=None, format="caffemodel", num_classes=1000,
        source=_OXFORD_SOURCE.format(gist), license=_OXFORD_LICENSE, preprocessing=_VGG_MEAN_CONTRACT,
        metrics=metrics,
    )


@_card("vgg_a", "A", 11, aliases=("vgg11",))
def vgg_a(num_classes=1000, input_shape=(224, 224, 3), width=1, classifier_activation=None):
    """VGG configuration A (VGG-11): 8 conv layers, 3 FC (Simonyan & Zisserman 2015, Table 1).

    Arguments as for `vgg_d`.
    """
    return _vgg("A", "vgg_a", num_classes=num_classes, input_shape=input_shape, width=width,
                classifier_activation=classifier_activation)


@_card("vgg_a_lrn", "A-LRN", 11)
def vgg_a_lrn(num_classes=1000, input_shape=(224, 224, 3), width=1, classifier_activation=None):
    """VGG configuration A-LRN: A with Local Response Normalization after conv1_1 (Table 1).

    Arguments as for `vgg_d`.
    """
    return _vgg("A", "vgg_a_lrn", num_classes=num_classes, input_shape=input_shape, width=width,
                classifier_activation=classifier_activation, lrn=True)


@_card("vgg_b", "B", 13, aliases=("vgg13",))
def vgg_b(num_classes=1000, input_shape=(224, 224, 3), width=1, classifier_activation=None):
    """VGG configuration B (VGG-13): two 3x3 convs in every block (Table 1).

    Arguments as for `vgg_d`.
    """
    return _vgg("B", "vgg_b", num_classes=num_classes, input_shape=input_shape, width=width,
                classifier_activation=classifier_activation)


@_card("vgg_c", "C", 16)
def vgg_c(num_classes=1000, input_shape=(224, 224, 3), width=1, classifier_activation=None):
    """VGG configuration C: B plus a 1x1 conv closing blocks 3-5 (Table 1).

    Arguments as for `vgg_d`.
    """
    return _vgg("C", "vgg_c", num_classes=num_classes, input_shape=input_shape, width=width,
                classifier_activation=classifier_activation)


@_card(
    "vgg_d", "D", 16, aliases=("vgg16",), numbers={"parameters (Laptev CNN slides, VGG-16 table)": "138M"},
    weights=(
        _keras_weights("vgg16", "64373286793e3c8b2b4e3219cbf3544b", {"top1_accuracy_%": 71.3, "top5_accuracy_%": 90.1}),
        _oxford_weights("VGG_ILSVRC_16_layers", "211839e770f7b538e2d8", {
            "ILSVRC-2012 val, dense single-scale evaluation at Q=384 (released: gist readme, paper Table 3)":
                {"top5_error_%": 8.1},
            "ILSVRC-2012 val / test, dense multi-scale evaluation (released: gist readme, paper Table 4)":
                {"top5_error_%_val": 7.5, "top5_error_%_test": 7.4},
        }),
    ),
)
def vgg_d(num_classes=1000, input_shape=(224, 224, 3), width=1, classifier_activation=None):
    """VGG configuration D (VGG-16): three 3x3 convs in blocks 3-5 (Table 1).

    Args (the same for every configuration):
        num_classes: fc8's outputs (1000 for ILSVRC).
        input_shape: (H, W, 3), BGR minus the mean; fixed, because fc6 is dense over pool5.
        width: divides every channel count (conv and FC) for small test or demo nets; 1 is
            the paper's net.
        classifier_activation: None for fc8 logits, or e.g. "softmax" for Caffe's `prob`.
    """
    return _vgg("D", "vgg_d", num_classes=num_classes, input_shape=input_shape, width=width,
                classifier_activation=classifier_activation)


@_card(
    "vgg_e", "E", 19, aliases=("vgg19",),
    weights=(
        _keras_weights("vgg19", "cbe5617147190e668d6c5d5026f83318", {"top1_accuracy_%": 71.3, "top5_accuracy_%": 90.0}),
        _oxford_weights("VGG_ILSVRC_19_layers", "3785162f95cd2d5fee77", {}),
    ),
)
def vgg_e(num_classes=1000, input_shape=(224, 224, 3), width=1, classifier_activation=None):
    """VGG configuration E (VGG-19): four 3x3 convs in blocks 3-5 (Table 1).

    Arguments as for `vgg_d`.
    """
    return _vgg("E", "vgg_e", num_classes=num_classes, input_shape=input_shape, width=width,
                classifier_activation=classifier_activation)
