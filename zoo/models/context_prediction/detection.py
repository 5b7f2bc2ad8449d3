"""Fast R-CNN on the context-prediction tower (transfer, C. Doersch's talk on Doersch et al. ICCV 2015: "Pre-train on
relative-position task, w/o labels", then the R-CNN pipeline).

The tower is not CaffeNet: its conv2 has 384 filters (CaffeNet's 256) and it normalises with batch
norm instead of LRN, so its weights cannot load into `fast_rcnn_caffenet`. This builder keeps the
tower's conv1..conv5 shapes (with biases, into which the tower's inference batch norm is folded by
`zoo.export.transfer.tower_weights`) and adds Fast R-CNN's 6x6 RoI pooling, fc6, fc7 and heads
(layer names as the release's). Only conv1..conv5 transfer; fc6/fc7 start fresh.
"""

from __future__ import annotations

import keras

from zoo.layers.pooling import CaffeMaxPooling2D
from zoo.models.context_prediction.pair import CONVS
from zoo.models.rcnn.fast_rcnn import _fast_rcnn


def tower_trunk(image, width=1.0):
    """conv1 .. conv5 (+ ReLU, pool1, pool2) of the tower, biases in place of batch norm; returns conv5's ReLU."""
    w = lambda n: max(2, int(round(n * width)) // 2 * 2)  # noqa: E731 - as pair.tower
    x = image
    for cname, filters, kernel, stride, groups in CONVS:
        x = keras.layers.Conv2D(w(filters), kernel, strides=stride, padding="valid" if cname == "conv1" else "same",
                                groups=groups, activation="relu", name=cname)(x)
        if cname in ("conv1", "conv2"):
            x = CaffeMaxPooling2D(3, 2, name={"conv1": "pool1", "conv2": "pool2"}[cname])(x)
    return x


def fast_rcnn_context(num_classes=21, input_shape=(None, None, 3), width=1.0, fc_divisor=1):
    """Fast R-CNN whose conv layers are the context-prediction tower's (`width` as the pair network's;
    `fc_divisor` divides fc6/fc7's 4096 units, 1 for the paper's)."""
    image = keras.Input(input_shape, name="data")
    return _fast_rcnn(image, tower_trunk(image, width), num_classes, fc_divisor, 6, "fast_rcnn_context")
