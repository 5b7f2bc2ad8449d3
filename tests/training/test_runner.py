"""The recipe runner in-process: training, logs, sidecars, NaN handling, workdir safety."""

import json

import numpy as np
import pytest

from tests.training.helpers import write_recipe
from zoo.errors import ConfigError, NaNLossError
from zoo.training import recipes, runner


def test_train_writes_everything_and_loss_falls(tmp_path):
    recipe = recipes.load(str(write_recipe(tmp_path / "r.toml", steps=40, checkpoint_every=10, lr=0.05)))
    recipe.data.eval_split = "validation"
    res = runner.train(recipe, tmp_path / "run")
    run = tmp_path / "run"
    for f in ("recipe.toml", "final.weights.h5", "final.weights.json", "log.csv", "eval.json"):
        assert (run / f).exists(), f
    assert list((run / "backup").glob("ckpt-40*"))
    assert list((run / "tensorboard").iterdir())
    meta = json.loads((run / "final.weights.json").read_text())
    assert meta["model"] == "test/tiny_segmenter" and meta["options"]["num_classes"] == 6 and meta["step"] == 40
    assert len(meta["class_names"]) == 6
    losses = [float(line.split(",")[1]) for line in (run / "log.csv").read_text().splitlines()[1:] if ",train," in line]
    assert losses[-1] < losses[0], losses
    assert 0.0 <= res.metrics["mean_iu"] <= 1.0 and "pixel_accuracy" in res.metrics


def test_resolved_recipe_reruns_and_different_recipe_is_refused(tmp_path):
    recipe = recipes.load(str(write_recipe(tmp_path / "r.toml", steps=4)))
    runner.train(recipe, tmp_path / "run")
    again = recipes.load(str(tmp_path / "run" / "recipe.toml"))
    assert again == recipe
    other = recipes.load(str(write_recipe(tmp_path / "r2.toml", steps=4, lr=0.01)))
    with pytest.raises(ConfigError, match="optimizer.learning_rate"):
        runner.train(other, tmp_path / "run")


def test_nan_loss_stops_with_advice(tmp_path):
    recipe = recipes.load(str(write_recipe(tmp_path / "r.toml", steps=20, lr=1e12, checkpoint_every=2)))
    with pytest.raises(NaNLossError, match="lower learning rate"):
        runner.train(recipe, tmp_path / "run")
    assert not (tmp_path / "run" / "final.weights.h5").exists()


def test_lr_mult_zero_freezes_a_layer(tmp_path):
    import tomllib

    path = write_recipe(tmp_path / "r.toml", steps=3, lr=0.1)
    data = tomllib.loads(path.read_text())
    data["lr_mult"] = [{"pattern": "conv1*", "lr_mult": 0.0}]
    recipe = recipes.from_dict(data)
    res = runner.train(recipe, tmp_path / "run")
    import keras

    from zoo import registry

    keras.utils.set_random_seed(recipe.train.seed)  # the runner's initialisation, rebuilt
    fresh = runner.build_model(recipe, registry.card("test/tiny_segmenter"))
    # conv1 never moved (lr_mult 0: frozen), conv2 did
    np.testing.assert_array_equal(res.model.get_layer("conv1").get_weights()[0], fresh.get_layer("conv1").get_weights()[0])
    assert not np.allclose(res.model.get_layer("conv2").get_weights()[0], fresh.get_layer("conv2").get_weights()[0])


@pytest.mark.parametrize("overrides", [["train.xla=true"], ["train.mixed_precision='mixed_bfloat16'"],
                                       ["train.mixed_precision='mixed_float16'", "train.steps_per_execution=4"]])
def test_xla_and_mixed_precision_switches_train(tmp_path, overrides):
    import keras

    recipe = recipes.load(str(write_recipe(tmp_path / "r.toml", steps=8, eval_split="")), overrides)
    res = runner.train(recipe, tmp_path / "run")
    assert np.isfinite(res.final_loss) and res.steps == 8
    if recipe.train.mixed_precision:
        assert res.model.get_layer("conv1").compute_dtype == recipe.train.mixed_precision.split("_")[1]
    assert keras.config.dtype_policy().name == "float32"  # the global policy is put back


def test_kernel_init_redraws_every_layer_differently():
    import keras

    from zoo import registry

    recipe = recipes.from_dict({"model": {"name": "fcn32s", "options": {"width": 16, "num_classes": 3},
                                          "kernel_init": "he_normal"}, "data": {"name": "shapes"}})
    model = runner.build_model(recipe, registry.card("fcn32s"))
    k2, k3 = model.get_layer("conv3_2").kernel, model.get_layer("conv3_3").kernel
    assert k2.shape == k3.shape and not np.allclose(np.asarray(k2), np.asarray(k3))
    std = float(np.std(np.asarray(k2)))
    assert abs(std - np.sqrt(2.0 / np.prod(k2.shape[:-1]))) < 0.3 * std  # He-normal scale
    assert not np.asarray(model.get_layer("score_fr").kernel).any()  # zero-initialised score layer kept


def test_a_run_of_an_older_zoo_resumes_but_a_changed_recipe_is_refused(tmp_path):
    recipe = recipes.from_dict({"model": {"name": "fcn8s"}, "data": {"name": "shapes"}, "train": {"steps": 5}})
    workdir = tmp_path / "run"
    workdir.mkdir()
    # recipe.toml as an older zoo wrote it: without the [loss] fields added since (at their defaults here)
    text = "\n".join(line for line in recipe.to_toml().splitlines() if not line.startswith("sample_"))
    (workdir / "recipe.toml").write_text(text)
    runner._check_workdir(workdir, recipe, fresh=False, chief=True)  # the same run: no error
    changed = recipes.from_dict({"model": {"name": "fcn8s"}, "data": {"name": "shapes"}, "train": {"steps": 5},
                                 "loss": {"sample_fraction": 0.5}})
    with pytest.raises(ConfigError, match=r"different recipe \(differs in loss.sample_fraction\)"):
        runner._check_workdir(workdir, changed, fresh=False, chief=True)


def test_a_backup_of_an_older_zoo_without_the_validation_state_resumes(tmp_path):
    import tensorflow as tf

    recipe = recipes.load(str(write_recipe(tmp_path / "r.toml", steps=6, checkpoint_every=2)))
    workdir = tmp_path / "run"
    runner.train(recipe, workdir, max_steps=4)
    # Rewrite the backup as zoo wrote it before it kept best/waited/drops: step, model and optimizer only.
    latest = tf.train.latest_checkpoint(str(workdir / "backup"))
    reader = tf.train.load_checkpoint(latest)
    keep = {name.split("/")[0]: tf.Variable(reader.get_tensor(name)) for name, _ in tf.train.list_variables(latest)
            if name.split("/")[0] not in ("best", "waited", "drops", "_CHECKPOINTABLE_OBJECT_GRAPH", "save_counter")}
    assert "step" in keep and int(keep["step"].numpy()) == 4
    for f in (workdir / "backup").iterdir():
        f.unlink()
    tf.train.CheckpointManager(tf.train.Checkpoint(**keep), str(workdir / "backup"), max_to_keep=2).save()
    result = runner.train(recipe, workdir)
    assert (result.resumed_from, result.steps) == (4, 6) and np.isfinite(result.final_loss)
