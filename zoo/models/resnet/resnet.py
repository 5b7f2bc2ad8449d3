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
from zoo.registry import InputContract, WeightsSpec, register

# keras.applications.imagenet_utils.preprocess_input(mode="caffe").
KERAS_CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
_CONTRACT = InputContract(
    shape=(224, 224, 3), mean=KERAS_CAFFE_BGR_MEAN,
    note="keras.applications 'caffe' mode: BGR, mean subtracted, not scaled",
)
_PAPER = "He, Zhang, Ren, Sun 2016, Deep Residual Learning for Image Recognition (CVPR)"
_SMALL = {"num_classes": 10, "width": 16, "input_shape": (64, 64, 3)}
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


_DOC_ARGS = """
    Args:
        num_classes: size of the `predictions` layer.
        input_shape: (H, W, 3) in keras.applications 'caffe' mode; 224×224 in the paper.
        include_top: False ends at the last block's output (conv5_block*_out).
        width: divides every layer's width (small test configurations).
        conv_bias: give convolutions a bias, as keras.applications does (to load its weights).
        classifier_activation: None for logits, or e.g. "softmax" (keras.applications' output).
"""

_SPECS = {
    # name: (blocks per stage, bottleneck, residual, trainable parameters with 1000 classes)
    "resnet18": ((2, 2, 2, 2), False, True, 11_689_512),
    "resnet34": ((3, 4, 6, 3), False, True, 21_797_672),
    "resnet50": ((3, 4, 6, 3), True, True, 25_557_032),
    "resnet101": ((3, 4, 23, 3), True, True, 44_549_160),
    "resnet152": ((3, 8, 36, 3), True, True, 60_192_808),
    "plainnet18": ((2, 2, 2, 2), False, False, None),
    "plainnet34": ((3, 4, 6, 3), False, False, None),
}

_KERAS_RESNET = "https://storage.googleapis.com/tensorflow/keras-applications/resnet"


def _keras_weights(name, tag, md5, suffix, metrics):
    """keras.applications' ImageNet weights (resnet.py: BASE_WEIGHTS_PATH and WEIGHTS_HASHES, md5)."""
    return WeightsSpec(
        tag=tag, aliases=("imagenet",) if tag == "keras_imagenet" else (),
        url=f"{_KERAS_RESNET}/{name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5", file_hash=md5,
        hash_algorithm="md5", format="keras_applications_h5", num_classes=1000 if not suffix else None,
        source=("keras.applications (resnet.py: BASE_WEIGHTS_PATH, WEIGHTS_HASHES), ported from Kaiming He's Caffe "
                "release; with conv biases, folded into BatchNormalization unless built with conv_bias=True"),
        license=("MIT: 'The ResNet50 weights are ported from the ones released by Kaiming He under the MIT license' "
                 "(fchollet/deep-learning-models README)"),
        preprocessing=_CONTRACT, metrics=metrics,
    )


# keras.io/api/applications table: 224x224 single center crop on ILSVRC-2012 val.
_WEIGHTS = {
    "resnet50": (
        _keras_weights("resnet50", "keras_imagenet", "2cb95161c43110f7111970584f804107", "", {
            "ILSVRC-2012 val, 224x224 single center crop (released: keras.io/api/applications table)":
                {"top1_accuracy_%": 74.9, "top5_accuracy_%": 92.1},
        }),
        # No classifier: build with include_top=False.
        _keras_weights("resnet50", "keras_imagenet_notop", "4d473c1dd8becc155b73f8504c6f6626", "_notop", {}),
    ),
}

_PAPER_NUMBERS = {
    "resnet152": {
        "ILSVRC top-5 error %, '152 layers' (Oquab thesis §2 overview)": 4,
        "ILSVRC-2015 test top-5 error % of an ensemble of residual nets (He et al. 2016, abstract)": 3.57,
    },
}


def _register(name):
    blocks, bottleneck, residual, _ = _SPECS[name]
    depth = name.removeprefix("resnet").removeprefix("plainnet")
    kind = "residual" if residual else "plain (no shortcuts, the paper's baseline)"
    section = "§3.3–§4.1, Table 1, Fig. 3" + ("" if residual else " (plain networks)")

    def builder(num_classes=1000, input_shape=(224, 224, 3), include_top=True, width=1, conv_bias=False,
                classifier_activation=None):
        return build_resnet(name, blocks, bottleneck=bottleneck, residual=residual, num_classes=num_classes,
                            input_shape=input_shape, include_top=include_top, width=width, conv_bias=conv_bias,
                            classifier_activation=classifier_activation)

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = (
        f"{depth}-layer {kind} network, stages of {'/'.join(map(str, blocks))} "
        f"{'bottleneck' if bottleneck else 'basic'} blocks.\n\n    {_PAPER}, {section}.\n" + _DOC_ARGS
    )
    register(
        name, family="resnet", task="classification", paper=_PAPER, section=section, input_contract=_CONTRACT,
        paper_numbers=_PAPER_NUMBERS.get(name, {}), head_layers=("predictions",), default_num_classes=1000,
        test_kwargs=_SMALL, test_input_shape=_SMALL["input_shape"], weights=_WEIGHTS.get(name, ()),
        # resnet50 covers the bottleneck code path in the default tier; the deeper two export in the slow tier
        slow=name in ("resnet101", "resnet152"),
    )(builder)
    return builder


resnet18, resnet34, resnet50, resnet101, resnet152, plainnet18, plainnet34 = map(_register, _SPECS)
