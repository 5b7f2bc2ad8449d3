"""The notebooks' run mode (notebooks/README.md).

ZOO_NOTEBOOK_MODE=smoke runs a notebook small and fast (CI, tests/test_notebooks.py); full, the
default, runs it as published and writes its measured numbers to results/<notebook>.json. A smoke
run writes its numbers to ZOO_NOTEBOOK_RESULTS (default: a temporary folder), never to results/.
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import tempfile

import keras

from zoo.errors import ConfigError

MODE = os.environ.get("ZOO_NOTEBOOK_MODE", "full")
if MODE not in ("smoke", "full"):
    raise ConfigError(f"ZOO_NOTEBOOK_MODE must be 'smoke' or 'full', got {MODE!r}")
SMOKE = MODE == "smoke"

if os.environ.get("ZOO_NOTEBOOK_RESULTS"):
    RESULTS_DIR = pathlib.Path(os.environ["ZOO_NOTEBOOK_RESULTS"])
elif SMOKE:
    RESULTS_DIR = pathlib.Path(tempfile.gettempdir()) / "zoo_notebook_smoke"
else:
    RESULTS_DIR = pathlib.Path(__file__).resolve().parents[1] / "results"


def write_results(notebook: str, numbers: dict) -> pathlib.Path:
    """Write `numbers` with the mode and environment to RESULTS_DIR/<notebook>.json (atomically)."""
    env = {"python": platform.python_version(), "keras": keras.__version__, "backend": keras.backend.backend(),
           "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}
    path = RESULTS_DIR / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"mode": MODE, "environment": env, **numbers}, indent=2) + "\n")
    tmp.replace(path)
    return path
