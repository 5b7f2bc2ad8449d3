"""Recipes for the classic builders (LeNet-5, the MLP): the stand-in runs train, MNIST is padded to LeNet's
32x32 with black borders (a fake TFDS record in mnist's layout), the digits stand-in resized and padded."""

import numpy as np
import pytest
import tensorflow as tf

from zoo.data import registry as data_registry
from zoo.errors import ConfigError
from zoo.training import recipes, runner


def test_mnist_pad_adds_black_borders(monkeypatch):
    digit = np.full((28, 28, 1), 200, np.uint8)
    monkeypatch.setattr(data_registry.TfdsLoader, "__call__", lambda self, split, **kw: tf.data.Dataset.from_tensors(
        {"image": tf.constant(digit), "label": tf.constant(3, tf.int64)}))
    (ex,) = list(data_registry.load("mnist", "train", pad=2).as_numpy_iterator())
    assert ex["image"].shape == (32, 32, 1) and ex["image"][:2].max() == 0 and ex["image"][2:30, 2:30].min() == 200
    with pytest.raises(ConfigError, match="pad"):
        data_registry.load("mnist", "train", pad=-1)


def test_digits_resized_and_padded_for_lenet():
    (ex, *_) = list(data_registry.load("digits", "test", size=20, pad=6).as_numpy_iterator())
    assert ex["image"].shape == (32, 32, 1) and ex["image"][:6].max() == 0 and ex["image"].max() > 100


@pytest.mark.parametrize("name", ["lenet5_digits_standin", "mlp_digits_standin"])
def test_stand_in_recipes_train(name, tmp_path):
    res = runner.train(recipes.load(name, ["train.steps=3", "train.eval_every=0", "train.checkpoint_every=3",
                                           "train.log_every=3"]), tmp_path / "run")
    assert 0.0 <= res.metrics["accuracy"] <= 1.0
