"""Bad inputs and faults, one case per class and per command (issue 12): each is an error that
names the flag or field and the fix, and nothing is written or lost; or a documented behaviour.

The table of cases (before -> after) is in docs/FAULTS.md. Everything runs in-process through
`zoo.cli.main` on the test-only tiny models and the offline `shapes` stand-in.
"""

import errno
import json
import os
import shutil

import numpy as np
import pytest

from tests.training.helpers import write_recipe
from zoo.cli import main
from zoo.errors import ConfigError, WeightsFormatError


def _err(capsys):
    err = capsys.readouterr().err.strip()
    assert "internal error" not in err and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    return write_recipe(tmp_path_factory.mktemp("recipe") / "r.toml", steps=4, checkpoint_every=2, eval_split="")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, recipe):
    """A finished 4-step run of the tiny segmenter (6 classes): final.weights.h5 and its sidecar."""
    run = tmp_path_factory.mktemp("run") / "run"
    assert main(["train", str(recipe), "--workdir", str(run)]) == 0
    return run / "final.weights.h5"


# ----------------------------------------------------------------------------- train: recipe fields at load

FIELDS = [
    ("train.checkpoint_every=-5", "train.checkpoint_every must be >= 1"),  # was: a backup every step, forever
    ("train.eval_every=-1", "train.eval_every must be >= 0"),  # was: a hang
    ("train.log_every=-1", "train.log_every must be >= 1"),  # was: a hang
    ("train.steps_per_execution=0", "train.steps_per_execution must be >= 1"),
    ("optimizer.learning_rate=-0.05", "optimizer.learning_rate must be > 0"),  # was: loss 1e14, exit 0
    ("optimizer.momentum=2", "optimizer.momentum must be below 1"),
    ("optimizer.weight_decay=-1", "optimizer.weight_decay must be >= 0"),
    ("schedule.warmup_steps=-1", "schedule.warmup_steps must be >= 0"),
    ("data.shuffle_buffer=0", "data.shuffle_buffer must be >= 1"),  # was: internal error from tf.data
    ('model.options.num_classes="six"', "model.options.num_classes must be a positive integer, got 'six'"),
    ("model.options.num_classes=2.5", "model.options.num_classes must be a positive integer, got 2.5"),
    ("model.options.num_classes=0", "model.options.num_classes must be a positive integer, got 0"),
    ("model.options.dropuot=0.5", "does not take 'model.options.dropuot' (did you mean model.options.dropout?)"),
]


@pytest.mark.parametrize("override, message", FIELDS, ids=[f[0].split("=")[0] + "=" + f[0].split("=")[1] for f in FIELDS])
def test_recipe_fields_are_checked_when_the_recipe_loads(recipe, tmp_path, capsys, override, message):
    workdir = tmp_path / "run"
    assert main(["train", str(recipe), "--set", override, "--workdir", str(workdir)]) == 2
    err = _err(capsys)
    field = override.split("=")[0]
    assert message in err and (f"--set {field}=" in err or "did you mean" in err), err
    assert not workdir.exists()  # refused before anything was written


def test_monitor_must_be_a_metric_of_the_task(recipe, tmp_path, capsys):
    # was: no best.weights.h5 ever written, a plateau schedule driven blindly
    assert main(["train", str(recipe), "--set", "train.monitor='mean_iou'", "--workdir", str(tmp_path / "r")]) == 2
    err = _err(capsys)
    assert "train.monitor = 'mean_iou' is not a metric of the segmentation task" in err
    assert "--set train.monitor='mean_iu'" in err and not (tmp_path / "r").exists()


def test_every_task_declares_its_metrics():
    from zoo import tasks
    from zoo.tasks.captioning import CaptionEvalOptions

    for task in {tasks.get(name) for name in ("segmentation", "multitask_segmentation", "classification",
                                              "feature_classification", "multilabel_classification",
                                              "video_classification", "sequence_prediction", "adversarial_generation")}:
        assert task.metrics, task.name
    names = tasks.get("captioning").metric_names(CaptionEvalOptions(decode=True))
    assert "perplexity" in names and "BLEU*" in names


def test_max_steps_must_be_positive(recipe, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:  # was: "finishes" after 0 steps, exit 0
        main(["train", str(recipe), "--max-steps", "-3", "--workdir", str(tmp_path / "r")])
    assert e.value.code == 2
    assert "--max-steps" in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_workdir_that_is_a_file(recipe, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    assert main(["train", str(recipe), "--workdir", str(afile)]) == 2  # was: internal error FileExistsError
    assert "--workdir" in _err(capsys) and afile.read_text() == "keep me"


# ----------------------------------------------------------------------------- labels outside [0, classes)


def _label_check(task_name, model, labels, key):
    """Run the bound task's training map over two examples (ids a, b) whose second has `labels`."""
    import tensorflow as tf

    from zoo import registry, tasks
    from zoo.data.registry import info
    from zoo.tasks.base import reraise_data_errors
    from zoo.training import recipes

    card = registry.card(f"test/{model.name}")
    recipe = recipes.Recipe()
    task = tasks.get(task_name).with_label_range(recipe, info("shapes"), model)
    good = np.zeros_like(labels)
    ds = tf.data.Dataset.from_tensor_slices({"id": ["a", "b"], "image": np.zeros((2, 16, 16, 3), np.uint8),
                                             key: np.stack([good, labels])})
    ds = ds.map(task.example_to_xy(card.input_contract))
    with reraise_data_errors():
        return list(ds)


@pytest.mark.parametrize("task_name, model_name, labels, key, count", [
    ("segmentation", "tiny_segmenter", np.array([[0, 2, 255, 7]] * 4, np.uint8), "segmentation", 4),
    ("classification", "tiny_classifier", np.int64(9), "label", 1),
])
def test_labels_outside_the_models_classes_are_refused_with_count_and_example(task_name, model_name, labels, key, count):
    import zoo

    model = zoo.get(f"test/{model_name}")  # 3 and 4 classes
    with pytest.raises(ConfigError) as e:  # was: left out of the loss and the metrics without a word
        _label_check(task_name, model, labels, key)
    text = str(e.value)
    assert f"{count} label(s) of example \"b\" of dataset 'shapes'" in text and "--set model.options.num_classes=N" in text, text
    if task_name == "segmentation":
        assert "not the ignore label 255" in text and "(e.g. [7])" in text  # 255 and 0..2 are fine


def test_labels_in_range_pass(tmp_path):
    import zoo

    got = _label_check("segmentation", zoo.get("test/tiny_segmenter"), np.array([[0, 2, 255, 1]] * 4, np.uint8),
                       "segmentation")
    assert len(got) == 2


# ----------------------------------------------------------------------------- faults during training


def test_truncated_backup_says_how_to_start_fresh(recipe, tmp_path, capsys):
    workdir = tmp_path / "run"
    assert main(["train", str(recipe), "--max-steps", "2", "--workdir", str(workdir)]) == 0
    for f in (workdir / "backup").glob("ckpt-2.data-*"):
        f.write_bytes(f.read_bytes()[:10])
    before = sorted((p.name, p.stat().st_size) for p in (workdir / "backup").iterdir())
    assert main(["train", str(recipe), "--workdir", str(workdir)]) == 2  # was: internal error IndexError
    err = _err(capsys)
    assert "ckpt-2" in err and "--fresh" in err
    assert sorted((p.name, p.stat().st_size) for p in (workdir / "backup").iterdir()) == before  # nothing deleted


@pytest.mark.parametrize("code, where", [(errno.ENOSPC, "final"), (errno.EROFS, "backup")])
def test_full_or_read_only_run_directory_says_what_was_kept(recipe, tmp_path, capsys, monkeypatch, code, where):
    import keras
    import tensorflow as tf

    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    if where == "final":  # the disk fills up when the final weights are written
        monkeypatch.setattr(keras.Model, "save_weights", fail)
    else:  # the directory turns read-only at the first backup
        monkeypatch.setattr(tf.train.CheckpointManager, "save", fail)
    workdir = tmp_path / "run"
    assert main(["train", str(recipe), "--workdir", str(workdir)]) == 2
    err = _err(capsys)
    assert os.strerror(code) in err and "rerun the same command to resume" in err
    if where == "final":
        assert "the backup at step 4" in err and (workdir / "backup" / "ckpt-4.index").exists()
    else:
        assert "no backup had been written" in err


def test_a_kill_during_an_evaluation_on_a_backup_step_is_redone(tmp_path, capsys, monkeypatch):
    from zoo.training import runner

    recipe = write_recipe(tmp_path / "r.toml", steps=4, checkpoint_every=2)
    recipe.write_text(recipe.read_text().replace("eval_every = 0", "eval_every = 2"))
    real = runner.evaluate

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # stands for SIGKILL in the middle of the evaluation at step 2

    monkeypatch.setattr(runner, "evaluate", killed)
    workdir = tmp_path / "run"
    assert main(["train", str(recipe), "--workdir", str(workdir)]) == 130
    assert not (workdir / "backup" / "ckpt-2.index").exists()  # the backup of step 2 waits for its evaluation
    monkeypatch.setattr(runner, "evaluate", real)
    assert main(["train", str(recipe), "--workdir", str(workdir)]) == 0
    rows = [line.split(",")[:5] for line in (workdir / "log.csv").read_text().splitlines()]
    assert ["2", "", "", "", "validation"] in rows  # the resumed run evaluated step 2
    assert (workdir / "checkpoints" / "step-000002.weights.h5").exists()


# ----------------------------------------------------------------------------- eval, export, predict, convert


def test_eval_corrupt_sidecar_is_named(trained, recipe, tmp_path, capsys):
    weights = tmp_path / "w.weights.h5"
    shutil.copy(trained, weights)
    (tmp_path / "w.weights.json").write_text("{not json")
    assert main(["eval", str(recipe), "--weights", str(weights), "--split", "validation"]) == 2
    err = _err(capsys)  # was: internal error JSONDecodeError
    assert str(tmp_path / "w.weights.json") in err and "delete it" in err


def test_get_reads_the_runs_sidecar_and_a_missing_file_is_not_found(trained, tmp_path):
    import zoo

    model = zoo.get("test/tiny_segmenter", weights=str(trained))  # was: a 3-class head, re-initialised silently
    assert model.output.shape[-1] == 6
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "missing.weights.h5")):
        zoo.get("test/tiny_segmenter", weights=str(tmp_path / "missing.weights.h5"))


def _export(weights, out, *extra):
    return main(["export", "test/tiny_segmenter", "--weights", str(weights), "--out", str(out), *extra])


def test_export_fp16_savedmodel_is_refused(trained, tmp_path, capsys):
    assert _export(trained, tmp_path / "sm", "--format", "savedmodel", "--quantize", "fp16") == 2  # was: ignored
    err = _err(capsys)
    assert "--quantize fp16" in err and "--format tflite" in err and not (tmp_path / "sm").exists()


@pytest.mark.parametrize("fmt, name", [("savedmodel", "sm"), ("tflite", "m.tflite")])
def test_export_to_an_impossible_target_names_the_users_path(trained, tmp_path, capsys, fmt, name):
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / name
    assert _export(trained, out, "--format", fmt, "--input-shape", "16,16") == 2  # was: internal error
    err = _err(capsys)
    assert str(out) in err and f"{tmp_path / 'afile'} is a file" in err and ".tmp-" not in err


def test_export_removes_leftovers_of_killed_exports_and_names_overwrite(trained, tmp_path, capsys):
    dead = 2 ** 22 + 12345  # above the default pid_max: no such process
    out = tmp_path / "sm"
    leftover = tmp_path / f"sm.tmp-{dead}-0a1b2c3d"
    leftover.mkdir()
    (leftover / "saved_model.pb").write_bytes(b"half")
    alive = tmp_path / f"sm.tmp-{os.getpid()}-0a1b2c3d"  # an export in progress (this process) is left alone
    alive.mkdir()
    assert _export(trained, out, "--format", "savedmodel") == 0
    assert (out / "saved_model.pb").exists() and not leftover.exists() and alive.exists()
    capsys.readouterr()
    assert _export(trained, out, "--format", "savedmodel") == 2
    err = _err(capsys)
    assert "--overwrite" in err and "overwrite=True" not in err


def test_calibration_examples_must_be_positive(trained, tmp_path, capsys):
    with pytest.raises(SystemExit):  # was: internal error "need at least one array to concatenate"
        _export(trained, tmp_path / "m.tflite", "--format", "tflite", "--input-shape", "16,16", "--quantize", "int8",
                "--calibration-examples", "0")
    assert "--calibration-examples" in capsys.readouterr().err and not (tmp_path / "m.tflite").exists()


@pytest.fixture()
def picture(tmp_path):
    from PIL import Image

    path = tmp_path / "a.png"
    Image.fromarray((np.random.default_rng(0).random((20, 28, 3)) * 255).astype(np.uint8)).save(path)
    return path


def test_predict_needs_weights_or_random_weights(picture, tmp_path, capsys):
    out = tmp_path / "p.png"
    assert main(["predict", "test/tiny_segmenter", str(picture), "--out", str(out)]) == 2  # was: random weights
    err = _err(capsys)
    assert "--weights PATH" in err and "--random-weights" in err and not out.exists()


def test_predict_classifier_crops_to_its_input_and_names_classes(picture, tmp_path, capsys):
    from zoo import registry
    from zoo.predict import class_names_of, classifier_view

    card = registry.card("test/tiny_classifier")  # a 16x16 input; the picture is 20x28
    assert classifier_view(np.zeros((20, 28, 3), np.uint8), card.input_contract).shape == (16, 16, 3)
    assert main(["predict", "test/tiny_classifier", str(picture), "--random-weights", "--out",
                 str(tmp_path / "p.png")]) == 0  # was: refused, "has size 20 on axis 1; the model expects 16"
    assert "a.png: class " in capsys.readouterr().out
    assert class_names_of(card, None, {"class_names": ["x", "y"]}) == ["x", "y"]
    imagenet = class_names_of(registry.card("vgg16"), "keras_imagenet")  # registered weights: ImageNet's 1000
    assert imagenet is not None and len(imagenet) == 1000 and imagenet[0] == "n01440764"


def test_convert_another_head_size_needs_num_classes(tmp_path, capsys):
    import zoo
    from zoo.convert.caffe_writer import keras_to_caffe, write_caffemodel

    six = zoo.get("test/tiny_classifier", num_classes=6)
    path = write_caffemodel(tmp_path / "six.caffemodel", keras_to_caffe(six), name="six")
    out = tmp_path / "c.weights.h5"
    assert main(["convert", "test/tiny_classifier", "--weights", str(path), "--out", str(out)]) == 2
    err = _err(capsys)  # was: the 6-class head re-initialised to 4 classes without a word
    assert "--num-classes" in err and "fc" in err and not out.exists()
    assert main(["convert", "test/tiny_classifier", "--weights", str(path), "--out", str(out), "--num-classes", "6"]) == 0
    assert zoo.get("test/tiny_classifier", num_classes=6, weights=str(out)).get_layer("fc").get_weights()[0].shape == (8, 6)


# ----------------------------------------------------------------------------- bench, data prepare, weights download


def test_bench_bad_batch(capsys):
    assert main(["bench", "test/tiny_classifier", "--batch", "0"]) == 2
    assert "--batch must be an integer >= 1" in _err(capsys)


def test_data_prepare_without_archives_says_where_to_get_them(tmp_path, capsys):
    from zoo.data.__main__ import main as data_main

    assert data_main(["prepare", "voc2012_segmentation", "--manual_dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "VOCtrainval_11-May-2012.tar" in err and f"--manual_dir {tmp_path}" in err
    assert list(tmp_path.iterdir()) == []


def test_unverified_weights_are_not_downloaded_unless_allowed(tmp_path, monkeypatch):
    import keras

    from zoo import registry
    from zoo import weights as weights_mod

    spec = registry.card("vgg16").weights["vgg_caffe"]  # what the FCN recipes start from
    assert spec.url.startswith("https://") and spec.file_hash is None  # the VGG gist publishes no hash
    monkeypatch.setattr(weights_mod, "CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("ZOO_ALLOW_UNVERIFIED", raising=False)
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: pytest.fail("downloaded an unverified file"))
    with pytest.raises(WeightsFormatError, match="published no hash") as e:
        weights_mod.fetch(spec, "vgg16")
    assert "ZOO_ALLOW_UNVERIFIED=1" in str(e.value) and "--allow-unverified" in e.value.cli


def test_sixteen_bit_image_advice_names_no_python_keyword(tmp_path, capsys, trained):
    from PIL import Image

    path = tmp_path / "depth.png"
    Image.fromarray(np.full((16, 16), 4000, np.uint16)).save(path)
    assert main(["predict", "test/tiny_segmenter", str(path), "--weights", str(trained), "--out",
                 str(tmp_path / "p.png")]) == 2
    err = _err(capsys)
    assert "8-bit" in err and "mode=" not in err


def test_sidecar_json_of_a_good_run_is_read(trained):
    meta = json.loads(trained.with_name("final.weights.json").read_text())
    assert meta["options"]["num_classes"] == 6
