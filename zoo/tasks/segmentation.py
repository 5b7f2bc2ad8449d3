"""Segmentation tasks: a class at every pixel (FCN, Long thesis ch. 3), with the metrics of §3.4.1
from one confusion matrix accumulated over the split."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.metrics.confusion import confusion_matrix
from zoo.metrics.segmentation import METRIC_NAMES, metrics_from_confusion
from zoo.tasks.base import Evaluator, Task, all_reduce_sum, check_num_classes, model_input, output_classes


def label_map(labels):
    """(H, W) int32 class ids from a stored (H, W) or (H, W, 1) map."""
    labels = tf.cast(labels, tf.int32)
    return labels[..., 0] if labels.shape.rank == 3 else labels


def cell_mask(shape, keep_probability, cell):
    """A (N, H, W) boolean mask, constant on each cell x cell block (the blocks start at the top-left
    pixel), each block True with probability `keep_probability`, drawn anew at every call."""
    n, h, w = shape[0], shape[1], shape[2]
    cells = tf.random.uniform([n, (h + cell - 1) // cell, (w + cell - 1) // cell]) < keep_probability
    blocks = tf.repeat(tf.repeat(cells, cell, axis=1), cell, axis=2)
    return blocks[:, :h, :w]


def pixel_loss(logits, targets, *, loss_cfg):
    """Softmax cross-entropy per pixel of this replica; pixels labelled `ignore_label` or outside
    [0, C) are excluded. `normalize=False` sums over pixels as the FCN reference does
    (SoftmaxWithLoss with normalize: false); `normalize=True` divides by the number of valid
    pixels in the global batch, so the replicas' shares add up to the global mean. With
    `loss_cfg.sample_fraction` p < 1, each final-layer cell's pixels stay in the loss with
    probability p (patch sampling, Long thesis §3.2.4), and only the kept ones are counted."""
    logits = tf.cast(logits, tf.float32)
    num_classes = logits.shape[-1]
    valid = (targets >= 0) & (targets < num_classes) & (targets != loss_cfg.ignore_label)
    if loss_cfg.sample_fraction < 1.0:
        valid &= cell_mask(tf.shape(targets), loss_cfg.sample_fraction, loss_cfg.sample_cell)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.where(valid, targets, 0), logits=logits)
    summed = tf.reduce_sum(ce * tf.cast(valid, tf.float32))
    if loss_cfg.normalize:
        count = all_reduce_sum(tf.reduce_sum(tf.cast(valid, tf.float32)))
        summed = summed / tf.maximum(count, 1.0)
    return summed


class SegmentationEvaluator(Evaluator):
    """The four metrics of §3.4.1 over the split, plus the mean IU over the classes present in the
    ground truth (SIFT Flow's convention, thesis Table 3.6, footnote 10: a class absent from the
    test set but predicted does not count as 0)."""

    def __init__(self, num_classes):
        self.num_classes = num_classes
        self.confusion = np.zeros((num_classes, num_classes), np.int64)

    def update(self, outputs, targets):
        self.confusion += confusion_matrix(targets, outputs, self.num_classes)

    def result(self) -> dict:
        metrics = metrics_from_confusion(self.confusion)
        present = self.confusion.sum(axis=1) > 0
        union = self.confusion.sum(axis=1) + self.confusion.sum(axis=0) - np.diag(self.confusion)
        metrics["mean_iu_present_classes"] = float(np.mean(np.diag(self.confusion)[present] / union[present])) \
            if present.any() else float("nan")
        return metrics


class Segmentation(Task):
    """Per-pixel classification (FCN, thesis §3.2); metrics of §3.4.1 from a confusion matrix."""

    name = "segmentation"
    metrics = (*METRIC_NAMES, "mean_iu_present_classes")

    def example_to_xy(self, contract):
        make_input = model_input(contract)
        return lambda ex: (make_input(ex), self.checked_labels(label_map(ex["segmentation"]), ex))

    def bind(self, recipe, info, load, model=None):
        return self.with_label_range(recipe, info, model)

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        if isinstance(outputs, (list, tuple)):
            raise ConfigError("a segmentation model has one output; several heads are the multitask_segmentation task")
        return pixel_loss(outputs, targets, loss_cfg=loss_cfg)

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return SegmentationEvaluator(output_classes(model)[0])

    def check_targets(self, model, info):
        check_num_classes(info, model, "pixel labels")


class MultitaskSegmentation(Task):
    """Two per-pixel heads on one trunk, semantic and geometric (SIFT Flow, thesis §3.4.2, Table 3.6).

    Targets are the dataset's "segmentation" and "geometry" maps; the loss is the sum of the two
    heads' pixel losses, as the reference sums `loss` and `loss_geo`. Evaluation reports the
    semantic head's four metrics and the geometric head's as `geometric_<metric>`.
    """

    name = "multitask_segmentation"
    metrics = (*Segmentation.metrics, *(f"geometric_{m}" for m in Segmentation.metrics))
    TARGETS = ("segmentation", "geometry")

    def example_to_xy(self, contract):
        make_input = model_input(contract)
        return lambda ex: (make_input(ex), tuple(self.checked_labels(label_map(ex[k]), ex, head)
                                                 for head, k in enumerate(self.TARGETS)))

    def bind(self, recipe, info, load, model=None):
        return self.with_label_range(recipe, info, model)

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        if not isinstance(outputs, (list, tuple)) or len(outputs) != len(self.TARGETS):
            raise ConfigError(f"a multitask_segmentation model returns {len(self.TARGETS)} score maps (semantic, geometric)")
        return sum(pixel_loss(o, t, loss_cfg=loss_cfg) for o, t in zip(outputs, targets))

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return _MultitaskEvaluator(output_classes(model))


class _MultitaskEvaluator(Evaluator):
    def __init__(self, classes):
        self.heads = [SegmentationEvaluator(c) for c in classes]

    def update(self, outputs, targets):
        for head, o, t in zip(self.heads, outputs, targets):
            head.update(o, t)

    def result(self):
        semantic, geometric = (head.result() for head in self.heads)
        return {**semantic, **{f"geometric_{k}": v for k, v in geometric.items()}}


TASKS = (Segmentation(), MultitaskSegmentation())
