"""The weak_sup step (Oquab thesis §4.3.2): the supervised step on minibatches resized by s ~ U[0.7, 1.4].

"Each training mini-batch of 16 images is then resized by a scale factor s uniformly sampled
between 0.7 and 1.4." One s per minibatch, the same on every replica (drawn statelessly from the
run's seed and the step counter, so a resumed run replays the same scales); the loss, its
variants (global max, MASKED POOL) and the protocol options are the `weak_sup` task's
(zoo.tasks.weak_sup.WeakSupOptions, the recipe's [step] table).
"""

from __future__ import annotations

from zoo.tasks.weak_sup import WeakSupOptions, rescale_batch, sample_scale
from zoo.training.steps.supervised import SupervisedStep


class WeakSupStep(SupervisedStep):
    """SupervisedStep with the §4.3.2 per-minibatch rescaling (none for FULL IMAGES: one scale)."""

    name = "weak_sup"
    Options = WeakSupOptions

    def __init__(self, model, recipe, task, *, num_replicas, drops=None, counter=None, options=None):
        super().__init__(model, recipe, task, num_replicas=num_replicas, drops=drops, counter=counter)
        self.options = options or WeakSupOptions()
        self.options.check()
        self.task = task.bind(recipe, None, None, model)  # the task configured by the same [step] table
        self.counter = counter
        self.seed = recipe.train.seed

    def scale(self):
        """This minibatch's s (None: no rescaling, for FULL IMAGES or a range [1, 1])."""
        low, high = (float(v) for v in self.options.scale_range)
        if self.options.variant == "full_images" or low == high == 1.0:
            return None
        if low == high or self.counter is None:
            return low if low == high else sample_scale(self.seed, 0, low, high)
        return sample_scale(self.seed, self.counter, low, high)

    def replica_step(self, batch):
        x, y = batch
        s = self.scale()
        if s is not None:
            x = rescale_batch(x, s)
        loss, grads = self._grads(x, y)
        self.update.apply(grads)
        return loss


STEPS = (WeakSupStep,)
