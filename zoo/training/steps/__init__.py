"""Training steps: how the runner's loop updates a model, chosen by the task (`Task.step`).

- `supervised` (SupervisedStep): one optimizer on the task loss plus the model's `add_loss` terms.
- `adversarial`: several optimizers over named sub-models, alternating or simultaneous updates.
- `staged`: features extracted once, a non-gradient learner fitted on them.

A step module lists its step classes in `STEPS`; `get(name)` finds them (discovered, like tasks).
A gradient step has the interface of `base.GradientStep`; the runner builds it inside
`strategy.scope()`, backs up `variables()` with the model's, and calls `replica_step(batch)`
inside `strategy.run`. A staged step has the interface of `base.FitStep`: the runner calls its
`fit` once with the training split in order, then evaluates and saves as after gradient steps.
"""

from __future__ import annotations

from zoo.discovery import collect
from zoo.errors import ConfigError

_STEPS: dict = {}


def _discover() -> dict:
    if not _STEPS:
        _STEPS.update(collect(__name__, "STEPS"))
    return _STEPS


def get(name: str):
    """The step class named `name`."""
    steps = _discover()
    if name not in steps:
        raise ConfigError(f"no training step {name!r}; the steps are {sorted(steps)}")
    return steps[name]
