"""The BiGAN encoder as a supervised AlexNet, for the transfer experiments of Donahue thesis §5.3.3:
Table 5.2 (Noroozi & Favaro 2016's protocol: conv1..convk frozen, the rest re-initialised and trained
on ImageNet) and Table 5.3 (VOC 2007 classification training fc8 only, fc6-fc8 or all layers;
Fast R-CNN and FCN initialised from E).

The net is the release's caffemodels/alexnet_train_nolrn_lrelu.prototxt: CaffeNet without LRN,
leaky ReLU 0.2 after every conv and fc, conv2 / conv4 / conv5 in two groups, Caffe's ceil-mode
pools, fc6 / fc7 4096 with dropout 0.5, input 227x227 in [-1, 1] (mean 127.5, scale 1/127.5).
E's BN is folded into the conv weights and biases (zoo.export.fold_bn) when the encoder is loaded
(`load_bigan_encoder`); the conv weights do not depend on the input size, so E trained at 64x64
serves a 227x227 net. The release re-initialises fc6-fc8 with Krähenbühl et al.'s data-dependent
"magic init"; here they keep the prototxt's Gaussian fillers (std 0.005 for fc6 / fc7, 0.01 for fc8),
a difference stated, not hidden.

`train_from` is the first layer that trains; every layer before it is frozen: "conv1" (all layers),
"conv2".."conv5" (Table 5.2's columns conv1..conv4 frozen), "fc6" (conv1-conv5 frozen: Table 5.2's
conv5 column and Table 5.3's fc6-8), "fc8" (Table 5.3's fc8 column).
"""

from __future__ import annotations

import keras

from zoo.errors import ConfigError
from zoo.layers.pooling import CaffeMaxPooling2D

LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")
CONVS = (("conv1", 96, 11, 4, "valid", 1, 0.0), ("conv2", 256, 5, 1, "same", 2, 1.0),
         ("conv3", 384, 3, 1, "same", 1, 0.0), ("conv4", 384, 3, 1, "same", 2, 1.0),
         ("conv5", 256, 3, 1, "same", 2, 1.0))  # name, filters, kernel, stride, padding, groups, bias filler


def bigan_alexnet_transfer(num_classes: int = 1000, train_from: str = "conv1", input_shape=(227, 227, 3),
                           fc_units: int = 4096):
    """AlexNet of the BiGAN release (no LRN, leaky ReLU) with the layers before `train_from` frozen
    (Donahue thesis §5.3.3, Tables 5.2 / 5.3)."""
    if train_from not in LAYERS or train_from == "fc7":
        raise ConfigError(f"train_from must be one of {', '.join(l for l in LAYERS if l != 'fc7')}; got {train_from!r}")
    frozen = set(LAYERS[:LAYERS.index(train_from)])
    x = image = keras.Input(tuple(input_shape), name="data")
    for name, filters, k, stride, padding, groups, bias in CONVS:
        x = keras.layers.Conv2D(filters, k, strides=stride, padding=padding, groups=groups, name=name,
                                kernel_initializer=keras.initializers.RandomNormal(0.0, 0.01),
                                bias_initializer=keras.initializers.Constant(bias), trainable=name not in frozen)(x)
        x = keras.layers.LeakyReLU(0.2, name=f"relu{name[-1]}")(x)
        if name in ("conv1", "conv2", "conv5"):
            x = CaffeMaxPooling2D(3, 2, name=f"pool{name[-1]}")(x)
    if None in tuple(x.shape[1:3]):
        raise ConfigError("the fully connected layers need a fixed input_shape")
    x = keras.layers.Flatten(name="flatten")(x)
    for name in ("fc6", "fc7"):
        x = keras.layers.Dense(fc_units, name=name, kernel_initializer=keras.initializers.RandomNormal(0.0, 0.005),
                               bias_initializer=keras.initializers.Constant(1.0), trainable=name not in frozen)(x)
        x = keras.layers.Dropout(0.5, name=f"drop{name[-1]}")(keras.layers.LeakyReLU(0.2, name=f"relu{name[-1]}")(x))
    logits = keras.layers.Dense(num_classes, name="fc8", kernel_initializer=keras.initializers.RandomNormal(0.0, 0.01))(x)
    return keras.Model(image, logits, name=f"bigan_alexnet_transfer_from_{train_from}")
