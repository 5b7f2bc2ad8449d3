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
import subprocess
import tempfile
import time

import keras

import zoo
from zoo.errors import ConfigError

STARTED = time.time()  # the notebook's first cell imports this module: run time is measured from here
REPO = pathlib.Path(__file__).resolve().parents[1]
# The kernel runs in notebooks/, where `import zoo` finds the installed (editable) package, which may be another
# checkout's: the numbers would then not be this checkout's code. scripts/reproduce.sh and tests/test_notebooks.py
# put the repository root first on PYTHONPATH.
if pathlib.Path(zoo.__file__).resolve().parents[1] != REPO:
    raise ConfigError(f"zoo is imported from {pathlib.Path(zoo.__file__).parent}, not from this checkout {REPO}: "
                      f"run the notebook with PYTHONPATH={REPO}")
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


def _commit() -> str:
    """The checked-out commit, with "+uncommitted" when zoo/ or notebooks/ differ from it."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "HEAD") or "unknown"
    return commit + ("+uncommitted" if git("status", "--porcelain", "--", "zoo", "notebooks") else "")


def write_results(notebook: str, numbers: dict) -> pathlib.Path:
    """Write `numbers` with the mode, the commit, the command, the run time and the environment to
    RESULTS_DIR/<notebook>.json (atomically). The command is ZOO_NOTEBOOK_COMMAND when the caller
    set it (scripts/reproduce.sh does), else the documented one."""
    env = {"python": platform.python_version(), "keras": keras.__version__, "backend": keras.backend.backend(),
           "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}
    mode = "ZOO_NOTEBOOK_MODE=smoke " if SMOKE else ""
    command = os.environ.get("ZOO_NOTEBOOK_COMMAND") or \
        f"{mode}PYTHONPATH=. jupyter execute --inplace --timeout=-1 notebooks/{notebook}.ipynb"
    numbers = {"commit": _commit(), "command": command, "run_seconds": round(time.time() - STARTED, 1), **numbers}
    path = RESULTS_DIR / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"mode": MODE, "environment": env, **numbers}, indent=2) + "\n")
    tmp.replace(path)
    return path
