"""The adversarial step: one optimizer per named sub-model of a GAN (generator, discriminator,
BiGAN's encoder, ...), each updated from its own loss.

The model is one keras.Model whose sub-models are layers (`model.get_layer("generator")`); the
task's `adversarial_losses(model, batch, seed=, global_batch_size=)` returns {sub-model name: this
replica's loss share}, and each loss is differentiated w.r.t. its own sub-model's trainable
variables only. Updates are

- simultaneous: every sub-model at every step, from one forward pass (BiGAN, Donahue thesis
  §5.2.4), or
- alternating: `critic_steps` updates of the critics, then one of the other sub-models
  (Goodfellow et al. 2014, Algorithm 1: k discriminator steps per generator step). The runner's
  step counter says whose turn it is, so each runner step takes one batch and a resumed run
  replays exactly.

The noise the task draws is a stateless function of the train seed, the runner's step and the
replica, so a resumed run draws what an uninterrupted one would have.
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from zoo.config_tables import build_table
from zoo.errors import ConfigError, unknown_name
from zoo.training import recipes, schedules
from zoo.training.steps.base import GradientStep, GradientUpdate, make_optimizer

UPDATES = ("simultaneous", "alternating")


@dataclasses.dataclass
class AdversarialOptions:
    """The recipe's [step] table for a GAN."""

    updates: str = "simultaneous"  # simultaneous | alternating
    critic_steps: int = 1  # alternating: critic updates per update of the other sub-models
    critics: list = dataclasses.field(default_factory=lambda: ["discriminator"])
    # {sub-model: {field of [optimizer]: value}}: that sub-model's optimizer differs from [optimizer] there
    optimizers: dict = dataclasses.field(default_factory=dict)
    # {sub-model: {field of [schedule]: value}}: likewise for its learning-rate schedule
    schedules: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.updates not in UPDATES:
            raise unknown_name("step.updates", self.updates, UPDATES)
        if self.critic_steps < 1 or (self.updates == "alternating" and not self.critics):
            raise ConfigError("step.critic_steps must be >= 1 and, for alternating updates, step.critics must name "
                              "at least one sub-model")
        for sub, table in self.optimizers.items():
            name = build_table(recipes.OptimizerConfig, table, ("step", "optimizers", sub)).name
            if name not in recipes.OPTIMIZERS:
                raise unknown_name(f"step.optimizers.{sub}.name", name, recipes.OPTIMIZERS)
        for sub, table in self.schedules.items():
            policy = build_table(recipes.ScheduleConfig, table, ("step", "schedules", sub)).policy
            if policy not in recipes.SCHEDULES:
                raise unknown_name(f"step.schedules.{sub}.policy", policy, recipes.SCHEDULES)


def sub_models(model) -> dict:
    """{name: sub-model} of the keras.Model layers of `model` that have trainable variables."""
    return {layer.name: layer for layer in model.layers
            if isinstance(layer, keras.Model) and layer.trainable_variables}


class AdversarialStep(GradientStep):
    """`replica_step((x, y))`: the task's per-sub-model losses, each sub-model's gradients, its own
    optimizer (the recipe's [optimizer] and [schedule] with the [step] overrides) with Caffe-style
    weight decay and lr_mult. The loss it returns (for the log) is the sum of the sub-models' losses."""

    name = "adversarial"
    Options = AdversarialOptions

    def __init__(self, model, recipe, task, *, num_replicas, counter, drops=None, options=None):
        self.model, self.task, self.recipe, self.counter = model, task, recipe, counter
        self.options = options or AdversarialOptions()
        self.num_replicas = num_replicas
        subs = sub_models(model)
        named = [*self.options.critics, *self.options.optimizers, *self.options.schedules]
        unknown = sorted({n for n in named if n not in subs})
        if unknown:
            raise ConfigError(f"[step] names {', '.join(map(repr, unknown))}, which {model.name!r} has not as a "
                              f"trainable sub-model; it has {sorted(subs)}")
        self.critics = list(self.options.critics)
        self.others = [n for n in subs if n not in self.critics]
        if not self.others:
            raise ConfigError(f"every sub-model of {model.name!r} is a critic (step.critics): none is generated")
        self.schedules, self.updates = {}, {}
        for name, sub in subs.items():
            opt_cfg = dataclasses.replace(recipe.optimizer, **self.options.optimizers.get(name, {}))
            own = dataclasses.replace(recipe, optimizer=opt_cfg,
                                      schedule=dataclasses.replace(recipe.schedule, **self.options.schedules.get(name, {})))
            schedule = self.schedules[name] = schedules.from_recipe(own, drops=drops)
            # At the runner's step, not the optimizer's own count (which lags when updates alternate).
            optimizer = make_optimizer(opt_cfg, lambda s=schedule: s(counter),
                                       mixed_precision=recipe.train.mixed_precision)
            self.updates[name] = GradientUpdate(sub.trainable_variables, optimizer, lr_mults=recipe.lr_mult,
                                                weight_decay=opt_cfg.weight_decay, num_replicas=num_replicas,
                                                what=f"sub-model {name!r}")
        self.scale_loss = recipe.train.mixed_precision == "mixed_float16"

    def variables(self) -> dict:
        return {f"optimizer_{name}_{i}": v for name, update in self.updates.items()
                for i, v in enumerate(update.optimizer.variables)}

    def replica_step(self, batch, names=None):
        """Update `names` (default: every sub-model) from this replica's batch."""
        step = tf.cast(self.counter, tf.int64)
        replica = tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group, tf.int64)
        seed = tf.stack([tf.constant(self.recipe.train.seed, tf.int64), step * self.num_replicas + replica])
        return self._update(batch, seed, list(self.updates) if names is None else names)

    def run(self, strategy, batch):
        if self.options.updates == "simultaneous":
            return super().run(strategy, batch)
        # Whose turn it is is decided outside strategy.run: a condition around the optimizers' gradient
        # all-reduce inside a replica function is not supported by tf.distribute (MirroredStrategy).
        k = self.options.critic_steps

        def turn(names):
            per_replica = strategy.run(self.replica_step, args=(batch, names))
            return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

        return tf.cond(tf.cast(self.counter, tf.int64) % (k + 1) < k, lambda: turn(self.critics),
                       lambda: turn(self.others))

    def _update(self, batch, seed, names):
        with tf.GradientTape(persistent=len(names) > 1) as tape:
            losses = self.task.adversarial_losses(self.model, batch, seed=seed,
                                                  global_batch_size=self.recipe.data.global_batch_size)
            missing = [n for n in self.updates if n not in losses]
            if missing:
                raise ConfigError(f"task {self.task.name!r} gives no loss for sub-model(s) {', '.join(missing)}")
            scaled = {n: self.updates[n].optimizer.scale_loss(losses[n]) if self.scale_loss else losses[n]
                      for n in names}
        for n in names:
            self.updates[n].apply(tape.gradient(scaled[n], self.updates[n].variables))
        return tf.add_n([tf.cast(losses[n], tf.float32) for n in self.updates])

    def learning_rates(self, step) -> dict:
        return {f"learning_rate_{name}": float(schedule(step)) for name, schedule in self.schedules.items()}


STEPS = (AdversarialStep,)
