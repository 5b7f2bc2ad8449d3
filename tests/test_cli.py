"""The `zoo` command, in-process (zoo.cli.main) except where a fresh process matters."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.training.helpers import write_recipe, zoo_cmd
from zoo.cli import main


def test_list_and_info(capsys):
    assert main(["list", "test/*"]) == 1  # hidden test models are not listed
    assert main(["info", "test/tiny_segmenter"]) == 0
    out = capsys.readouterr().out
    assert "tiny_segmenter" in out and "parameters" in out


def test_unknown_model_is_one_sentence(capsys):
    assert main(["info", "test/tiny_segmentr"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "did you mean" in err and "Traceback" not in err


def test_unknown_recipe_and_bad_override(capsys, tmp_path):
    assert main(["train", "no_such_recipe"]) == 2
    assert "unknown recipe" in capsys.readouterr().err
    recipe = write_recipe(tmp_path / "r.toml")
    assert main(["train", str(recipe), "--set", "optimizer.lerning_rate=1", "--workdir", str(tmp_path / "w")]) == 2
    assert "did you mean optimizer.learning_rate" in capsys.readouterr().err


def test_bad_input_shape_argument():
    with pytest.raises(SystemExit):
        main(["export", "test/tiny_segmenter", "--format", "tflite", "--input-shape", "64", "--out", "x.tflite"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    recipe = write_recipe(tmp / "r.toml", steps=8, checkpoint_every=4)
    assert main(["train", str(recipe), "--workdir", str(tmp / "run")]) == 0
    return tmp, recipe, tmp / "run" / "final.weights.h5"


def test_eval_export_predict(trained, capsys):
    tmp, recipe, weights = trained
    assert main(["eval", str(recipe), "--weights", str(weights), "--out", str(tmp / "eval.json")]) == 0
    assert "mean_iu" in json.loads((tmp / "eval.json").read_text())
    assert main(["export", "test/tiny_segmenter", "--weights", str(weights), "--format", "savedmodel",
                 "--out", str(tmp / "sm")]) == 0
    assert (tmp / "sm" / "saved_model.pb").exists()
    assert main(["export", "test/tiny_segmenter", "--weights", str(weights), "--format", "tflite",
                 "--input-shape", "16,16", "--quantize", "int8", "--out", str(tmp / "m8.tflite")]) == 0
    out = capsys.readouterr().out
    assert "tflite_int8" in out and "mean_iu" in out
    report = json.loads((tmp / "m8.export.json").read_text())
    n_cal, n_eval = report["calibration_examples"], report["checked_examples"]
    assert n_cal > 0 and n_eval > 0
    assert f"int8: calibrated on {n_cal} shapes train images; parity and metrics on {n_eval} shapes validation" in out
    # saved_models/README.md describes what an export writes
    layout = (Path(__file__).resolve().parents[1] / "saved_models" / "README.md").read_text()
    for name in [*os.listdir(tmp / "sm"), "m8.tflite", "m8.export.json"]:
        assert name.replace("m8", "NAME") in layout or name in layout, name
    # an existing target is refused, in one sentence
    assert main(["export", "test/tiny_segmenter", "--weights", str(weights), "--format", "savedmodel",
                 "--out", str(tmp / "sm")]) == 2
    assert "already exists" in capsys.readouterr().err
    from PIL import Image

    from zoo.data.standins.shapes import render_example

    Image.fromarray(render_example(0, "validation", 0, 16)["image"]).save(tmp / "a.png")
    Image.fromarray(render_example(0, "validation", 1, 16)["image"]).convert("L").save(tmp / "gray.png")
    assert main(["predict", "test/tiny_segmenter", str(tmp / "a.png"), str(tmp / "gray.png"), "--weights", str(weights),
                 "--out", str(tmp / "pred.png")]) == 0
    img = np.asarray(Image.open(tmp / "pred.png"))
    assert img.ndim == 3 and img.shape[0] > 100


def test_corrupt_image_at_predict_is_named(trained, capsys):
    tmp, recipe, weights = trained
    bad = tmp / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    assert main(["predict", "test/tiny_segmenter", str(bad), "--weights", str(weights), "--out", str(tmp / "p.png")]) == 2
    assert "broken.jpg" in capsys.readouterr().err


def test_python_m_zoo_runs_in_a_fresh_process():
    p = zoo_cmd("list", "fcn*")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "fcn8s" in p.stdout


def test_a_training_run_prints_no_tensorflow_start_up_lines(tmp_path):
    """TensorFlow's C++ start-up lines (absl, CUDA stub probing) are kept off the terminal."""
    recipe = write_recipe(tmp_path / "r.toml", steps=1, checkpoint_every=1)
    p = zoo_cmd("train", recipe, "--workdir", tmp_path / "run")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "absl::InitializeLog" not in p.stderr and "cudart_stub" not in p.stderr, p.stderr[-2000:]
    assert "done: 1 steps" in p.stdout + p.stderr
