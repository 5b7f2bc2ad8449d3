"""The supervised step: one optimizer on the task's loss plus the model's `add_loss` terms."""

from __future__ import annotations

import tensorflow as tf

from zoo.training import schedules
from zoo.training.steps.base import GradientStep, GradientUpdate, make_optimizer, model_losses


class SupervisedStep(GradientStep):
    """`replica_step((x, y))`: forward, task loss + model.losses, gradients, Caffe-style weight decay
    and lr_mult, one optimizer update (the recipe's [optimizer] and [schedule])."""

    name = "supervised"

    def __init__(self, model, recipe, task, *, num_replicas, drops=None, counter=None, options=None):
        self.model, self.task, self.recipe = model, task, recipe
        self.num_replicas = num_replicas
        self.schedule = schedules.from_recipe(recipe, drops=drops)
        optimizer = make_optimizer(recipe.optimizer, self.schedule, mixed_precision=recipe.train.mixed_precision)
        self.update = GradientUpdate(model.trainable_variables, optimizer, lr_mults=recipe.lr_mult,
                                     weight_decay=recipe.optimizer.weight_decay, num_replicas=num_replicas)
        self.scale_loss = recipe.train.mixed_precision == "mixed_float16"
        self._grads = tf.function(self._compute_grads, jit_compile=True) if recipe.train.xla else self._compute_grads

    def _compute_grads(self, x, y):
        optimizer = self.update.optimizer
        with tf.GradientTape() as tape:
            outputs = self.model(x, training=True)
            loss = self.task.replica_loss(outputs, y, loss_cfg=self.recipe.loss,
                                          global_batch_size=self.recipe.data.global_batch_size)
            loss = loss + model_losses(self.model, self.num_replicas)
            scaled = optimizer.scale_loss(loss) if self.scale_loss else loss
        return loss, tape.gradient(scaled, self.update.variables)

    def variables(self) -> dict:
        return {f"optimizer_{i}": v for i, v in enumerate(self.update.optimizer.variables)}

    def replica_step(self, batch):
        x, y = batch
        loss, grads = self._grads(x, y)
        self.update.apply(grads)
        return loss

    def learning_rates(self, step) -> dict:
        return {"learning_rate": float(self.schedule(step))}


STEPS = (SupervisedStep,)
