"""Multi-label image classification with boxes, through TFDS: PASCAL VOC 2012 and COCO 2014 as the
weakly supervised experiments of Oquab thesis ch. 4 use them (§4.5.1: VOC 2012 "5k images for
training, 5k for validation and 20 object classes"; COCO "80k images for training, 40k images for
validation and 80 classes"; results on the validation sets, Table 4.2).

Examples (zoo.tasks.weak_sup):

    image       uint8 (H, W, 3) RGB
    labels      float32 (K,) 1 present, 0 absent, -1 "difficult" only (VOC: every object of the class
                in the image is marked difficult; the devkit's 0 label, left out of training and APs)
    boxes       float32 (M, 4) [x1, y1, x2, y2] 0-based inclusive pixels (zoo.ops.boxes), all objects
    box_labels  int32 (M,) 0..K-1
    image_id    string (VOC: the file name stem) / int64 (COCO)

Boxes: TFDS `voc` stores `(x - 1) / width` of the XML's 1-based corners, so `x * width` is the
devkit's 0-based inclusive corner (as zoo.data.detection.voc_detection); TFDS `coco` stores the
continuous box `[y, x, y + h, x + w] / size`, so the last pixel is `(x + w) - 1`. COCO crowd
regions (`is_crowd`) count as objects of their class, for labels and boxes alike.
"""

from __future__ import annotations

from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset
from zoo.data.segmentation.voc import CITATION, HOMEPAGE, VOC_CLASSES

COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
)  # fmt: skip
COCO_HOMEPAGE = "https://cocodataset.org"
FEATURES = {
    "image": "uint8 (H, W, 3) RGB",
    "labels": "float32 (K,) 1 present, 0 absent, -1 difficult only",
    "boxes": "float32 (M, 4) [x1, y1, x2, y2] 0-based inclusive pixels",
    "box_labels": "int32 (M,) 0..K-1",
}


def image_labels(box_labels, difficult, num_classes):
    """(K,) 1 where a non-difficult object of the class is present, -1 where all of its objects are
    difficult, 0 elsewhere (the VOC devkit's classification labels 1 / 0 / -1 as the zoo keeps them)."""
    import tensorflow as tf

    box_labels = tf.cast(box_labels, tf.int32)
    onehot = tf.one_hot(box_labels, num_classes)
    easy = tf.reduce_max(tf.concat([onehot * (1.0 - tf.cast(difficult, tf.float32))[:, None],
                                    tf.zeros((1, num_classes))], 0), axis=0)
    any_object = tf.reduce_max(tf.concat([onehot, tf.zeros((1, num_classes))], 0), axis=0)
    return tf.where(easy > 0, 1.0, tf.where(any_object > 0, -1.0, 0.0))


def _pixel_boxes(ex, last_pixel_offset):
    import tensorflow as tf

    shape = tf.cast(tf.shape(ex["image"])[:2], tf.float32)
    b = tf.cast(tf.reshape(ex["objects"]["bbox"], (-1, 4)), tf.float32)
    return tf.round(tf.stack([b[:, 1] * shape[1], b[:, 0] * shape[0], b[:, 3] * shape[1] - last_pixel_offset,
                              b[:, 2] * shape[0] - last_pixel_offset], axis=1))


def voc_to_multilabel(ex):
    """A TFDS `voc` record -> the example of the module docstring (20 classes, labels 0..19)."""
    import tensorflow as tf

    box_labels = tf.cast(ex["objects"]["label"], tf.int32)
    return {"image": ex["image"], "labels": image_labels(box_labels, ex["objects"]["is_difficult"], 20),
            "boxes": _pixel_boxes(ex, 0.0), "box_labels": box_labels,
            "image_id": tf.strings.regex_replace(ex["image/filename"], r"\.[^.]*$", "")}


def coco_to_multilabel(ex):
    """A TFDS `coco` record -> the example of the module docstring (80 classes)."""
    import tensorflow as tf

    box_labels = tf.cast(ex["objects"]["label"], tf.int32)
    no_difficult = tf.zeros_like(box_labels, tf.bool)
    return {"image": ex["image"], "labels": image_labels(box_labels, no_difficult, len(COCO_CLASSES)),
            "boxes": _pixel_boxes(ex, 1.0), "box_labels": box_labels, "image_id": ex["image/id"]}


register_dataset("voc2012_multilabel", DatasetInfo(
    name="voc2012_multilabel", task="multilabel",
    summary="PASCAL VOC 2012 image labels (20 classes, difficult-only marked -1) and boxes (TFDS voc/2012)",
    num_classes=20, class_names=VOC_CLASSES[1:], splits={"train": 5717, "validation": 5823},
    features={**FEATURES, "image_id": "string, the file name stem"}, source=HOMEPAGE, citation=CITATION,
    instructions="TFDS downloads voc/2012 itself (`tfds build voc/2012` or the first load). The test split's "
                 "labels are not public (Table 4.1 was scored by the VOC server).",
), TfdsLoader("voc/2012", postprocess=voc_to_multilabel))

register_dataset("voc2007_multilabel", DatasetInfo(
    name="voc2007_multilabel", task="multilabel",
    summary="PASCAL VOC 2007 image labels (20 classes, difficult-only marked -1) and boxes (TFDS voc/2007)",
    num_classes=20, class_names=VOC_CLASSES[1:], splits={"train": 2501, "validation": 2510, "test": 4952},
    features={**FEATURES, "image_id": "string, the file name stem"}, source=HOMEPAGE, citation=CITATION,
    instructions="TFDS downloads voc/2007 itself (`tfds build voc/2007` or the first load); its test labels are "
                 "public (BiGAN's Table 5.3 classification column is VOC 2007 test mAP).",
), TfdsLoader("voc/2007", postprocess=voc_to_multilabel))

register_dataset("coco2014_multilabel", DatasetInfo(
    name="coco2014_multilabel", task="multilabel",
    summary="COCO 2014 image labels (80 classes) and boxes, crowd regions included (TFDS coco/2014)",
    num_classes=len(COCO_CLASSES), class_names=COCO_CLASSES, splits={"train": 82783, "validation": 40504},
    features={**FEATURES, "image_id": "int64, the COCO image id"}, source=COCO_HOMEPAGE,
    citation="@inproceedings{lin2014microsoft, title={Microsoft COCO: Common Objects in Context}, author={Lin, "
             "Tsung-Yi and others}, booktitle={ECCV}, year={2014}}",
    instructions="TFDS downloads coco/2014 itself (about 37 GB; `tfds build coco/2014` or the first load).",
), TfdsLoader("coco/2014", postprocess=coco_to_multilabel))
