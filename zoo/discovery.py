"""Plug-in discovery shared by the extension points (docs/ARCHITECTURE.md, Extension points).

`collect(package, attribute)` imports every module of `package` and gathers the objects each
lists in `attribute` (tasks in `TASKS`, training steps in `STEPS`), keyed by their `name`: adding
a kind is adding a module, with no hand-kept list to edit.
"""

from __future__ import annotations

import importlib
import pkgutil


def collect(package: str, attribute: str) -> dict:
    """{obj.name: obj} over `getattr(module, attribute, ())` of every module of `package`."""
    found: dict = {}
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
        module = importlib.import_module(f"{package}.{info.name}")
        for obj in getattr(module, attribute, ()):
            if obj.name in found:
                raise ValueError(f"{attribute[:-1].lower()} {obj.name!r} is defined twice ({module.__name__})")
            found[obj.name] = obj
    return found
