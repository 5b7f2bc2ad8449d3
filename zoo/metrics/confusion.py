"""The confusion matrix: the one count of (ground truth, prediction) pairs every classifier and
segmenter metric of the zoo is computed from (rows: ground truth, columns: prediction).
"""

from __future__ import annotations

import numpy as np
from keras import ops


def confusion_counts(y_true, y_pred, num_classes, sample_weight=None):
    """(C, C) int32 counts: rows ground truth, columns prediction (score.fast_hist).

    `y_pred` is either class scores with a last axis of C (floating: argmax is taken) or labels.
    Pixels whose label or predicted label is outside [0, C), or whose `sample_weight` is 0, are
    not counted.
    """
    y_true, y_pred = ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred)
    if "float" in str(y_pred.dtype):
        y_pred = ops.argmax(y_pred, axis=-1)
    if len(y_true.shape) == len(y_pred.shape) + 1:  # (N, H, W, 1) labels
        y_true = ops.squeeze(y_true, axis=-1)
    labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
    preds = ops.reshape(ops.cast(y_pred, "int32"), (-1,))
    keep = (labels >= 0) & (labels < num_classes) & (preds >= 0) & (preds < num_classes)
    if sample_weight is not None:  # per pixel, or per image
        weight = ops.convert_to_tensor(sample_weight)
        if len(weight.shape) == len(y_true.shape) + 1:
            weight = ops.squeeze(weight, axis=-1)
        while len(weight.shape) < len(y_true.shape):
            weight = ops.expand_dims(weight, -1)
        keep = keep & (ops.reshape(ops.broadcast_to(weight, ops.shape(y_true)), (-1,)) != 0)
    index = ops.where(keep, labels * num_classes + preds, 0)  # every index in [0, C*C)
    # A segment sum with a static number of segments (bincount's length is data-dependent under jit).
    counts = ops.segment_sum(ops.cast(keep, "int32"), index, num_segments=num_classes * num_classes)
    return ops.reshape(counts, (num_classes, num_classes))



def confusion_matrix(labels, predictions, num_classes: int) -> np.ndarray:
    """NumPy (C, C) confusion matrix of one batch (see `confusion_counts` for what counts)."""
    return np.asarray(confusion_counts(labels, predictions, num_classes)).astype(np.int64)
