"""The DCGAN grid's data and runs (Oquab thesis §5.3.3, App. C): LSUN bedrooms / LFW as 64x64
squares (a fake TFDS record in the builders' layout), the grid recipes, and the kept snapshots."""

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from zoo.data import registry as data_registry
from zoo.errors import ConfigError
from zoo.training import recipes

REPO = Path(__file__).resolve().parents[2]


def _fake_tfds(image):
    return lambda self, split, **kw: tf.data.Dataset.from_tensors({"image": tf.constant(image)})


@pytest.mark.parametrize("name", ["lsun_bedrooms", "lfw"])
def test_images_become_the_centre_square_at_64(name, monkeypatch):
    image = np.zeros((120, 200, 3), np.uint8)
    image[:, :] = (0, 0, 255)
    image[:, 40:160] = (255, 0, 0)  # the centre 120x120 square is red, the sides blue
    monkeypatch.setattr(data_registry.TfdsLoader, "__call__", _fake_tfds(image))
    (ex,) = list(data_registry.load(name, "train").as_numpy_iterator())
    assert ex["image"].shape == (64, 64, 3) and ex["image"].dtype == np.uint8 and ex["label"] == 0
    assert (ex["image"][:, 2:-2, 0] > 240).all() and (ex["image"][:, 2:-2, 2] < 15).all()
    (wide,) = list(data_registry.load(name, "train", load_size=96).as_numpy_iterator())
    assert (wide["image"][..., 0] > 240).all()  # at 96 the 64 crop is well inside the red square
    with pytest.raises(ConfigError, match="load_size"):
        data_registry.load(name, "train", load_size=32)


@pytest.mark.parametrize("recipe", ["dcgan_lsun_bedrooms", "dcgan_lfw"])
def test_grid_recipes_keep_the_papers_epochs(recipe):
    r = recipes.load(str(REPO / f"zoo/recipes/dcgan/{recipe}.toml"))
    # alternating turns: D sees every image once in 2 x images / batch steps (dcgan.torch: D and G per minibatch)
    per_epoch = 2 * {"dcgan_lsun_bedrooms": 3_033_042, "dcgan_lfw": 13_233}[recipe] / r.data.global_batch_size
    assert r.train.snapshot_steps == [round(e * per_epoch) for e in (1, 10, 50, 100, 200)]
    assert r.train.steps == r.train.snapshot_steps[-1]


def test_snapshots_are_kept_at_the_named_steps(tmp_path):
    from zoo.training import runner

    r = recipes.load(str(REPO / "zoo/recipes/dcgan/dcgan_shapes.toml"),
                     ["train.steps=5", "train.snapshot_steps=[1, 3]", "train.checkpoint_every=2", "train.log_every=5",
                      "model.options.gf=8", "model.options.df=8", "data.global_batch_size=4",
                      "data.options.num_examples=16", "data.eval_split=''"])
    runner.train(r, tmp_path / "run")
    kept = sorted(p.name for p in (tmp_path / "run" / "snapshots").glob("*.weights.h5"))
    assert kept == ["step-000001.weights.h5", "step-000003.weights.h5"]
    assert (tmp_path / "run" / "snapshots" / "step-000003.weights.json").exists()
    with pytest.raises(ConfigError, match="snapshot_steps"):
        recipes.load(str(REPO / "zoo/recipes/dcgan/dcgan_shapes.toml"), ["train.steps=5", "train.snapshot_steps=[3, 9]"])
