"""zoo.export.export_onnx: Keras's ONNX exporter checked in ONNX Runtime, by name for several inputs,
grouped convolutions, atomic writes and the CLI. The oracle is an independent ONNX Runtime session
of the written file (every registered model's parity is in tests/test_models_registry.py)."""

import json
import os

import keras
import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")

from zoo.cli import main  # noqa: E402
from zoo.errors import ExportError  # noqa: E402
from zoo.export import export_onnx, onnx as onnx_export, report_path  # noqa: E402
from zoo.registry import InputContract  # noqa: E402

CAFFE = InputContract(shape=(None, None, 3))


def _run(path, feeds):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds), [i.name for i in session.get_inputs()], [i.shape for i in session.get_inputs()]


def _grouped_net():
    keras.utils.set_random_seed(3)
    inp = keras.Input((None, None, 4))
    x = keras.layers.Conv2D(8, 3, groups=2, padding="same", activation="relu", name="grouped")(inp)
    return keras.Model(inp, keras.layers.Conv2D(3, 1, name="score")(x), name="tiny_grouped")


def test_free_sizes_stay_free_and_outputs_match_keras(tmp_path):
    model = _grouped_net()
    report = export_onnx(model, tmp_path / "m.onnx", input_contract=InputContract(shape=(None, None, 4)))
    assert report.format == "onnx" and report.max_abs_diff <= report.tolerance
    assert json.loads(open(report_path(tmp_path / "m.onnx")).read())["format"] == "onnx"
    x = np.random.default_rng(0).normal(size=(3, 11, 7, 4)).astype("float32")  # a size the check did not use
    (got,), names, shapes = _run(tmp_path / "m.onnx", {"inputs": x})
    assert names == ["inputs"] and not isinstance(shapes[0][1], int)  # H free in the file
    np.testing.assert_allclose(got, np.asarray(model(x)), rtol=1e-5, atol=1e-5)
    # the grouped layer is left as it was after the export
    assert "convolution_op" not in vars(model.get_layer("grouped"))


def test_several_inputs_are_taken_by_name(tmp_path):
    keras.utils.set_random_seed(4)
    image, words = keras.Input((8, 8, 3), name="image"), keras.Input((5,), dtype="int32", name="words")
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, name="conv")(image))
    embedded = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(10, 4, name="embed")(words))
    model = keras.Model([image, words], keras.layers.Dense(2, name="fc")(keras.layers.Add()([pooled, embedded])))
    rng = np.random.default_rng(1)
    feeds = {"image": rng.normal(size=(2, 8, 8, 3)).astype("float32"), "words": rng.integers(0, 10, (2, 5), dtype="int32")}
    export_onnx(model, tmp_path / "two.onnx", check_inputs=feeds)
    (got,), names, _ = _run(tmp_path / "two.onnx", feeds)
    assert sorted(names) == ["image", "words"]
    np.testing.assert_allclose(got, np.asarray(model(feeds)), rtol=1e-5, atol=1e-5)


def test_a_failed_conversion_leaves_nothing(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ExportError("converting tiny_grouped to ONNX failed: test")

    monkeypatch.setattr(onnx_export, "_convert", broken)
    with pytest.raises(ExportError, match="failed"):
        export_onnx(_grouped_net(), tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []


def test_an_export_that_differs_from_keras_is_refused(tmp_path, monkeypatch):
    real = onnx_export.run_onnx
    monkeypatch.setattr(onnx_export, "run_onnx", lambda path, feeds: [o + 1.0 for o in real(path, feeds)])
    with pytest.raises(ExportError, match="differs from the Keras model"):
        export_onnx(_grouped_net(), tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []


def test_cli_onnx_export_and_refusals(tmp_path, capsys):
    out = tmp_path / "seg.onnx"
    assert main(["export", "test/tiny_segmenter", "--format", "onnx", "--out", str(out)]) == 0
    assert "parity" in capsys.readouterr().out and out.exists() and os.path.exists(report_path(out))
    assert main(["export", "test/tiny_segmenter", "--format", "onnx", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["export", "test/tiny_segmenter", "--format", "onnx", "--quantize", "int8", "--out",
                 str(tmp_path / "q.onnx")]) == 2
    assert "--quantize int8 applies to --format tflite" in capsys.readouterr().err


def test_roi_pooling_of_boxes_outside_the_image_exports_as_zeros(tmp_path):
    """Fast R-CNN's RoI pooling: empty bins are 0 in Keras; in ONNX they once came out NaN (0 * -inf)."""
    from zoo.layers.roi import RoIMaxPooling

    features, rois = keras.Input((8, 8, 2), name="image"), keras.Input((3, 4), name="rois")
    model = keras.Model([features, rois], RoIMaxPooling(2, 0.5)(features, rois))
    rng = np.random.default_rng(0)
    feeds = {"image": rng.normal(size=(1, 8, 8, 2)).astype("float32"),
             "rois": np.array([[[0, 0, 7, 7], [-40, -30, -5, -9], [30, 2, 9, 40]]], "float32")}
    export_onnx(model, tmp_path / "roi.onnx", check_inputs=feeds)
    (got,), _, _ = _run(tmp_path / "roi.onnx", feeds)
    want = np.asarray(model(feeds))
    assert np.all(want[1] == 0) and np.any(want[0] != 0)
    np.testing.assert_array_equal(got, want)


def test_without_tf2onnx_the_error_says_what_to_install(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # as if not installed
    with pytest.raises(Exception, match=r"pip install 'zoo\[onnx\]'") as info:
        export_onnx(_grouped_net(), tmp_path / "m.onnx")
    assert type(info.value).__name__ == "ConfigError" and os.listdir(tmp_path) == []
