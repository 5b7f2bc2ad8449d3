"""What a task means to the runner: how a dataset example becomes (input, target), the loss, the
evaluation, the training step that updates the model, and the evaluation options of the
recipe's [eval] table.

A task kind is a module of `zoo.tasks` that lists its tasks in `TASKS`; a model card names its
task (`card.task`) and `zoo.tasks.get(name)` returns it. Model inputs are made from dataset
features as the card's InputContract says (`model_input`), so a two-input net (FCN RGB-HHA) or a
4-channel one (FCN RGBD) trains from the same loader as the single-image nets.
"""

from __future__ import annotations

import dataclasses

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

    def check_targets(self, model, info) -> None:
        """ConfigError when the dataset's labels cannot be the model's targets (e.g. more classes
        than the model scores); called by the runner once the model is built. Nothing by default."""

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
