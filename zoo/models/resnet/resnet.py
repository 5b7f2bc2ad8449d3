"""ResNet-18/34/50/101/152 and PlainNet-18/34 (He, Zhang, Ren, Sun 2016, CVPR, §3–§4, Table 1).

Layer names follow keras.applications' ResNet50/101/152 (`conv1_conv`, `conv2_block1_1_conv`,
`conv2_block1_0_conv` for a projection shortcut, `conv2_block1_add`, `avg_pool`,
`predictions`), so that keras.applications weights files can be loaded by name; the 18- and
34-layer nets, which keras.applications lacks, use the same scheme for their two-layer blocks.

Choices, each the paper's unless stated:
- Shortcuts are identities, with a 1×1 projection (option B, §3.3) only where the shape
  changes: the first block of each stage (for bottleneck nets also conv2_block1, 64 → 256).
- Downsampling is done by the first block of conv3–conv5 with stride 2; in bottleneck blocks
  the stride sits on the first 1×1 conv, as in the released Caffe models and keras.applications.
- Convolutions have no bias (each is followed by BatchNorm), as in the released Caffe models;
  the trainable counts then equal torchvision's (e.g. 25,557,032 for ResNet-50; the paper
  states none). keras.applications keeps conv biases;
  `conv_bias=True` reproduces its layout exactly (25,636,712 weights for ResNet-50) so that its
  `.h5` files load.
- 3×3 stride-2 convs pad 1 pixel on every side (explicit ZeroPadding2D), as the original
  implementations do; Keras' "same" would pad only bottom/right.
- The model returns logits (`predictions` without softmax). The input is keras.applications'
  'caffe' mode: BGR, minus (103.939, 116.779, 123.68), not scaled.
"""

from __future__ import annotations

import keras

from zoo.errors import ConfigError

BN_EPSILON = 1.001e-5  # keras.applications' value


def _w(channels, width):
    if width < 1 or channels % width:
        raise ConfigError(f"width must be a positive divisor of {channels}, got {width}")
    return channels // width


class _Builder:
    """Conv + BN (+ ReLU) units with keras.applications names."""

    def __init__(self, conv_bias):
        self.conv_bias = conv_bias

    def conv_bn(self, x, filters, kernel, name, strides=1, relu=True):
        if kernel > 1 and strides > 1:
            x = keras.layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
            padding = "valid"
        else:
            padding = "same"
        x = keras.layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=self.conv_bias,
                                name=f"{name}_conv")(x)
        x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
        return keras.layers.Activation("relu", name=f"{name}_relu")(x) if relu else x

    def block(self, x, filters, strides, name, bottleneck, residual):
        """A basic (3x3, 3x3) or bottleneck (1x1, 3x3, 1x1 ×4) block, Fig. 5."""
        out_channels = 4 * filters if bottleneck else filters
        shortcut = x
        if residual and (strides != 1 or x.shape[-1] != out_channels):
            shortcut = self.conv_bn(x, out_channels, 1, f"{name}_0", strides=strides, relu=False)
        if bottleneck:
            y = self.conv_bn(x, filters, 1, f"{name}_1", strides=strides)
            y = self.conv_bn(y, filters, 3, f"{name}_2")
            y = self.conv_bn(y, out_channels, 1, f"{name}_3", relu=False)
        else:
            y = self.conv_bn(x, filters, 3, f"{name}_1", strides=strides)
            y = self.conv_bn(y, filters, 3, f"{name}_2", relu=False)
        if residual:
            y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
        return keras.layers.Activation("relu", name=f"{name}_out")(y)


def build_resnet(name, blocks, *, bottleneck, residual=True, num_classes=1000, input_shape=(224, 224, 3),
                 include_top=True, width=1, conv_bias=False, classifier_activation=None):
    """Table 1: conv1 7×7/2, 3×3/2 max pool, stages conv2–conv5 of `blocks` blocks, average pool, fc."""
    b = _Builder(conv_bias)
    x = inputs = keras.Input(input_shape, name="input")
    x = b.conv_bn(x, _w(64, width), 7, "conv1", strides=2)
    x = keras.layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (filters, count) in enumerate(zip((64, 128, 256, 512), blocks), start=2):
        for i in range(1, count + 1):
            strides = 2 if i == 1 and stage > 2 else 1
            x = b.block(x, _w(filters, width), strides, f"conv{stage}_block{i}", bottleneck, residual)
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keras.layers.Dense(num_classes, name="predictions")(x)
        if classifier_activation is not None:
            x = keras.layers.Activation(classifier_activation, name="prob")(x)
    return keras.Model(inputs, x, name=name)


# The builders: Table 1's columns. Arguments (the same for all):
#   num_classes: size of the `predictions` layer.
#   input_shape: (H, W, 3) in keras.applications 'caffe' mode; 224x224 in the paper.
#   include_top: False ends at the last block's output (conv5_block*_out).
#   width: divides every layer's width (small test configurations).
#   conv_bias: give convolutions a bias, as keras.applications does (to load its weights).
#   classifier_activation: None for logits, or e.g. "softmax" (keras.applications' output).


def resnet18(num_classes=1000, input_shape=(224, 224, 3), include_top=True, width=1, conv_bias=False,
             classifier_activation=None):
    """18-layer residual network, stages of 2/2/2/2 basic blocks.

    He et al. 2016, §3.3–§4.1, Table 1, Fig. 3.
    Arguments: see the comment above the builders.
    """
    return build_resnet("resnet18", (2, 2, 2, 2), bottleneck=False, num_classes=num_classes,
                        input_shape=input_shape, include_top=include_top, width=width, conv_bias=conv_bias,
                        classifier_activation=classifier_activation)


def resnet34(num_classes=1000, input_shape=(224, 224, 3), include_top=True, width=1, conv_bias=False,
             classifier_activation=None):
    """34-layer residual network, stages of 3/4/6/3 basic blocks.

    He et al. 2016, §3.3–§4.1, Table 1, Fig. 3.
    Arguments: see the comment above the builders.
    """
    return build_resnet("resnet34", (3, 4, 6, 3), bottleneck=False, num_classes=num_classes,
                        input_shape=input_shape, include_top=include_top, width=width, conv_bias=conv_bias,
                        classifier_activation=classifier_activation)


def resnet50(num_classes=1000, input_shape=(224, 224, 3), include_top=True, width=1, conv_bias=False,
             classifier_activation=None):
    """50-layer residual network, stages of 3/4/6/3 bottleneck blocks.

    He et al. 2016, §3.3–§4.1, Table 1, Fig. 3.
    Arguments: see the comment above the builders.
    """
    return build_resnet("resnet50", (3, 4, 6, 3), bottleneck=True, num_classes=num_classes,
                        input_shape=input_shape, include_top=include_top, width=width, conv_bias=conv_bias,
                        classifier_activation=classifier_activation)


def resnet101(num_classes=1000, input_shape=(224, 224, 3), include_top=True, width=1, conv_bias=False,
              classifier_activation=None):
    """101-layer residual network, stages of 3/4/23/3 bottleneck blocks.

    He et al. 2016, §3.3–§4.1, Table 1, Fig. 3.
    Arguments: see the comment above the builders.
    """
    return build_resnet("resnet101", (3, 4, 23, 3), bottleneck=True, num_classes=num_classes,
                        input_shape=input_shape, include_top=include_top, width=width, conv_bias=conv_bias,
                        classifier_activation=classifier_activation)


def resnet152(num_classes=1000, input_shape=(224, 224, 3), include_top=True, width=1, conv_bias=False,
              classifier_activation=None):
    """152-layer residual network, stages of 3/8/36/3 bottleneck blocks.

    He et al. 2016, §3.3–§4.1, Table 1, Fig. 3.
    Arguments: see the comment above the builders.
    """
    return build_resnet("resnet152", (3, 8, 36, 3), bottleneck=True, num_classes=num_classes,
                        input_shape=input_shape, include_top=include_top, width=width, conv_bias=conv_bias,
                        classifier_activation=classifier_activation)


def plainnet18(num_classes=1000, input_shape=(224, 224, 3), include_top=True, width=1, conv_bias=False,
               classifier_activation=None):
    """18-layer plain network (no shortcuts: the paper's baseline), stages of 2/2/2/2 basic blocks.

    He et al. 2016, §3.3–§4.1, Table 1, Fig. 3 (plain networks).
    Arguments: see the comment above the builders.
    """
    return build_resnet("plainnet18", (2, 2, 2, 2), bottleneck=False, residual=False, num_classes=num_classes,
                        input_shape=input_shape, include_top=include_top, width=width, conv_bias=conv_bias,
                        classifier_activation=classifier_activation)


def plainnet34(num_classes=1000, input_shape=(224, 224, 3), include_top=True, width=1, conv_bias=False,
               classifier_activation=None):
    """34-layer plain network (no shortcuts, the paper's baseline), stages of 3/4/6/3 basic blocks.

    He et al. 2016, §3.3–§4.1, Table 1, Fig. 3 (plain networks).
    Arguments: see the comment above the builders.
    """
    return build_resnet("plainnet34", (3, 4, 6, 3), bottleneck=False, residual=False, num_classes=num_classes,
                        input_shape=input_shape, include_top=include_top, width=width, conv_bias=conv_bias,
                        classifier_activation=classifier_activation)
