"""Tasks by kind: one module per kind (classification, segmentation, video, captioning, sequence,
...), each listing its tasks in `TASKS`. A model card names its task; `get(name)` returns it.

Kinds are discovered: every module of this package that defines `TASKS` contributes its tasks,
so a new kind (detection, generative, vqa, ...) is a new module here and nothing else.
`base` holds the Task and Evaluator interfaces and the helpers the kinds share.
"""

from __future__ import annotations

from zoo.discovery import collect
from zoo.errors import ConfigError

_TASKS: dict = {}


def _discover() -> dict:
    if not _TASKS:
        _TASKS.update(collect(__name__, "TASKS"))
    return _TASKS


def get(name: str):
    """The Task named `name` (a card's `task`)."""
    tasks = _discover()
    if name not in tasks:
        raise ConfigError(f"the recipe runner does not train {name!r} models; it trains {sorted(tasks)}")
    return tasks[name]


def list_tasks() -> list[str]:
    return sorted(_discover())
