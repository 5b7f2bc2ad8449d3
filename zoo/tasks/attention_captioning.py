"""Captioning with stochastic hard attention trained by REINFORCE (Xu et al. 2015 §4.1, eq. 12).

The model (`show_attend_tell_hard`) samples one location per word while training and returns,
besides the per-step logits, log p(s̃ | a) and the entropy H of α summed over the steps. The loss
of a caption with target words y is

    -log p(y | s̃, a)  -  λ_r · stop_gradient(log p(y | s̃, a) - b) · log p(s̃ | a)  -  λ_e · H

whose gradient is eq. 12's estimate: the reward's own gradient, the REINFORCE term with the
moving-average baseline b_k = 0.9 b_{k-1} + 0.1 log p(y | s̃_k, a) (`zoo.ops.reinforce`; the
model's non-trainable `reward_baseline`, updated here once per replica batch), and the entropy
bonus. λ_r = 1 and λ_e = 0.01 are ASSUMPTIONS (the paper names the terms, not their values).
Inputs, targets and evaluation are `captioning`'s.
"""

from __future__ import annotations

import tensorflow as tf

from zoo.errors import ConfigError
from zoo.ops import reinforce
from zoo.tasks.captioning import Captioning
from zoo.tasks.sequence import per_step_logits, step_cross_entropy

LAMBDA_R = 1.0
LAMBDA_E = 0.01


class HardAttentionCaptioning(Captioning):
    """`captioning` with eq. 12's REINFORCE terms for a hard-attention captioner (module docstring)."""

    name = "hard_attention_captioning"

    def __init__(self, vocabulary=None, vocab_size=None, baseline=None):
        super().__init__(vocabulary, vocab_size)
        self.baseline = baseline

    def bind(self, recipe, info, load, model=None):
        bound = super().bind(recipe, info, load, model)
        if model is not None:
            decoder = model.get_layer("decoder")
            if not getattr(decoder, "hard", False):
                raise ConfigError(f"{self.name} trains a hard-attention captioner (show_attend_tell_hard); "
                                  f"{model.name} has no sampled attention")
            bound.baseline = decoder.reward_baseline
        return bound

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        if not isinstance(outputs, (list, tuple)) or len(outputs) < 4:
            raise ConfigError(f"{self.name} needs the model's [logits, alpha, log p(s), entropy] outputs")
        ce, _ = step_cross_entropy(per_step_logits(outputs, self.name), targets)
        nll = tf.reduce_sum(ce, axis=1)  # -log p(y | s̃, a) per caption
        log_p_s, entropy = tf.cast(outputs[2], tf.float32), tf.cast(outputs[3], tf.float32)
        baseline = tf.constant(0.0) if self.baseline is None else tf.cast(self.baseline, tf.float32)
        per_caption = nll + LAMBDA_R * reinforce.surrogate(-nll, log_p_s, baseline) - LAMBDA_E * entropy
        if self.baseline is not None:
            self.baseline.assign(reinforce.moving_average(baseline, -nll))
        total = tf.reduce_sum(per_caption)
        return total / global_batch_size if loss_cfg.normalize else total


TASKS = (HardAttentionCaptioning(),)
