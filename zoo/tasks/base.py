"""What a task means to the runner: how a dataset example becomes (input, target), the loss, the
evaluation, the training step that updates the model, and the evaluation options of the
recipe's [eval] table.

A task kind is a module of `zoo.tasks` that lists its tasks in `TASKS`; a model card names its
task (`card.task`) and `zoo.tasks.get(name)` returns it. Model inputs are made from dataset
features as the card's InputContract says (`model_input`), so a two-input net (FCN RGB-HHA) or a
4-channel one (FCN RGBD) trains from the same loader as the single-image nets.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import re

import numpy as np
import tensorflow as tf

from zoo.config_tables import build_table
from zoo.errors import ConfigError
from zoo.preprocessing import ImagePreprocessing


@dataclasses.dataclass
class NoEvalOptions:
    """A task whose evaluation takes no options: its [eval] table must be empty."""


class Task:
    """The runner's view of a task.

    `replica_loss` returns this replica's share of the global loss: summed over replicas it is
    the loss of the global batch. `step` names the training step (zoo.training.steps) that
    updates the model: "supervised" (one optimizer on this loss plus the model's `add_loss`
    terms), "adversarial" (several optimizers over named sub-models) or "staged" (a non-gradient
    learner fitted on frozen features). `EvalOptions` is the dataclass of the recipe's [eval]
    table for this task, checked when the recipe loads.
    """

    name = ""
    step = "supervised"
    EvalOptions = NoEvalOptions
    # The metrics the evaluator reports (fnmatch patterns), what `train.monitor` may name; () = not declared.
    metrics: tuple = ()

    def metric_names(self, options) -> tuple:
        """The metric names (fnmatch patterns) the evaluator reports with these [eval] options."""
        return self.metrics

    def example_to_xy(self, contract):
        """A tf.data map function: dataset dict -> (network input, target)."""
        raise NotImplementedError

    def bind(self, recipe, info, load, model=None) -> "Task":
        """The task whose input mapping fits this run's data: `recipe`, the dataset's `info`,
        `load(split)` -> that split's examples, and the model once built. Tasks whose mapping
        depends on the data (a caption vocabulary) return a configured copy; the others themselves."""
        return self

    def eval_example_to_xy(self, contract):
        """The evaluation split's map function; its targets may carry more than the loss needs
        (video ids, caption ids, the decoder's inputs). The training one by default."""
        return self.example_to_xy(contract)

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        raise NotImplementedError

    def evaluator(self, model, ignore_label=255, eval_cfg=None) -> "Evaluator":
        """`eval_cfg` is the recipe's [eval] table as this task's EvalOptions, or None for its defaults."""
        raise NotImplementedError

    # What `bind` fixes for `checked_labels` (a LabelRange): the classes the model scores, the ignore label.
    label_range = None

    def with_label_range(self, recipe, info, model) -> "Task":
        """A copy of this task whose `checked_labels` refuses labels outside [0, classes) (the bind of tasks
        with class labels); itself while the model is not built."""
        if model is None:
            return self
        bound = copy.copy(self)
        ignore = self.ignore_label if hasattr(self, "ignore_label") else recipe.loss.ignore_label
        data = recipe.data if recipe is not None else None
        dataset = info.name + (f"' or '{data.eval_name}" if data is not None and data.eval_name else "")
        bound.label_range = LabelRange(output_classes(model), ignore, dataset)
        return bound

    def checked_labels(self, labels, ex, head=0):
        """`labels`, checked against the bound LabelRange (unchecked when unbound)."""
        return labels if self.label_range is None else self.label_range(labels, ex, head)

    def check_targets(self, model, info) -> None:
        """ConfigError when the dataset's labels cannot be the model's targets (e.g. more classes
        than the model scores); called by the runner once the model is built. Nothing by default."""

    def for_recipe(self, recipe) -> "Task":
        """The task as a recipe's tables set its test protocol, for the runner's evaluation (`zoo train`,
        `zoo eval`), which has no dataset at hand: a task whose evaluator depends on the recipe's [step]
        table (weak_sup's variant) returns a configured copy; the others themselves."""
        return self

    def eval_options(self, table: dict):
        """The recipe's [eval] table as this task's EvalOptions, checked (ConfigError naming the key)."""
        options = build_table(self.EvalOptions, table, ("eval",))
        check = getattr(options, "check", None)
        if check is not None:
            check()
        return options


class Evaluator:
    """Accumulates a split's predictions (`update`) and reports the task's metrics (`result`)."""

    def update(self, outputs, targets):
        raise NotImplementedError

    def result(self) -> dict:
        raise NotImplementedError


# ----------------------------------------------------------------------------- helpers shared by the kinds


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
    if contract.kind in ("image", "clip") and (
        contract.channel_order is not None or contract.mean is not None or contract.std is not None
    ):
        # (no channel_order: keep the stored channels, e.g. LRCN's flow images minus 128, grayscale / 255)
        preprocess = ImagePreprocessing.from_contract(contract)
        return lambda ex: preprocess(ex[source])
    return lambda ex: tf.cast(ex[source], contract.dtype)


def first_output(outputs):
    """Models with auxiliary training heads (GoogLeNet) return a list; the first is the main output."""
    return outputs[0] if isinstance(outputs, (list, tuple)) else outputs


def output_classes(model) -> list[int]:
    """The number of classes each output of `model` scores (its last axis)."""
    outputs = model.outputs if isinstance(model.outputs, (list, tuple)) else [model.outputs]
    return [int(o.shape[-1]) for o in outputs]


EXAMPLE_ID_KEYS = ("id", "image_id", "video_id", "file_name")
_DATA_ERROR = re.compile(r"<zoo-data-error>(.*?)</zoo-data-error>", re.S)


def assert_in_data(condition, message):
    """An assertion inside a tf.data map: when `condition` is false the iteration stops with `message` (a
    string tensor or str), which `reraise_data_errors` turns into a ConfigError for the user."""
    return tf.debugging.Assert(condition, [tf.strings.join(["<zoo-data-error>", message, "</zoo-data-error>"])])


@contextlib.contextmanager
def reraise_data_errors():
    """Turn a failed `assert_in_data` (TensorFlow reports it as InvalidArgumentError) into a ConfigError."""
    try:
        yield
    except tf.errors.InvalidArgumentError as e:
        match = _DATA_ERROR.search(e.message or "")
        if match is None:
            raise
        raise ConfigError(match.group(1).replace('\\"', '"').replace("\\'", "'")) from None


class LabelRange:
    """Labels must lie in [0, classes) or be the ignore label: a label past the model's classes would be left
    out of the loss and the metrics without a word. Called in the input pipeline on each example's labels;
    the error gives the count of such labels in the first example that has them, its id and the fix."""

    def __init__(self, classes, ignore_label, dataset):
        self.classes, self.ignore_label, self.dataset = list(classes), ignore_label, dataset

    def __call__(self, labels, ex, head=0):
        classes = self.classes[min(head, len(self.classes) - 1)]
        flat = tf.reshape(labels, [-1])
        bad = (flat < 0) | (flat >= classes)
        if self.ignore_label is not None:
            bad &= flat != self.ignore_label
        count = tf.reduce_sum(tf.cast(bad, tf.int32))
        key = next((k for k in EXAMPLE_ID_KEYS if k in ex), None)
        name = tf.strings.as_string(ex[key]) if key and ex[key].dtype != tf.string else ex[key] if key else "(no id)"
        ignore = f" and not the ignore label {self.ignore_label}" if self.ignore_label is not None else ""
        message = tf.strings.format(
            "{} label(s) of example {} of dataset '" + self.dataset + f"' are outside [0, {classes}){ignore} "
            "(e.g. {}): the model scores " + f"{classes} classes. Set model.options.num_classes to the dataset's number "
            "of classes (--set model.options.num_classes=N)" + (", or loss.ignore_label to the label of unlabelled "
                                                               "pixels" if self.ignore_label is not None else ""),
            (count, name, tf.boolean_mask(flat, bad)[:1]))
        with tf.control_dependencies([assert_in_data(count == 0, message)]):
            return tf.identity(labels)


def all_reduce_sum(value):
    """`value` summed over the replicas (itself outside a multi-replica context)."""
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        return ctx.all_reduce(tf.distribute.ReduceOp.SUM, value)
    return value


def python_key(value):
    """A Python dict key from an id tensor element (bytes ids are decoded)."""
    value = value.item() if isinstance(value, np.generic) else value
    return value.decode() if isinstance(value, bytes) else value


def first_key(ex, keys, what):
    """The first of `keys` that example `ex` has (ConfigError naming `what` when none)."""
    for key in keys:
        if key in ex:
            return key
    raise ConfigError(f"the examples have no {what} (one of {', '.join(keys)}); they have {', '.join(sorted(ex))}")


def check_num_classes(info, model, what="labels"):
    """ConfigError when the dataset has more classes than the model's first output scores."""
    data_classes = getattr(info, "num_classes", None)
    model_classes = output_classes(model)[0]
    if data_classes is not None and data_classes > model_classes:
        raise ConfigError(
            f"dataset {info.name!r} has {data_classes} classes but the model scores {model_classes}: its {what} "
            f"{model_classes}..{data_classes - 1} could not be learned. Set model.options.num_classes = {data_classes} "
            f"(--set model.options.num_classes={data_classes}).")
