"""Fast R-CNN (Girshick 2015): one conv pass over the whole image, RoI max pooling of each proposal
on conv5, fc6 / fc7, and two sibling heads: `cls_score` ((N+1)-way softmax logits) and
`bbox_pred` (4 box deltas per class, R-CNN's parametrization, zoo.ops.boxes).

Layer names are the release's (rbgirshick/fast-rcnn `models/{CaffeNet,VGG16}/test.prototxt`):
the trunk's conv layers, `roi_pool5`, fc6, fc7, cls_score, bbox_pred; `roi_pool5` is 6x6 on
CaffeNet's conv5 and 7x7 on VGG16's conv5_3, both at spatial scale 1/16 (the conv stride).
Inputs: `data`, the image (B, H, W, 3) BGR minus the mean at any size, and `rois`, (B, R, 4)
proposals `[x1, y1, x2, y2]` in that image's pixels; outputs (B, R, N+1) and (B, R, 4(N+1)).
Released `bbox_pred` weights predict unnormalised deltas (the training snapshot folds the
target normalisation into them), which is what `zoo.tasks.detection` decodes.
"""

from __future__ import annotations

import keras

from zoo.layers.roi import PerImage, RoIMaxPooling
from zoo.models.alexnet.alexnet import caffenet
from zoo.models.rcnn.rcnn import fc_layers
from zoo.models.vgg.vgg import vgg_trunk

SPATIAL_SCALE = 1.0 / 16


def _fast_rcnn(image, conv5, num_classes, width, pooled, name):
    rois = keras.Input((None, 4), name="rois")
    pooled_map = RoIMaxPooling(pooled, SPATIAL_SCALE, name="roi_pool5")(conv5, rois)
    fc7 = fc_layers(pooled_map, width)["fc7"]
    cls_score = keras.layers.Dense(num_classes, name="cls_score")(fc7)
    bbox_pred = keras.layers.Dense(4 * num_classes, name="bbox_pred")(fc7)
    outputs = [PerImage(name="cls_score_per_image")(cls_score, rois),
               PerImage(name="bbox_pred_per_image")(bbox_pred, rois)]
    return keras.Model([image, rois], outputs, name=name)


def fast_rcnn_caffenet(num_classes=21, input_shape=(None, None, 3), width=1):
    """Fast R-CNN on CaffeNet (Girshick 2015, §2; model "S"): conv1 .. conv5, 6x6 roi_pool5, fc6, fc7, heads.

    The detection transfer benchmark of BiGAN (Donahue thesis Table 5.3) and context prediction.

    Args:
        num_classes: N + 1 (21 on VOC).
        input_shape: the image, any size (the paper scales the shorter side to 600 pixels).
        width: divides every layer's width (small test configurations); 1 is the paper's net.
    """
    trunk = caffenet(include_top=False, input_shape=input_shape, width=width)
    return _fast_rcnn(trunk.input, trunk.get_layer("conv5").output, num_classes, width, 6, "fast_rcnn_caffenet")


def fast_rcnn_vgg16(num_classes=21, input_shape=(None, None, 3), width=1):
    """Fast R-CNN on VGG-16 (Girshick 2015, §2; model "L"): conv1_1 .. conv5_3, 7x7 roi_pool5, fc6, fc7, heads.

    pool5 is replaced by RoI pooling. Args: as `fast_rcnn_caffenet`.
    """
    image = keras.Input(input_shape, name="data")
    pool5 = vgg_trunk(image, "D", width=width)["pool5"]
    conv5 = pool5._keras_history.operation.input  # conv5_3, the input of pool5
    return _fast_rcnn(image, conv5, num_classes, width, 7, "fast_rcnn_vgg16")
