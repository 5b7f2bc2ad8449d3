"""Learning-rate schedules with Caffe's `lr_policy` semantics (caffe/src/caffe/solvers/sgd_solver.cpp).

- fixed:     base_lr
- step:      base_lr * gamma ^ floor(iter / step_size)
- multistep: base_lr * gamma ^ (number of boundaries in `steps` that iter has reached)
- poly:      base_lr * (1 - iter / max_iter) ^ power
- cosine:    base_lr * (1 + cos(pi * iter / max_iter)) / 2 (a modern option, not in the papers)
- exp_from_half: base_lr until max_iter / 2, then exponentially down to base_lr * gamma at max_iter:
             base_lr * gamma ^ ((iter - max_iter / 2) / (max_iter / 2)) (BiGAN, Donahue thesis §5.2.4:
             "decays exponentially to 2e-6 starting halfway through training", gamma = 2e-6 / 2e-4)
- plateau:   base_lr * gamma ^ drops, where the runner adds a drop each time the monitored validation
             metric has not improved for `patience` evaluations ("divided by 10 when the validation
             error rate stopped improving", AlexNet §5; VGG §3.1), at most `max_drops` times
An optional linear warm-up multiplies the first `warmup_steps` steps by (iter + 1) / warmup_steps.
"""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class CaffeSchedule(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, policy, base_lr, max_iter, gamma=0.1, step_size=0, steps=(), power=1.0, warmup_steps=0,
                 drops=None):
        self.policy = policy
        self.drops = drops  # plateau: a variable the runner increments (not serialised: a saved schedule has none)
        self.base_lr = float(base_lr)
        self.max_iter = int(max_iter)
        self.gamma = float(gamma)
        self.step_size = int(step_size)
        self.steps = tuple(int(s) for s in steps)
        self.power = float(power)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        it = ops.cast(step, "float32")
        if self.policy == "fixed":
            lr = ops.convert_to_tensor(self.base_lr, "float32")
        elif self.policy == "step":
            lr = self.base_lr * ops.power(self.gamma, ops.floor(it / self.step_size))
        elif self.policy == "multistep":
            passed = sum(ops.cast(it >= b, "float32") for b in self.steps) if self.steps else 0.0
            lr = self.base_lr * ops.power(self.gamma, passed)
        elif self.policy == "poly":
            frac = ops.clip(1.0 - it / self.max_iter, 0.0, 1.0)
            lr = self.base_lr * ops.power(frac, self.power)
        elif self.policy == "plateau":
            drops = ops.cast(self.drops, "float32") if self.drops is not None else 0.0
            lr = self.base_lr * ops.power(self.gamma, drops)
        elif self.policy == "exp_from_half":
            half = self.max_iter / 2.0
            lr = self.base_lr * ops.power(self.gamma, ops.clip((it - half) / half, 0.0, 1.0))
        elif self.policy == "cosine":
            frac = ops.clip(it / self.max_iter, 0.0, 1.0)
            lr = self.base_lr * 0.5 * (1.0 + ops.cos(math.pi * frac))
        else:
            raise ValueError(f"unknown lr policy {self.policy!r}")
        if self.warmup_steps > 0:
            lr = lr * ops.minimum(1.0, (it + 1.0) / self.warmup_steps)
        return lr

    def get_config(self):
        return {
            "policy": self.policy, "base_lr": self.base_lr, "max_iter": self.max_iter, "gamma": self.gamma,
            "step_size": self.step_size, "steps": list(self.steps), "power": self.power,
            "warmup_steps": self.warmup_steps,
        }


def from_recipe(recipe, drops=None):
    s = recipe.schedule
    return CaffeSchedule(
        s.policy, recipe.optimizer.learning_rate, recipe.train.steps, gamma=s.gamma, step_size=s.step_size,
        steps=s.steps, power=s.power, warmup_steps=s.warmup_steps, drops=drops,
    )
