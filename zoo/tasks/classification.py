"""Classification tasks: one label per example (softmax), or several (multi-label, one binary
logistic output per class as in Oquab's weakly supervised networks, thesis Eq. 4.1)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.metrics.confusion import confusion_matrix
from zoo.metrics.ranking import multilabel_average_precision
from zoo.tasks.base import Evaluator, Task, check_num_classes, first_output, model_input, output_classes


class AccuracyEvaluator(Evaluator):
    """Top-1 accuracy from the confusion matrix of the split."""

    def __init__(self, num_classes):
        self.num_classes = num_classes
        self.confusion = np.zeros((num_classes, num_classes), np.int64)

    def update(self, outputs, targets):
        self.confusion += confusion_matrix(targets, first_output(outputs), self.num_classes)

    def result(self) -> dict:
        return {"accuracy": float(np.trace(self.confusion) / max(self.confusion.sum(), 1))}


class Classification(Task):
    """One label per example; auxiliary heads (GoogLeNet §5) weigh 0.3 each."""

    name = "classification"
    metrics = ("accuracy",)
    ignore_label = None  # every example has a class

    def example_to_xy(self, contract):
        make_input = model_input(contract)
        return lambda ex: (make_input(ex), self.checked_labels(tf.cast(ex["label"], tf.int32), ex))

    def bind(self, recipe, info, load, model=None):
        return self.with_label_range(recipe, info, model)

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        heads = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        total = 0.0
        for weight, logits in zip([1.0] + [0.3] * (len(heads) - 1), heads):
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=tf.cast(logits, tf.float32))
            total += weight * (tf.reduce_sum(ce) / global_batch_size if loss_cfg.normalize else tf.reduce_sum(ce))
        return total

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return AccuracyEvaluator(output_classes(model)[0])

    def check_targets(self, model, info):
        check_num_classes(info, model)


class ClassAccuracyEvaluator(AccuracyEvaluator):
    """Top-1 accuracy and the mean per-class accuracy (DeCAF's Caltech-101 and SUN-397 metric, Donahue
    thesis §2.3.1: the mean over the classes present in the split of each class's accuracy)."""

    def result(self) -> dict:
        support = self.confusion.sum(axis=1)
        present = support > 0
        per_class = np.diag(self.confusion)[present] / support[present]
        return {**super().result(), "mean_class_accuracy": float(per_class.mean()) if present.any() else 0.0}


class FeatureClassification(Classification):
    """Classification by a learner fitted on frozen features (the staged step): R-CNN's per-class
    SVMs (Girshick et al. 2014), DeCAF's logistic regression and SVMs (Donahue et al. 2014)."""

    name = "feature_classification"
    step = "staged"
    metrics = ("accuracy", "mean_class_accuracy")

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return ClassAccuracyEvaluator(output_classes(model)[0])


class MultiLabelEvaluator(Evaluator):
    """Average precision of each class over the split (classes ranked by their scores; VOC
    classification, area under the interpolated precision/recall curve) and their mean."""

    def __init__(self):
        self.scores, self.labels = [], []

    def update(self, outputs, targets):
        self.scores.append(np.asarray(first_output(outputs), np.float64))
        self.labels.append(np.asarray(targets))

    def result(self) -> dict:
        return multilabel_average_precision(np.concatenate(self.scores), np.concatenate(self.labels))


class MultiLabelClassification(Task):
    """Several labels per example: "labels" is (C,) with 1 for present classes, 0 for absent ones
    and -1 for "difficult" ones (left out of the loss and the AP, as the VOC devkit does).

    Loss: the sum over classes of binary logistic losses on the model's scores (Oquab thesis
    Eq. 4.1), divided by the global batch (`normalize=True`) or summed.
    """

    name = "multilabel_classification"
    metrics = ("mean_ap", "ap_*")

    def example_to_xy(self, contract):
        make_input = model_input(contract)
        return lambda ex: (make_input(ex), tf.cast(ex["labels"], tf.float32))

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        logits = tf.cast(first_output(outputs), tf.float32)
        known = tf.cast(targets >= 0, tf.float32)
        bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.maximum(targets, 0.0), logits=logits) * known
        total = tf.reduce_sum(bce)
        return total / global_batch_size if loss_cfg.normalize else total

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return MultiLabelEvaluator()


TASKS = (Classification(), FeatureClassification(), MultiLabelClassification())
