"""WEAK SUP networks (Oquab thesis §4.2, Fig. 4-2, §4.4): a sliding-window classifier as convolutions.

The Ch. 3 network (C1-C5, FC6, FC7, FCa, FCb) with every layer a convolution (§4.2.1, §4.4):
fc6 covers pool5's 6x6 (OverFeat accurate: pool6's 5x5), fc7 / fca / fcb are 1x1 convolutions,
so an H x W image gives an h x w x K map of class scores, one per 224x224 window at stride 32
(§4.2.1: 256x256 -> 2x2, 2048x1024 -> 58x26; OverFeat: stride 36). A global max pooling
(§4.2.2) keeps each class's best window: the image-level score f_k(x) of the loss (Eq. 4.1),
computed by the `weak_sup` task (zoo.tasks.weak_sup).

- C1-C7 are pre-trained on ImageNet and kept fixed (§4.3): `train_trunk=False` (the default)
  freezes them, so only the adaptation layers fca / fcb train.
- The adaptation layers use dropout that zeros whole feature maps with probability 0.5 (§4.4,
  SpatialDropout), on the input of each: `drop7` (before fca) and `dropa` (before fcb).
- Widths (thesis Ch. 3, kept by Ch. 4, which does not restate them): fc6 / fc7 6144 for the
  1512-class ImageNet net, fca 2048, fcb K (multi-label: no background class). OverFeat
  (Sermanet et al. 2014, Table 3): fc7 / fc8 4096.

The trunk of `weak_sup_alexnet1512` is Krizhevsky et al.'s 2012 AlexNet as zoo.models.alexnet
builds it (LRN, conv2/4/5 in two groups, pooling rounded up as in Caffe and cuda-convnet): the
thesis gives no paddings or groups (App. B.6.2), and with pooling rounded up the map sizes are
exactly §4.2.1's (tests/models/test_weak_sup.py). Outputs: [scores (N, K): the max over
positions, score_map (N, h, w, K)], both raw (pre-sigmoid, Eq. 4.2).
"""

from __future__ import annotations

import keras

from zoo.errors import ConfigError
from zoo.models.alexnet.alexnet import alexnet, scaled
from zoo.models.alexnet.overfeat import overfeat_accurate


def adaptation_head(x, *, num_classes, fc_units, adaptation_units, fc6_kernel, width, first_fc=6):
    """fc6 (fc6_kernel x fc6_kernel) and fc7 (1x1) as convolutions with ReLU, then the adaptation
    layers fca (1x1, ReLU) and fcb (1x1, K scores), each after a SpatialDropout2D(0.5) (§4.4).

    The source network's own dropout after fc6 is kept (Krizhevsky et al. 2012, as Ch. 3 trains it);
    `first_fc` numbers the two source layers (OverFeat accurate: fc7, fc8). Returns the score map.
    """
    a, b = f"fc{first_fc}", f"fc{first_fc + 1}"
    x = keras.layers.Conv2D(scaled(fc_units, width), fc6_kernel, activation="relu", name=a)(x)
    x = keras.layers.Dropout(0.5, name=f"drop{first_fc}")(x)
    x = keras.layers.Conv2D(scaled(fc_units, width), 1, activation="relu", name=b)(x)
    x = keras.layers.SpatialDropout2D(0.5, name=f"drop{first_fc + 1}")(x)
    x = keras.layers.Conv2D(scaled(adaptation_units, width), 1, activation="relu", name="fca")(x)
    x = keras.layers.SpatialDropout2D(0.5, name="dropa")(x)
    return keras.layers.Conv2D(num_classes, 1, name="fcb")(x)


def _finish(trunk, score_map, name, train_trunk, trunk_layers):
    scores = keras.layers.GlobalMaxPooling2D(name="global_max")(score_map)
    model = keras.Model(trunk.input, [scores, score_map], name=name)
    if not train_trunk:  # §4.3: C1-C7 pre-trained on ImageNet and kept fixed
        for layer in model.layers:
            if layer.name in trunk_layers:
                layer.trainable = False
    return model


def _check(num_classes, input_shape):
    if num_classes < 1:
        raise ConfigError(f"num_classes must be >= 1, got {num_classes}")
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ConfigError(f"input_shape is (H, W, 3) with None for a free size, got {input_shape}")


def weak_sup_alexnet1512(num_classes=20, input_shape=(None, None, 3), width=1, fc_units=6144,
                         adaptation_units=2048, train_trunk=False):
    """WEAK SUP on the AlexNet-1512 trunk (Oquab thesis §4.2, §4.5.1: "a network pre-trained on 1512
    classes of ImageNet following Chapter 3"), for PASCAL VOC's 20 classes.

    conv1-pool5 (AlexNet, 224x224 window) -> fc6 6x6 conv 6144 -> fc7 1x1 6144 -> SpatialDropout ->
    fca 1x1 2048 -> SpatialDropout -> fcb 1x1 K -> global max. Stride 32: 224 -> 1x1, 256 -> 2x2,
    2048x1024 -> 58x26 (§4.2.1).

    Args:
        num_classes: K, one binary classifier per class (20 for VOC).
        input_shape: (H, W, 3), BGR minus the ILSVRC mean; any H, W >= 224.
        width: divides every layer's width (small test configurations); 1 is the paper's net.
        fc_units: fc6 / fc7 width (6144 for the 1512-class net, 4096 for the 1000-class one).
        adaptation_units: fca width (2048, Ch. 3).
        train_trunk: False keeps conv1-fc7 fixed as §4.3 does; True trains every layer.
    """
    _check(num_classes, input_shape)
    trunk = alexnet(include_top=False, input_shape=tuple(input_shape), width=width)
    score_map = adaptation_head(trunk.output, num_classes=num_classes, fc_units=fc_units,
                                adaptation_units=adaptation_units, fc6_kernel=6, width=width)
    frozen = {layer.name for layer in trunk.layers} | {"fc6", "fc7"}
    return _finish(trunk, score_map, "weak_sup_alexnet1512", train_trunk, frozen)


def weak_sup_overfeat(num_classes=80, input_shape=(None, None, 3), width=1, fc_units=4096,
                      adaptation_units=2048, train_trunk=False):
    """WEAK SUP on OverFeat (Oquab thesis §4.5.1: "for COCO, we use the Overfeat network"), stride 36.

    The accurate model (Sermanet et al. 2014, Table 3; the "9 layers" net of the thesis' §2):
    conv1-pool6 (221x221 window, pooling 3, 2, 3 after conv1, conv2, conv6: stride 2*3*2*3 = 36,
    the "36 pixels" of §4.2.1) -> fc7 5x5 conv 4096 -> fc8 1x1 4096 -> fca 2048 -> fcb K -> global max.

    Args: as `weak_sup_alexnet1512`; num_classes 80 (COCO), input any H, W >= 221, fc_units 4096.
    """
    _check(num_classes, input_shape)
    trunk = overfeat_accurate(include_top=False, input_shape=tuple(input_shape), width=width)
    score_map = adaptation_head(trunk.output, num_classes=num_classes, fc_units=fc_units,
                                adaptation_units=adaptation_units, fc6_kernel=5, width=width, first_fc=7)
    frozen = {layer.name for layer in trunk.layers} | {"fc7", "fc8"}
    return _finish(trunk, score_map, "weak_sup_overfeat", train_trunk, frozen)
