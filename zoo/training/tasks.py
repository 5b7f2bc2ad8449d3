"""What a task means to the runner: how a dataset example becomes (input, target), the loss, and
the evaluation. One class per task, so recipes of every family share the same step loop.

A model card names its task (`card.task`); `get(name)` returns the Task the runner uses. Model
inputs are made from dataset features as the card's InputContract says (`model_input`), so a
two-input net (FCN RGB-HHA) or a 4-channel one (FCN RGBD) trains from the same loader as the
single-image nets.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.preprocessing import ImagePreprocessing


# ----------------------------------------------------------------------------- inputs


def model_input(contract):
    """A function dataset example -> the network input (a dict for multi-input models)."""
    if contract.streams:
        parts = {stream.name: model_input(stream) for stream in contract.streams}
        return lambda ex: {name: fn(ex) for name, fn in parts.items()}
    source = contract.sources[0]
    if contract.kind == "rgbd":
        # FCN RGBD (thesis §3.4.2; reference nyud_layers.py): the picture as the colour channels
        # expect it, then log(depth in mm) minus its mean. Missing depth (0) is clamped to 1 mm.
        colour = ImagePreprocessing(channel_order=contract.channel_order, mean=contract.mean[:-1])
        log_depth_mean = float(contract.mean[-1])

        def rgbd(ex):
            depth = tf.cast(ex["depth"], tf.float32)
            if depth.shape.rank == 2:
                depth = depth[..., None]
            return tf.concat([colour(ex["image"]), tf.math.log(tf.maximum(depth, 1.0)) - log_depth_mean], axis=-1)

        return rgbd
    if contract.kind in ("image", "clip") and contract.channel_order is not None:
        preprocess = ImagePreprocessing.from_contract(contract)
        return lambda ex: preprocess(ex[source])
    return lambda ex: tf.cast(ex[source], contract.dtype)


def _label_map(labels):
    """(H, W) int32 class ids from a stored (H, W) or (H, W, 1) map."""
    labels = tf.cast(labels, tf.int32)
    return labels[..., 0] if labels.shape.rank == 3 else labels


def _first(outputs):
    """Models with auxiliary training heads (GoogLeNet) return a list; the first is the main output."""
    return outputs[0] if isinstance(outputs, (list, tuple)) else outputs


def _all_reduce_sum(value):
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        return ctx.all_reduce(tf.distribute.ReduceOp.SUM, value)
    return value


def pixel_loss(logits, targets, *, loss_cfg):
    """Softmax cross-entropy per pixel of this replica; pixels labelled `ignore_label` or outside
    [0, C) are excluded. `normalize=False` sums over pixels as the FCN reference does
    (SoftmaxWithLoss with normalize: false); `normalize=True` divides by the number of valid
    pixels in the global batch, so the replicas' shares add up to the global mean."""
    logits = tf.cast(logits, tf.float32)
    num_classes = logits.shape[-1]
    valid = (targets >= 0) & (targets < num_classes) & (targets != loss_cfg.ignore_label)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.where(valid, targets, 0), logits=logits)
    summed = tf.reduce_sum(ce * tf.cast(valid, tf.float32))
    if loss_cfg.normalize:
        count = _all_reduce_sum(tf.reduce_sum(tf.cast(valid, tf.float32)))
        summed = summed / tf.maximum(count, 1.0)
    return summed


def _confusion(logits, targets, num_classes):
    pred = tf.argmax(logits, axis=-1, output_type=tf.int32)
    t, p = tf.reshape(targets, [-1]), tf.reshape(pred, [-1])
    keep = (t >= 0) & (t < num_classes)
    cm = tf.math.confusion_matrix(tf.boolean_mask(t, keep), tf.boolean_mask(p, keep), num_classes, dtype=tf.int64)
    return cm.numpy()


def _classes(model):
    outputs = model.outputs if isinstance(model.outputs, (list, tuple)) else [model.outputs]
    return [int(o.shape[-1]) for o in outputs]


# ----------------------------------------------------------------------------- tasks


class Task:
    """The runner's view of a task. `replica_loss` returns this replica's share of the global
    loss: summed over replicas it is the loss of the global batch."""

    name = ""

    def example_to_xy(self, contract):
        """A tf.data map function: dataset dict -> (network input, target)."""
        raise NotImplementedError

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        raise NotImplementedError

    def evaluator(self, model, ignore_label=255) -> "Evaluator":
        raise NotImplementedError


class Evaluator:
    """Accumulates a split's predictions (`update`) and reports the task's metrics (`result`)."""

    def update(self, outputs, targets):
        raise NotImplementedError

    def result(self) -> dict:
        raise NotImplementedError


class ConfusionEvaluator(Evaluator):
    def __init__(self, num_classes, segmentation: bool):
        self.num_classes, self.segmentation = num_classes, segmentation
        self.confusion = np.zeros((num_classes, num_classes), np.int64)

    def update(self, outputs, targets):
        self.confusion += _confusion(_first(outputs), targets, self.num_classes)

    def result(self) -> dict:
        from zoo.metrics.segmentation import metrics_from_confusion

        if self.segmentation:
            return {k: float(v) for k, v in metrics_from_confusion(self.confusion).items()}
        return {"accuracy": float(np.trace(self.confusion) / max(self.confusion.sum(), 1))}


class Segmentation(Task):
    """Per-pixel classification (FCN, thesis §3.2); metrics of §3.4.1 from a confusion matrix."""

    name = "segmentation"

    def example_to_xy(self, contract):
        make_input = model_input(contract)
        return lambda ex: (make_input(ex), _label_map(ex["segmentation"]))

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        if isinstance(outputs, (list, tuple)):
            raise ConfigError("a segmentation model has one output; several heads are the multitask_segmentation task")
        return pixel_loss(outputs, targets, loss_cfg=loss_cfg)

    def evaluator(self, model, ignore_label=255):
        return ConfusionEvaluator(_classes(model)[0], segmentation=True)


class MultitaskSegmentation(Task):
    """Two per-pixel heads on one trunk, semantic and geometric (SIFT Flow, thesis §3.4.2, Table 3.6).

    Targets are the dataset's "segmentation" and "geometry" maps; the loss is the sum of the two
    heads' pixel losses, as the reference sums `loss` and `loss_geo`. Evaluation reports the
    semantic head's four metrics and the geometric head's as `geometric_<metric>`.
    """

    name = "multitask_segmentation"
    TARGETS = ("segmentation", "geometry")

    def example_to_xy(self, contract):
        make_input = model_input(contract)
        return lambda ex: (make_input(ex), tuple(_label_map(ex[k]) for k in self.TARGETS))

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        if not isinstance(outputs, (list, tuple)) or len(outputs) != len(self.TARGETS):
            raise ConfigError(f"a multitask_segmentation model returns {len(self.TARGETS)} score maps (semantic, geometric)")
        return sum(pixel_loss(o, t, loss_cfg=loss_cfg) for o, t in zip(outputs, targets))

    def evaluator(self, model, ignore_label=255):
        return _MultitaskEvaluator(_classes(model))


class _MultitaskEvaluator(Evaluator):
    def __init__(self, classes):
        self.heads = [ConfusionEvaluator(c, segmentation=True) for c in classes]

    def update(self, outputs, targets):
        for head, o, t in zip(self.heads, outputs, targets):
            head.update(o, t)

    def result(self):
        semantic, geometric = (head.result() for head in self.heads)
        return {**semantic, **{f"geometric_{k}": v for k, v in geometric.items()}}


class Classification(Task):
    """One label per example; auxiliary heads (GoogLeNet §5) weigh 0.3 each."""

    name = "classification"

    def example_to_xy(self, contract):
        make_input = model_input(contract)
        return lambda ex: (make_input(ex), tf.cast(ex["label"], tf.int32))

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        heads = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        total = 0.0
        for weight, logits in zip([1.0] + [0.3] * (len(heads) - 1), heads):
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=tf.cast(logits, tf.float32))
            total += weight * (tf.reduce_sum(ce) / global_batch_size if loss_cfg.normalize else tf.reduce_sum(ce))
        return total

    def evaluator(self, model, ignore_label=255):
        return ConfusionEvaluator(_classes(model)[0], segmentation=False)


TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    if task.name in TASKS:
        raise ValueError(f"task {task.name!r} is already registered")
    TASKS[task.name] = task
    return task


for _task in (Segmentation(), MultitaskSegmentation(), Classification()):
    register_task(_task)


def get(name: str) -> Task:
    if name not in TASKS:
        raise ConfigError(f"the recipe runner does not train {name!r} models; it trains {sorted(TASKS)}")
    return TASKS[name]
