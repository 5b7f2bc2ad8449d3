"""Sequence tasks: a target at every step of a token sequence (the Grid LSTM tasks).

Every model here returns logits at each step, (N, T, C). Targets outside [0, C) (Caffe's
ignore_label -1, padding) are left out; the recipe's `loss.ignore_label` is not consulted,
since its default (VOC's 255) is a real word id or byte value here. `step_cross_entropy` and
`per_step_logits` serve the captioning task too.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.ops.numerics import log_softmax
from zoo.tasks.base import Evaluator, Task, all_reduce_sum, first_output, model_input


def step_cross_entropy(logits, targets):
    """(softmax cross-entropy (N, T), 1.0 where the target is in [0, C) else 0.0)."""
    logits = tf.cast(logits, tf.float32)
    valid = (targets >= 0) & (targets < logits.shape[-1])
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.where(valid, targets, 0), logits=logits)
    valid = tf.cast(valid, tf.float32)
    return ce * valid, valid


def per_step_logits(outputs, task):
    logits = first_output(outputs)
    if logits.shape.rank != 3:
        raise ConfigError(f"a {task} model returns logits at every step (N, T, classes); got {tuple(logits.shape)}")
    return logits


class SequencePrediction(Task):
    """A target at every step of a token sequence: the Grid LSTM tasks (Kalchbrenner et al. 2015;
    Bastings' talk on the paper) addition, memorization and character-level language modelling.

    Input: the card's contract source ("tokens"); targets: "targets" (N, T) and the optional
    "mask" (N, T) weighting each position (1 on the scored positions: the sum's digits, the
    echoed symbols; all ones when the dataset has none, as for next-character prediction).
    Targets outside [0, C) are left out as well.

    Loss: cross-entropy weighted by the mask, summed; `normalize=True` divides by the mask's sum
    over the global batch (the mean over scored positions, what bits per character measures),
    `normalize=False` leaves the sum.

    Evaluation over the scored positions: `accuracy` (per position), `sequence_accuracy` (every
    scored position of a sequence right: the addition/memorization number of zoo.experiments.grid_lstm),
    `cross_entropy` (nats per position) and `bits_per_character` = cross_entropy / ln 2 (the
    char-LM metric; for the other tasks, bits per scored symbol).
    """

    name = "sequence_prediction"
    metrics = ("accuracy", "sequence_accuracy", "cross_entropy", "bits_per_character")

    def example_to_xy(self, contract):
        make_input = model_input(contract)

        def fn(ex):
            targets = tf.cast(ex["targets"], tf.int32)
            mask = tf.cast(ex["mask"], tf.float32) if "mask" in ex else tf.ones(tf.shape(targets), tf.float32)
            return make_input(ex), {"targets": targets, "mask": mask}

        return fn

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        ce, valid = step_cross_entropy(per_step_logits(outputs, self.name), targets["targets"])
        weight = valid * targets["mask"]
        total = tf.reduce_sum(ce * targets["mask"])
        if loss_cfg.normalize:
            total = total / tf.maximum(all_reduce_sum(tf.reduce_sum(weight)), 1e-9)
        return total

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return SequenceEvaluator()


class SequenceEvaluator(Evaluator):
    def __init__(self):
        self.nll = self.weight = self.right = 0.0
        self.sequences = self.sequences_right = 0

    def update(self, outputs, targets):
        logits = np.asarray(first_output(outputs))
        t = np.asarray(targets["targets"])
        valid = (t >= 0) & (t < logits.shape[-1])
        w = np.asarray(targets["mask"], np.float64) * valid
        logp = np.take_along_axis(log_softmax(logits), np.where(valid, t, 0)[..., None], axis=-1)[..., 0]
        hit = logits.argmax(-1) == t
        self.nll -= float((w * logp).sum())
        self.weight += float(w.sum())
        self.right += float((w * hit).sum())
        self.sequences += len(t)
        self.sequences_right += int((hit | (w == 0)).all(axis=1).sum())

    def result(self):
        ce = self.nll / max(self.weight, 1e-12)
        return {"accuracy": self.right / max(self.weight, 1e-12),
                "sequence_accuracy": self.sequences_right / max(self.sequences, 1),
                "cross_entropy": ce, "bits_per_character": ce / float(np.log(2.0))}


TASKS = (SequencePrediction(),)
