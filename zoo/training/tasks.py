"""What a task means to the runner: how a dataset example becomes (input, target), the loss, and
the evaluation. One place per task, so recipes of every family share the same step loop."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.preprocessing import ImagePreprocessing


def example_to_xy(task: str, contract):
    """A tf.data map function: dataset dict -> (network input, target)."""
    preprocess = ImagePreprocessing.from_contract(contract)
    if task == "segmentation":
        def fn(ex):
            return preprocess(ex["image"]), tf.cast(ex["segmentation"], tf.int32)
    elif task == "classification":
        def fn(ex):
            return preprocess(ex["image"]), tf.cast(ex["label"], tf.int32)
    else:
        raise ConfigError(f"the recipe runner does not train {task!r} models yet")
    return fn


def _primary(outputs):
    """Models with auxiliary training heads (GoogLeNet) return a list; the first is the main output."""
    return outputs[0] if isinstance(outputs, (list, tuple)) else outputs


def replica_loss(task, outputs, targets, *, loss_cfg, global_batch_size):
    """This replica's share of the global loss: summing it over replicas gives the loss of the global batch.

    Segmentation: softmax cross-entropy per pixel, pixels labelled `ignore_label` (or outside [0, C))
    excluded; `normalize=False` sums over pixels as the FCN reference does (SoftmaxWithLoss,
    normalize: false), `normalize=True` divides by the number of valid pixels in the global batch.
    Classification: mean over the global batch. Auxiliary heads (GoogLeNet §5) weigh 0.3 each.
    """
    heads = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    weights = [1.0] + [0.3] * (len(heads) - 1)
    total = 0.0
    for w, logits in zip(weights, heads):
        logits = tf.cast(logits, tf.float32)
        if task == "segmentation":
            num_classes = logits.shape[-1]
            valid = (targets >= 0) & (targets < num_classes) & (targets != loss_cfg.ignore_label)
            safe = tf.where(valid, targets, 0)
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=safe, logits=logits)
            summed = tf.reduce_sum(ce * tf.cast(valid, tf.float32))
            if loss_cfg.normalize:
                count = tf.reduce_sum(tf.cast(valid, tf.float32))
                ctx = tf.distribute.get_replica_context()
                if ctx is not None and ctx.num_replicas_in_sync > 1:
                    count = ctx.all_reduce(tf.distribute.ReduceOp.SUM, count)
                summed = summed / tf.maximum(count, 1.0)
            total += w * summed
        else:
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
            total += w * (tf.reduce_sum(ce) if not loss_cfg.normalize else tf.reduce_sum(ce) / global_batch_size)
    return total


class Evaluator:
    """Accumulates predictions over an eval split and reports the task's metrics."""

    def __init__(self, task, num_classes, ignore_label=255):
        self.task, self.num_classes, self.ignore_label = task, num_classes, ignore_label
        self.confusion = np.zeros((num_classes, num_classes), np.int64)

    def update(self, outputs, targets):
        logits = _primary(outputs)
        pred = tf.argmax(logits, axis=-1, output_type=tf.int32)
        t = tf.reshape(targets, [-1])
        p = tf.reshape(pred, [-1])
        keep = (t >= 0) & (t < self.num_classes)
        cm = tf.math.confusion_matrix(tf.boolean_mask(t, keep), tf.boolean_mask(p, keep), self.num_classes, dtype=tf.int64)
        self.confusion += cm.numpy()

    def result(self) -> dict:
        from zoo.metrics.segmentation import metrics_from_confusion

        if self.task == "segmentation":
            return {k: float(v) for k, v in metrics_from_confusion(self.confusion).items()}
        total = self.confusion.sum()
        return {"accuracy": float(np.trace(self.confusion) / max(total, 1))}
