"""Frozen-feature fixtures for the staged step's tests (test_steps.py): Gaussian blobs in 8-D and a
random (seeded) ReLU trunk with a Dense head "classifier" (task feature_classification).

Registered by `register()` in the process that needs them, never by importing this module; tests
take them through `registered()`, which restores both registries afterwards.
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np
import pytest

from zoo.data.registry import DatasetInfo
from zoo.registry import InputContract

DIM, CLASSES = 8, 3
BLOBS_INFO = DatasetInfo(
    name="test/blobs", task="classification", summary="test fixture: 3 Gaussian blobs in 8-D", num_classes=CLASSES,
    class_names=("a", "b", "c"), splits={"train": 300, "validation": 90}, features={"image": "float32 (8,)",
                                                                                  "label": "int64 ()"},
    is_standin=True, options={"spread": 1.0},
)


def blobs(split, seed=0, spread=1.0):
    rng = np.random.default_rng([seed, list(BLOBS_INFO.splits).index(split)])
    n = BLOBS_INFO.splits[split]
    centres = np.random.default_rng(seed).normal(0.0, 2.0, (CLASSES, DIM))
    labels = rng.integers(0, CLASSES, n)
    return (centres[labels] + spread * rng.standard_normal((n, DIM))).astype(np.float32), labels


def load_blobs(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, spread=1.0):
    import tensorflow as tf

    x, y = blobs(split, seed, spread)
    return tf.data.Dataset.from_tensor_slices({"image": x, "label": y})


def tiny_feature_classifier(num_classes=CLASSES, width=16):
    """A random ReLU layer (the frozen trunk) and a Dense head named "classifier"."""
    import keras

    x = inputs = keras.Input((DIM,), name="image")
    x = keras.layers.Dense(width, activation="relu", name="trunk")(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes, name="classifier")(x), name="tiny_feature_classifier")


def register():
    from zoo import registry
    from zoo.data import registry as data_registry

    if "test/blobs" not in data_registry.list_datasets():
        data_registry.register_dataset("test/blobs", BLOBS_INFO, load_blobs)
    if "test/tiny_feature_classifier" not in registry.list_models(include_hidden=True):
        registry.register("test/tiny_feature_classifier",
                          builder="tests.training.staged_fixtures:tiny_feature_classifier", family="testing", paper="none (test-only)", section="-", task="feature_classification",
                          hidden=True, default_num_classes=CLASSES,
                          input_contract=InputContract(shape=(DIM,), kind="vector", channel_order=None, mean=None))


@contextlib.contextmanager
def registered():
    """This module with its dataset and model registered; the registries are restored on exit."""
    from zoo import registry
    from zoo.data import registry as data_registry

    data_registry.list_datasets()  # discovery outside the patch (it runs once per process)
    registry.list_models()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(data_registry, "_DATASETS", dict(data_registry._DATASETS))
        mp.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
        register()
        yield sys.modules[__name__]


def recipe(**step):
    return {
        "recipe": {"name": "staged"},
        "model": {"name": "test/tiny_feature_classifier"},
        "data": {"name": "test/blobs", "global_batch_size": 10},
        "train": {"steps": 1, "seed": 0},
        "step": {"chunk_batches": 5, **step},
    }
