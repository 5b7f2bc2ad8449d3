"""Variational generation: a model of binary images trained on the variational bound (DRAW,
Gregor et al. 2015 §2.2), reported as the negative log-likelihood bound in nats.

The model takes {"image": x in {0, 1} (H, W, 1), "noise": ε (T, z)} and returns [canvas logits
(N, H·W), KL per example (N,), ...], adding the batch mean of the KL through `add_loss` (so the
supervised step adds it to this task's reconstruction loss). When training, the model draws its
own noise (the input is zeros); for evaluation ε is drawn here from each example's content, so
a split's bound is the same on every evaluation.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.tasks.base import Evaluator, Task


def binarized(ex):
    """The example's "image" as float 0/1 (pixels > 0 are 1: datasets here are stored binarized)."""
    return tf.cast(ex["image"] > 0, tf.float32)


def bernoulli_nll(logits, x):
    """-log D(x | c_T) per example, D = σ(c_T) (eq. 9), in nats: the summed sigmoid cross-entropy."""
    return np.sum(np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits))), axis=-1)


class BoundEvaluator(Evaluator):
    """The mean over the split of the reconstruction, the KL and their sum, the NLL bound (nats; eq. 12
    with one posterior sample per image)."""

    def __init__(self):
        self.sums = np.zeros(2)
        self.count = 0

    def update(self, outputs, targets):
        logits, kl = np.asarray(outputs[0], np.float64), np.asarray(outputs[1], np.float64)
        x = np.asarray(targets, np.float64).reshape(len(logits), -1)
        self.sums += [bernoulli_nll(logits, x).sum(), kl.sum()]
        self.count += len(logits)

    def result(self):
        reconstruction, kl = self.sums / max(self.count, 1)
        bound = reconstruction + kl
        # elbo_nats = -bound: the runner's train.monitor keeps the highest value
        return {"nll_bound_nats": bound, "reconstruction_nats": reconstruction, "kl_nats": kl, "elbo_nats": -bound}


class VariationalGeneration(Task):
    """Binary images on the variational bound: loss = Σ pixels sigmoid cross-entropy of the canvas
    (summed over this replica's examples / the global batch) + the model's KL (`add_loss`)."""

    name = "variational_generation"

    def __init__(self, noise=None, seed=0):
        self.noise, self.seed = noise, seed

    def bind(self, recipe, info, load, model=None):
        if model is None:
            return self
        return VariationalGeneration(tuple(int(d) for d in model.get_layer("noise").output.shape[1:]), recipe.train.seed)

    def _noise_shape(self):
        if self.noise is None:
            raise ConfigError("variational_generation draws noise of the model's 'noise' input: bind the task to the model")
        return self.noise

    def example_to_xy(self, contract):
        shape = self._noise_shape()
        return lambda ex: ({"image": binarized(ex), "noise": tf.zeros(shape)}, binarized(ex))

    def eval_example_to_xy(self, contract):
        shape, seed = self._noise_shape(), self.seed

        def to_xy(ex):
            x = binarized(ex)
            content = tf.strings.to_hash_bucket_fast(tf.io.serialize_tensor(x), 2**62)
            eps = tf.random.stateless_normal(shape, tf.stack([tf.constant(seed, tf.int64), content]))
            return {"image": x, "noise": eps}, x

        return to_xy

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        logits = tf.cast(outputs[0], tf.float32)
        x = tf.reshape(tf.cast(targets, tf.float32), tf.shape(logits))
        total = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits))
        return total / global_batch_size if loss_cfg.normalize else total

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return BoundEvaluator()


TASKS = (VariationalGeneration(),)
