"""What every training step shares: the optimizer a recipe's [optimizer] table describes, and
Caffe's per-variable lr_mult / decay_mult applied to gradients."""

from __future__ import annotations

import dataclasses
import fnmatch

import keras
import tensorflow as tf

from zoo.errors import ConfigError


@dataclasses.dataclass
class NoStepOptions:
    """A step that takes no options: the recipe's [step] table must be empty."""


def make_optimizer(opt_cfg, learning_rate, *, mixed_precision: str = ""):
    """The Keras optimizer of an [optimizer] table (recipes.OptimizerConfig) with `learning_rate`
    (a float or a schedule)."""
    clip = {"global_clipnorm": opt_cfg.clipnorm} if opt_cfg.clipnorm > 0 else {}
    if opt_cfg.name == "sgd":
        # Keras SGD with momentum (v = m v - lr g; w += v) equals Caffe's SGD update (v = m v + lr g; w -= v).
        opt = keras.optimizers.SGD(learning_rate=learning_rate, momentum=opt_cfg.momentum, **clip)
    else:
        opt = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=opt_cfg.beta_1, beta_2=opt_cfg.beta_2, **clip)
    if mixed_precision == "mixed_float16":
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt


def variable_multipliers(variables, lr_mults):
    """(lr_mult, decay_mult) per variable from the recipe's [[lr_mult]] patterns; the last match wins."""
    out = []
    for v in variables:
        lr, decay = 1.0, 1.0
        for rule in lr_mults:
            if fnmatch.fnmatch(v.path, rule.pattern):
                lr, decay = rule.lr_mult, rule.decay_mult
        out.append((lr, decay))
    return out


class GradientUpdate:
    """One optimizer over a set of variables, with Caffe's weight decay and lr_mult.

    Variables whose lr_mult is 0 are left out (frozen). `apply(grads)` takes gradients of the
    replica's loss share for `self.variables`.
    """

    def __init__(self, variables, optimizer, *, lr_mults, weight_decay, num_replicas, what="the model"):
        mults = variable_multipliers(variables, lr_mults)
        self.variables = [v for v, (lr, _) in zip(variables, mults) if lr != 0.0]
        self.mults = [m for m in mults if m[0] != 0.0]
        if not self.variables:
            raise ConfigError(f"every trainable variable of {what} has lr_mult 0: nothing to train")
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.num_replicas = num_replicas
        optimizer.build(self.variables)

    def apply(self, grads):
        out = []
        for g, v, (lr_mult, decay_mult) in zip(grads, self.variables, self.mults):
            if g is None:
                out.append(None)
                continue
            if self.weight_decay and decay_mult:
                # Caffe's regularisation (sgd_solver.cpp Regularize): g += weight_decay * decay_mult * w.
                # Gradients are summed over replicas, so each replica adds its share.
                g = g + (self.weight_decay * decay_mult / self.num_replicas) * tf.cast(v.value, g.dtype)
            if lr_mult != 1.0:
                # Caffe's lr_mult scales this variable's step; for (momentum) SGD that is exactly a gradient scale.
                g = g * lr_mult
            out.append(g)
        self.optimizer.apply_gradients(zip(out, self.variables))


def model_losses(model, num_replicas):
    """This replica's share of the model's `add_loss` terms (DRAW's KL, an attention penalty, ...),
    computed on the replica's batch by the forward pass just run: each replica adds 1/num_replicas,
    so a term that is a mean over the batch contributes the mean over the global batch."""
    if not model.losses:
        return 0.0
    return tf.add_n([tf.cast(term, tf.float32) for term in model.losses]) / num_replicas


class GradientStep:
    """The interface of a gradient step (see the package docstring).

    Built as `cls(model, recipe, task, num_replicas=, drops=, counter=, options=)`: `drops` is the
    plateau schedule's drop count, `counter` the runner's step variable (the number of the update
    being made; read, never written, by the step), `options` the recipe's [step] table as `Options`.
    """

    name = ""
    Options = NoStepOptions

    def variables(self) -> dict:
        """{name: variable} of the step's own state (optimizers) for the backup."""
        raise NotImplementedError

    def replica_step(self, batch):
        """One update from this replica's `batch` (inside strategy.run); returns its loss share."""
        raise NotImplementedError

    def run(self, strategy, batch):
        """One update from a distributed `batch` (cross-replica context, inside the runner's
        tf.function); returns the loss of the global batch."""
        return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(self.replica_step, args=(batch,)), axis=None)

    def learning_rates(self, step) -> dict:
        """{name: learning rate at `step`} for the logs."""
        raise NotImplementedError


class FitStep:
    """The interface of a staged step: not per batch, but one `fit` over the training split (built
    like a GradientStep). The runner gives it the split once, in order, as (x, y) global batches."""

    name = ""
    Options = NoStepOptions

    def variables(self) -> dict:
        """{name: variable} of the step's own state for the backup (none by default)."""
        return {}

    def fit(self, model, dataset, workdir, chief) -> float:
        """Fit the model on `dataset`, keeping resumable work under `workdir` (written by the `chief`);
        returns the training objective for the log."""
        raise NotImplementedError

    def learning_rates(self, step) -> dict:
        return {}
