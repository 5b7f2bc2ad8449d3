"""Test tiers: the default tier is fast; `--run-slow` adds full-size models and long runs.

The tests' tiny models (tests/tiny_models.py) are registered through ZOO_PLUGINS; it is set here,
with the repository root on PYTHONPATH, before anything reads the registry, so that every
subprocess a test starts (CLI runs, workers of the distributed tests) sees them too.
"""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

_REPO = str(Path(__file__).resolve().parents[1])
_plugins = [m for m in os.environ.get("ZOO_PLUGINS", "").split(",") if m.strip()]
os.environ["ZOO_PLUGINS"] = ",".join(dict.fromkeys(["tests.tiny_models", *_plugins]))
_paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([_REPO, *_paths]))

import pytest  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow") or os.environ.get("ZOO_RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow tier: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
