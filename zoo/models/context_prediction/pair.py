"""The context-prediction pair network (Doersch et al. ICCV 2015; C. Doersch's talk on the
paper): two AlexNet-style towers with shared weights read patch A and patch B; their fc6
outputs are concatenated and fused by fully connected layers into an 8-way classifier of B's
position relative to A.

The talk says "Training requires Batch Normalization, but no other tricks"; its architecture
figure is missing from the talk's text. The layer sizes here follow the paper's Fig. 3: per tower
conv1 (96, 11, stride 4), pool1 (3, 2), conv2 (384, 5), pool2 (3, 2), conv3
(384, 3), conv4 (384, 3), conv5 (256, 3), pool5 (3, 2), fc6 (4096); after concatenation fc7
(4096), fc8 (4096), fc9 (8); 96x96 patches. Ours: batch normalisation after every convolution
and fully connected layer but fc9 (pre-ReLU, in place of LRN), AlexNet's two-group
convolutions for conv2, conv4 and conv5, Caffe's ceil-mode pooling (so a 96x96 patch gives
pool5 2x2x256).
"""

from __future__ import annotations

import keras

from zoo.layers.pooling import CaffeMaxPooling2D

CONVS = (("conv1", 96, 11, 4, 1), ("conv2", 384, 5, 1, 2), ("conv3", 384, 3, 1, 1), ("conv4", 384, 3, 1, 2),
         ("conv5", 256, 3, 1, 2))  # name, filters, kernel, stride, groups


def _bn_relu(x, name):
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def tower(patch_size=96, width=1.0, fc6=4096, name="tower"):
    """One AlexNet-style tower: patch -> fc6 (after batch norm and ReLU)."""
    w = lambda n: max(2, int(round(n * width)) // 2 * 2)  # noqa: E731 - even, for the two groups
    x = inputs = keras.Input((patch_size, patch_size, 3), name="patch")
    for cname, filters, kernel, stride, groups in CONVS:
        x = keras.layers.Conv2D(w(filters), kernel, strides=stride, padding="valid" if cname == "conv1" else "same",
                                groups=groups, use_bias=False, name=cname)(x)
        x = _bn_relu(x, cname)
        if cname in ("conv1", "conv2", "conv5"):
            x = CaffeMaxPooling2D(3, 2, name={"conv1": "pool1", "conv2": "pool2", "conv5": "pool5"}[cname])(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(w(fc6) if width != 1.0 else fc6, use_bias=False, name="fc6")(x)
    return keras.Model(inputs, _bn_relu(x, "fc6"), name=name)


def context_prediction_alexnet(num_classes=8, patch_size=96, width=1.0, fc=4096, dropout=0.0):
    """The pair network: {"patch_a", "patch_b"} -> logits over the 8 relative positions.

    `width` scales every layer (1.0 is the paper's; smaller values are test configurations).
    The shared tower is the sub-model "tower" (its conv and fc6 weights transfer to detection).
    """
    shared = tower(patch_size, width)
    a = keras.Input((patch_size, patch_size, 3), name="patch_a")
    b = keras.Input((patch_size, patch_size, 3), name="patch_b")
    x = keras.layers.Concatenate(name="fc6_pair")([shared(a), shared(b)])
    units = fc if width == 1.0 else max(2, int(round(fc * width)))
    for name in ("fc7", "fc8"):
        x = keras.layers.Dense(units, use_bias=False, name=name)(x)
        x = _bn_relu(x, name)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"drop{name[2:]}")(x)
    x = keras.layers.Dense(num_classes, name="fc9")(x)
    return keras.Model([a, b], x, name="context_prediction_alexnet")
