"""Oquab et al. 2014's test-time protocol (Oquab thesis §3.2.2, Eq. 3.1) and its metric: an image's class
scores are the power mean (k = 5) of the softmax outputs of FCb over all of its grid patches, and VOC
classification is scored per class by average precision over the images, and their mean (mAP), with the
zoo's one AP code (zoo.metrics.ranking, whose precision/recall area the detection AP shares).

    scores = image_scores(model, image)                 # (N,) object classes, background dropped
    result = voc_classification_ap(all_scores, labels)  # {"mean_ap", "ap_<c>"}
"""

from __future__ import annotations

import numpy as np

from zoo.ops import patches as P


def grid_crops(image, *, size=224, min_overlap=P.MIN_OVERLAP):
    """(patches (M, size, size, 3) float32, boxes (M, 4)) of an (H, W, 3) image's patch grid."""
    from zoo.data.detection.voc_patches import crop_patches

    image = np.asarray(image)
    boxes = P.patch_grid(image.shape[0], image.shape[1], min_overlap=min_overlap)
    return np.asarray(crop_patches(image, boxes, size)), boxes


def image_scores(model, image, *, k=5, preprocess=None, batch_size=64, min_overlap=P.MIN_OVERLAP, background=True):
    """Eq. 3.1 for one image: the power mean over its grid patches of the softmax of `model` (FCb logits);
    the background column (index 0) is dropped when `background`. `preprocess` maps RGB patches to the model
    input (e.g. BGR minus the mean); the patch size is the model's input size."""
    import keras

    size = int(model.input_shape[1])
    crops, _ = grid_crops(image, size=size, min_overlap=min_overlap)
    if preprocess is not None:
        crops = preprocess(crops)
    probs = np.concatenate([keras.ops.convert_to_numpy(keras.ops.softmax(model(crops[i:i + batch_size],
                                                                                training=False)))
                            for i in range(0, len(crops), batch_size)])
    scores = P.power_mean(probs, k)
    return scores[1:] if background else scores


def voc_classification_ap(scores, labels, *, definition="area") -> dict:
    """Per-class AP over images and their mean: `scores` (N, C), `labels` (N, C) with 1 present, 0 absent, -1
    difficult-only (left out, as the devkit does). `definition`: "area" (VOC 2010+) or "11point" (VOC 2007)."""
    from zoo.metrics.ranking import multilabel_average_precision

    return multilabel_average_precision(scores, labels, definition=definition)


def image_labels(object_classes, difficult, num_classes=20) -> np.ndarray:
    """An image's VOC classification labels from its objects (classes 1..num_classes): 1 where a non-difficult
    object of the class is present, -1 where only difficult ones are (left out of that class's AP, as the
    devkit's VOCevalcls does with its 0 label), 0 elsewhere."""
    out = np.zeros(num_classes, np.int64)
    for c, hard in zip(np.asarray(object_classes), np.asarray(difficult, bool)):
        if not 1 <= c <= num_classes:
            raise ValueError(f"object class {c} outside 1..{num_classes}")
        if not hard:
            out[c - 1] = 1
        elif out[c - 1] == 0:
            out[c - 1] = -1
    return out


def evaluate_voc(model, examples, *, k=5, preprocess=None, definition="area", batch_size=64) -> dict:
    """VOC classification of `examples` (dicts with "image", "labels" 1..20 and "difficult", e.g. the
    voc2007_detection / voc2012_detection datasets as NumPy): Eq. 3.1's image scores, then the AP per class and
    the mAP (Tables 3.1, 3.2; "11point" for VOC 2007's devkit)."""
    scores, labels = [], []
    for ex in examples:
        scores.append(image_scores(model, ex["image"], k=k, preprocess=preprocess, batch_size=batch_size))
        labels.append(image_labels(ex["labels"], ex["difficult"], num_classes=len(scores[-1])))
    return voc_classification_ap(np.stack(scores), np.stack(labels), definition=definition)
