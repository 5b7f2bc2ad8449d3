"""R-CNN's network: a classification trunk on warped 227x227 proposals with an (N+1)-way head.

Donahue thesis §3.1.1-§3.1.3: each proposal is warped to 227x227 (`zoo.ops.warp`), passed through
CaffeNet (T-Net) or VGG-16 (O-Net), and the 1000-way ImageNet classifier is replaced by a
randomly initialised (N+1)-way layer (N = 20 on VOC, 200 on ILSVRC2013) for fine-tuning. The
detector itself scores the features of pool5, fc6 or fc7 (all reachable by layer name) with
per-class linear SVMs, and refines boxes with class-specific ridge regressors on pool5 (§3.1.6.5).

Layer names are the release's: conv1 .. fc7 of the trunk, `fc8_pascal` for the fine-tuning
head (rbgirshick/rcnn `model-defs/pascal_finetune_*.prototxt`) and `fc-rcnn` for the SVMs folded into
one layer (the Caffe zoo's bvlc_reference_rcnn_ilsvrc13, which reads fc7), so released caffemodels load by name.
"""

from __future__ import annotations

import keras

from zoo.errors import ConfigError
from zoo.models.alexnet.alexnet import caffenet, scaled
from zoo.models.vgg.vgg import vgg_trunk

FEATURE_LAYERS = ("pool5", "fc6", "fc7")


def fc_layers(x, width, names=("fc6", "fc7")):
    """Flatten -> (Dense 4096 + ReLU, dropout 0.5) per name: the fc6/fc7 shared by every net here."""
    x = keras.layers.Flatten(name="flatten")(x)
    features = {}
    for name in names:
        x = features[name] = keras.layers.Dense(scaled(4096, width), activation="relu", name=name)(x)
        x = keras.layers.Dropout(0.5, name=f"drop{name[2:]}")(x)
    return features


def _heads(inputs, pool5, num_classes, width, svm_layer, bbox_regression, head, name):
    """fc6, fc7, the fine-tuning head, and the optional SVM and box-regression layers."""
    if svm_layer is not None and svm_layer not in FEATURE_LAYERS:
        raise ConfigError(f"svm_layer must be None or one of {FEATURE_LAYERS}, got {svm_layer!r}")
    if num_classes < 2:
        raise ConfigError(f"num_classes counts the background too (N + 1 = 21 on VOC); got {num_classes}")
    features = fc_layers(pool5, width)
    outputs = [] if head is None else [keras.layers.Dense(num_classes, name=head)(features["fc7"])]
    flat5 = keras.layers.Flatten(name="pool5_flat")(pool5)
    features["pool5"] = flat5
    if svm_layer is not None:  # one linear SVM per class (column 0, background, is unused at test time)
        outputs.append(keras.layers.Dense(num_classes, name="fc-rcnn")(features[svm_layer]))
    if bbox_regression:  # class-specific ridge regressors on pool5 (§3.1.6.5): 4 deltas per class
        outputs.append(keras.layers.Dense(4 * num_classes, name="bbox_pred")(flat5))
    return keras.Model(inputs, outputs if len(outputs) > 1 else outputs[0], name=name)


def rcnn_caffenet(num_classes=21, input_shape=(227, 227, 3), width=1, svm_layer=None, bbox_regression=False,
                  head="fc8_pascal"):
    """R-CNN T-Net: CaffeNet conv1 .. fc7 on a warped proposal, then the (N+1)-way `fc8_pascal`.

    Donahue thesis §3.1.1-§3.1.3 (Table 3.2 rows; 54.2% VOC 2007 mAP fine-tuned, fc7, SVMs).

    Args:
        num_classes: N + 1 (21 on VOC with background, 201 on ILSVRC2013).
        input_shape: the warped window, 227x227 BGR minus the ImageNet mean.
        width: divides every layer's width (small test configurations); 1 is the paper's net.
        svm_layer: None, or the feature ("pool5" | "fc6" | "fc7") the per-class linear SVMs
            (layer `fc-rcnn`, a second output) read; the staged step fits them.
        bbox_regression: adds `bbox_pred` (4 deltas per class) on pool5, the ridge regressors.
        head: the fine-tuning layer's name (`fc8_pascal` in the VOC release).
    """
    trunk = caffenet(include_top=False, input_shape=input_shape, width=width)
    return _heads(trunk.input, trunk.output, num_classes, width, svm_layer, bbox_regression, head, "rcnn_caffenet")


def rcnn_vgg16(num_classes=21, input_shape=(224, 224, 3), width=1, svm_layer=None, bbox_regression=False,
               head="fc8_pascal"):
    """R-CNN O-Net: VGG-16 conv1_1 .. fc7 on a warped proposal, then the (N+1)-way head.

    Donahue thesis §3.1.6.3, Table 3.3 (66.0% VOC 2007 mAP with box regression). The released
    O-Net model warps to 224x224 (VGG's input; `rcnn_create_model` takes the crop size from the
    net). Args: as `rcnn_caffenet`.
    """
    inputs = keras.Input(input_shape, name="data")
    pool5 = vgg_trunk(inputs, "D", width=width)["pool5"]
    return _heads(inputs, pool5, num_classes, width, svm_layer, bbox_regression, head, "rcnn_vgg16")


def rcnn_caffenet_svm(num_classes=21, input_shape=(227, 227, 3), width=1, svm_layer="fc7"):
    """R-CNN T-Net's detector scores: CaffeNet conv1 .. fc7 on a warped proposal and one linear SVM per
    class (`fc-rcnn`) on pool5, fc6 or fc7, the model's only output (Donahue thesis §3.1.3, Table 3.2).

    The staged step fits `fc-rcnn` on the frozen features (task `detection_svm`); the trunk comes from
    the ImageNet CaffeNet (no fine-tuning rows) or a fine-tuned net (FT rows). Args: as `rcnn_caffenet`;
    `svm_layer` is required here ("pool5" | "fc6" | "fc7").
    """
    if svm_layer is None:
        raise ConfigError("rcnn_caffenet_svm scores one feature layer: svm_layer must be 'pool5', 'fc6' or 'fc7'")
    trunk = caffenet(include_top=False, input_shape=input_shape, width=width)
    return _heads(trunk.input, trunk.output, num_classes, width, svm_layer, False, None, "rcnn_caffenet_svm")


def rcnn_vgg16_svm(num_classes=21, input_shape=(224, 224, 3), width=1, svm_layer="fc7"):
    """R-CNN O-Net's detector scores: VGG-16 conv1_1 .. fc7 and per-class linear SVMs (`fc-rcnn`)
    (Donahue thesis §3.1.6.3, Table 3.3). Args: as `rcnn_caffenet_svm`."""
    if svm_layer is None:
        raise ConfigError("rcnn_vgg16_svm scores one feature layer: svm_layer must be 'pool5', 'fc6' or 'fc7'")
    inputs = keras.Input(input_shape, name="data")
    pool5 = vgg_trunk(inputs, "D", width=width)["pool5"]
    return _heads(inputs, pool5, num_classes, width, svm_layer, False, None, "rcnn_vgg16_svm")


def rcnn_caffenet_bbox(num_classes=21, input_shape=(227, 227, 3), width=1):
    """R-CNN T-Net's box regressors: CaffeNet conv1 .. pool5 on a warped proposal and the class-specific
    ridge regressors (`bbox_pred`, 4 deltas per class on pool5), the model's only output (Donahue thesis
    §3.1.6.5, App. 3.4.3; Table 3.2 "BB" row, 58.5 mAP). The staged step's `box_ridge` learner fits
    `bbox_pred` on the frozen pool5 features (task `detection_bbox`), the trunk from a fine-tuned net.
    Args: as `rcnn_caffenet`.
    """
    trunk = caffenet(include_top=False, input_shape=input_shape, width=width)
    return _heads(trunk.input, trunk.output, num_classes, width, None, True, None, "rcnn_caffenet_bbox")


def rcnn_vgg16_bbox(num_classes=21, input_shape=(224, 224, 3), width=1):
    """R-CNN O-Net's box regressors on VGG-16 pool5 (Donahue thesis Table 3.3: 66.0 with them). Args: as
    `rcnn_caffenet_bbox`."""
    inputs = keras.Input(input_shape, name="data")
    pool5 = vgg_trunk(inputs, "D", width=width)["pool5"]
    return _heads(inputs, pool5, num_classes, width, None, True, None, "rcnn_vgg16_bbox")
