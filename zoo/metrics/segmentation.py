"""Semantic segmentation metrics: pixel accuracy, mean accuracy, mean IU, frequency-weighted IU.

Long thesis 2016 §3.4.1 (= Long et al. CVPR 2015, Sec. 5), with n_ij the number of pixels of
class i predicted as class j and t_i = sum_j n_ij:

    pixel accuracy          sum_i n_ii / sum_i t_i
    mean accuracy           mean_i  n_ii / t_i
    mean IU                 mean_i  n_ii / (t_i + sum_j n_ji - n_ii)
    frequency weighted IU   (sum_k t_k)^-1  sum_i t_i n_ii / (t_i + sum_j n_ji - n_ii)

As in the reference score.py: one confusion matrix is accumulated over the whole evaluation set
(dataset-level IU, not a per-image average), only ground-truth labels in [0, C) count (VOC's 255
"void" is ignored), and the means skip classes whose ratio is 0/0 (nanmean), i.e. classes
absent from both the labels and the predictions (IU) or from the labels (accuracy).
Values are fractions in [0, 1], like score.py's.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

METRIC_NAMES = ("pixel_accuracy", "mean_accuracy", "mean_iu", "frequency_weighted_iu")


def _confusion(y_true, y_pred, num_classes, sample_weight=None):
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


def _scores(confusion) -> dict:
    """The four metrics of a confusion matrix, as backend scalars (NaN where undefined)."""
    n = ops.cast(confusion, "float32")
    diag = ops.diagonal(n)
    t = ops.sum(n, axis=1)  # pixels of each class in the labels
    union = t + ops.sum(n, axis=0) - diag
    total = ops.sum(t)

    def nanmean(num, den):  # mean over the classes whose ratio is defined
        defined = den > 0
        ratio = ops.where(defined, num / ops.where(defined, den, 1.0), 0.0)
        return ops.sum(ratio) / ops.sum(ops.cast(defined, "float32"))

    iu = ops.where(union > 0, diag / ops.where(union > 0, union, 1.0), 0.0)
    return {
        "pixel_accuracy": ops.sum(diag) / total,
        "mean_accuracy": nanmean(diag, t),
        "mean_iu": nanmean(diag, union),
        "frequency_weighted_iu": ops.sum(t * iu) / total,
    }


def confusion_matrix(labels, predictions, num_classes: int) -> np.ndarray:
    """NumPy (C, C) confusion matrix of one batch (see `_confusion` for what counts)."""
    return np.asarray(_confusion(labels, predictions, num_classes)).astype(np.int64)


def metrics_from_confusion(confusion) -> dict:
    """{"pixel_accuracy", "mean_accuracy", "mean_iu", "frequency_weighted_iu"} as floats."""
    return {k: float(v) for k, v in _scores(confusion).items()}


def pixel_accuracy(confusion) -> float:
    return metrics_from_confusion(confusion)["pixel_accuracy"]


def mean_accuracy(confusion) -> float:
    return metrics_from_confusion(confusion)["mean_accuracy"]


def mean_iu(confusion) -> float:
    return metrics_from_confusion(confusion)["mean_iu"]


def frequency_weighted_iu(confusion) -> float:
    return metrics_from_confusion(confusion)["frequency_weighted_iu"]


@keras.saving.register_keras_serializable(package="zoo")
class ConfusionMatrix(keras.metrics.Metric):
    """Streaming (C, C) confusion matrix for segmentation; `result()` is the matrix.

    `update_state(y_true, y_pred, sample_weight=None)`: labels (N, H, W) or (N, H, W, 1), and
    scores (N, H, W, C) or labels. Ignored: labels outside [0, C) (VOC's 255), and pixels whose
    sample_weight is 0 (any other weight counts the pixel once). The counts are a metric
    variable summed over replicas, so the matrix is the global one under tf.distribute.
    """

    def __init__(self, num_classes: int, name="confusion_matrix", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = int(num_classes)
        # Exact counts; JAX without x64 has no int64 (int32 still counts 2**31 pixels per cell).
        dtype = "int32" if keras.backend.backend() == "jax" else "int64"
        self.confusion = self.add_variable(
            shape=(self.num_classes, self.num_classes), initializer="zeros", dtype=dtype, name="confusion"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        counts = _confusion(y_true, y_pred, self.num_classes, sample_weight)
        self.confusion.assign_add(ops.cast(counts, self.confusion.dtype))

    def result(self):
        return ops.convert_to_tensor(self.confusion)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="zoo")
class SegmentationMetrics(ConfusionMatrix):
    """The four metrics of §3.4.1 over everything seen since the last reset.

    `result()` is a dict {"pixel_accuracy", "mean_accuracy", "mean_iu", "frequency_weighted_iu"};
    with `model.compile(metrics=[SegmentationMetrics(21)])` these are the log keys.
    """

    def __init__(self, num_classes: int, name="segmentation_metrics", **kwargs):
        super().__init__(num_classes, name=name, **kwargs)

    def result(self):
        return _scores(self.confusion)
