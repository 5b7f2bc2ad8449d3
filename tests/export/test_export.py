"""zoo.export: SavedModel signatures, TFLite fp32/fp16/int8 parity in LiteRT, Flex detection,
atomic writes, input checks. Small Keras models are built here; oracles are NumPy
preprocessing and independent LiteRT / tf.saved_model runs of the written files."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from zoo.errors import ConfigError, ExportError, InputError
from zoo.export import ExportReport, export_savedmodel, export_tflite, parity, report_path
from zoo.export.tflite import conversion_error
from zoo.registry import CAFFE_BGR_MEAN, InputContract

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAFFE = InputContract(shape=(None, None, 3))  # BGR minus the Caffe mean
IMAGENET_RGB = InputContract(shape=(16, 16, 3), channel_order="RGB", mean=(123.7, 116.3, 103.5), std=(58.4, 57.1, 57.4))
VECTOR = InputContract(shape=(6, 4), kind="vector", channel_order=None, mean=None)


@pytest.fixture(scope="module")
def seg_model():
    """FCN-like: a stride-2 encoder and a learned stride-2 Conv2DTranspose back to the input size."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(inp)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv2")(x)
    out = keras.layers.Conv2DTranspose(5, 4, strides=2, padding="same", name="upscore")(x)
    return keras.Model(inp, out, name="tiny_seg")


@pytest.fixture(scope="module")
def classifier():
    keras.utils.set_random_seed(1)
    inp = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv1")(inp)
    x = keras.layers.MaxPooling2D(name="pool1")(x)
    x = keras.layers.Conv2D(16, 3, activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool2")(x)
    return keras.Model(inp, keras.layers.Dense(4, name="fc")(x), name="tiny_classifier")


def lstm_model(unroll):
    keras.utils.set_random_seed(2)
    inp = keras.Input((6, 4))
    x = keras.layers.LSTM(8, unroll=unroll, name="lstm")(inp)
    return keras.Model(inp, keras.layers.Dense(3, name="fc")(x), name=f"tiny_lstm_unroll{int(unroll)}")


def caffe_oracle(images):
    """Caffe preprocessing in NumPy: RGB -> BGR, minus the ILSVRC mean."""
    return images[..., ::-1].astype(np.float32) - np.asarray(CAFFE_BGR_MEAN, np.float32)


def run_litert(path, x):
    interpreter = Interpreter(model_path=path)
    interpreter.allocate_tensors()
    runner = interpreter.get_signature_runner()
    return np.concatenate([runner(inputs=s[None])["output_0"] for s in x])


def keras_out(model, x):
    return keras.ops.convert_to_numpy(model(x))


# ----------------------------------------------------------------------------- SavedModel


def test_savedmodel_signatures_and_serve_images(seg_model, tmp_path):
    out = tmp_path / "tiny_seg"
    report = export_savedmodel(seg_model, out, input_contract=CAFFE)
    assert report.format == "savedmodel" and report.input_shape == (None, None, 3)
    assert report.max_abs_diff <= report.tolerance == pytest.approx(1e-4 * max(report.output_scale, 1.0))
    assert report.size_bytes > 0
    on_disk = json.loads(open(report_path(str(out))).read())
    assert on_disk["max_abs_diff"] == report.max_abs_diff and on_disk["format"] == "savedmodel"
    assert sorted(os.listdir(tmp_path)) == ["tiny_seg"]  # no temp litter

    loaded = tf.saved_model.load(str(out))
    assert {"serve", "serving_default", "serve_images"} <= set(loaded.signatures)
    (serve_spec,) = loaded.signatures["serve"].structured_input_signature[1].values()
    assert serve_spec.shape.as_list() == [None, None, None, 3] and serve_spec.dtype == tf.float32
    (image_spec,) = loaded.signatures["serve_images"].structured_input_signature[1].values()
    assert image_spec.shape.as_list() == [None, None, None, 3] and image_spec.dtype == tf.uint8

    # Free H/W: a size the export never saw, through serve and serving_default.
    x = np.random.default_rng(5).uniform(-120, 150, (2, 24, 40, 3)).astype(np.float32)
    for name in ("serve", "serving_default"):
        got = loaded.signatures[name](inputs=tf.constant(x))["output_0"].numpy()
        np.testing.assert_allclose(got, keras_out(seg_model, x), atol=1e-3)

    # serve_images = NumPy Caffe preprocessing + the model; labels = argmax of the scores.
    images = np.random.default_rng(6).integers(0, 256, (2, 24, 40, 3), dtype=np.uint8)
    out_images = loaded.signatures["serve_images"](images=tf.constant(images))
    expected = keras_out(seg_model, caffe_oracle(images))
    np.testing.assert_allclose(out_images["scores"].numpy(), expected, atol=1e-3)
    labels = out_images["labels"].numpy()
    assert labels.shape == (2, 24, 40) and labels.dtype == np.int32
    top2 = np.sort(expected, axis=-1)[..., -2:]
    clear = top2[..., 1] - top2[..., 0] > 1e-3
    assert clear.mean() > 0.9
    np.testing.assert_array_equal(labels[clear], expected.argmax(-1)[clear])


def test_savedmodel_classifier_and_vector_model(classifier, tmp_path):
    export_savedmodel(classifier, tmp_path / "cls", input_contract=IMAGENET_RGB)
    loaded = tf.saved_model.load(str(tmp_path / "cls"))
    (spec,) = loaded.signatures["serve"].structured_input_signature[1].values()
    assert spec.shape.as_list() == [None, 16, 16, 3]
    images = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    want = keras_out(classifier, (images.astype(np.float32) - IMAGENET_RGB.mean) / IMAGENET_RGB.std)
    got = loaded.signatures["serve_images"](images=tf.constant(images))  # a classifier: scores only
    assert list(got) == ["output_0"]
    np.testing.assert_allclose(got["output_0"].numpy(), want, atol=1e-4)

    lstm = lstm_model(unroll=False)
    report = export_savedmodel(lstm, tmp_path / "lstm", input_contract=VECTOR)
    assert set(tf.saved_model.load(str(tmp_path / "lstm")).signatures) == {"serve", "serving_default"}
    assert report.max_abs_diff <= report.tolerance
    assert report.checked_examples > 0 and report.calibration_examples is None


# ----------------------------------------------------------------------------- TFLite


def test_tflite_fp32_and_fp16(seg_model, tmp_path):
    x = np.random.default_rng(7).uniform(-120, 150, (2, 32, 32, 3)).astype(np.float32)
    want = keras_out(seg_model, x)
    sizes = {}
    for quantize in (None, "fp16"):
        path = str(tmp_path / f"seg_{quantize or 'fp32'}.tflite")
        report = export_tflite(seg_model, path, input_shape=(32, 32, 3), quantize=quantize, input_contract=CAFFE)
        assert report.size_bytes == os.path.getsize(path)
        assert {"CONV_2D", "TRANSPOSE_CONV"} <= set(report.ops)
        assert report.max_abs_diff <= report.tolerance
        sizes[quantize] = report.size_bytes
        if quantize == "fp16":
            assert "DEQUANTIZE" in report.ops  # float16 weights expanded at load
        scale = max(np.abs(want).max(), 1.0)
        rtol = {None: 1e-4, "fp16": 1e-2}[quantize]
        assert report.tolerance == pytest.approx(rtol * max(report.output_scale, 1.0))
        assert np.abs(run_litert(path, x) - want).max() <= rtol * scale  # independent run, fresh inputs
    assert sizes["fp16"] < 0.8 * sizes[None]  # float16 weights


def test_tflite_int8_with_metric(classifier, tmp_path):
    x = parity.default_check_inputs(classifier, (16, 16, 3), "float32", IMAGENET_RGB, n=40, seed=3)
    rep = [parity.default_check_inputs(classifier, (16, 16, 3), "float32", IMAGENET_RGB, n=4, seed=s) for s in range(8)]

    def top1(keras_outputs, tflite_outputs):
        labels = keras_outputs.argmax(-1)  # agreement with the float model's decision
        return {"keras": {"top1": 1.0}, "tflite_int8": {"top1": float(np.mean(tflite_outputs.argmax(-1) == labels))}}

    path = str(tmp_path / "cls_int8.tflite")
    report = export_tflite(
        classifier,
        path,
        input_shape=(16, 16, 3),
        quantize="int8",
        representative_data=rep,
        check_inputs=x,
        metric_fn=top1,
        input_contract=IMAGENET_RGB,
    )
    assert report.tolerance is None and report.quantize == "int8"
    assert report.metrics["tflite_int8"]["top1"] >= 0.8
    written = json.loads(open(report_path(path)).read())
    assert written["metrics"] == report.metrics
    # how many samples calibrated it (8 batches of 4) and how many evaluated it (the 40 check inputs)
    assert (written["calibration_examples"], written["checked_examples"]) == (32, 40)
    interpreter = Interpreter(model_path=path)
    assert interpreter.get_input_details()[0]["dtype"] == np.float32  # float I/O by default
    dtypes = {t["index"]: t["dtype"] for t in interpreter.get_tensor_details()}
    conv = [d for d in interpreter._get_ops_details() if d["op_name"] == "CONV_2D"]
    assert conv and all(dtypes[i] == np.int8 for d in conv for i in d["inputs"][:2])  # int8 activations, weights

    report = export_tflite(
        classifier,
        str(tmp_path / "cls_int8io.tflite"),
        input_shape=(16, 16, 3),
        quantize="int8",
        representative_data=rep,
        check_inputs=x,
        metric_fn=top1,
        io_dtype="int8",
    )
    assert Interpreter(model_path=str(tmp_path / "cls_int8io.tflite")).get_input_details()[0]["dtype"] == np.int8
    assert report.metrics["tflite_int8"]["top1"] >= 0.8

    with pytest.raises(ConfigError, match="representative_data"):
        export_tflite(classifier, str(tmp_path / "no_rep.tflite"), input_shape=(16, 16, 3), quantize="int8")
    with pytest.raises(InputError, match="representative_data batch 0"):
        export_tflite(
            classifier,
            str(tmp_path / "bad_rep.tflite"),
            input_shape=(16, 16, 3),
            quantize="int8",
            representative_data=[np.zeros((2, 8, 8, 3), np.float32)],
        )
    assert not any(p.name.startswith(("no_rep", "bad_rep")) for p in tmp_path.iterdir())


def test_lstm_builtins_while_loop_and_unrolled_int8(tmp_path):
    """Measured: at batch 1 a Keras LSTM lowers to a builtin WHILE (no Flex); int8 of it is refused
    (the converter segfaults calibrating it); unrolled, it is plain builtin ops and int8 works."""
    rolled = lstm_model(unroll=False)
    report = export_tflite(rolled, str(tmp_path / "rolled.tflite"), input_shape=(6, 4), input_contract=VECTOR)
    assert "WHILE" in report.ops and report.max_abs_diff <= report.tolerance
    with pytest.raises(ExportError, match="unroll=True"):
        export_tflite(
            rolled,
            str(tmp_path / "rolled_int8.tflite"),
            input_shape=(6, 4),
            quantize="int8",
            representative_data=[np.zeros((1, 6, 4), np.float32)],
            input_contract=VECTOR,
        )
    assert not (tmp_path / "rolled_int8.tflite").exists()

    unrolled = lstm_model(unroll=True)
    report = export_tflite(unrolled, str(tmp_path / "unrolled.tflite"), input_shape=(6, 4), input_contract=VECTOR)
    assert "WHILE" not in report.ops and not any(op.startswith("Flex") for op in report.ops)
    assert report.max_abs_diff <= report.tolerance
    rep = [np.random.default_rng(s).standard_normal((4, 6, 4)).astype(np.float32) for s in range(4)]
    report = export_tflite(
        unrolled,
        str(tmp_path / "unrolled_int8.tflite"),
        input_shape=(6, 4),
        quantize="int8",
        representative_data=rep,
        input_contract=VECTOR,
    )
    assert "WHILE" not in report.ops and report.max_abs_diff < 0.1 * max(report.output_scale, 1.0)


def test_tensor_list_converter_error_is_named(tmp_path):
    """A real converter failure (an LSTM with a free batch axis) is turned into a message naming
    the TensorList op, suggesting unroll=True and allow_flex=True."""
    model = lstm_model(unroll=False)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda x: model(x), input_signature=[tf.TensorSpec((None, 6, 4), tf.float32)])
    archive.write_out(str(tmp_path / "sm"), verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "sm"))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    with pytest.raises(Exception) as raised:
        converter.convert()
    message = str(conversion_error(raised.value, allow_flex=False))
    assert re.search(r"TensorList\w+", message) and "unroll=True" in message and "allow_flex=True" in message


def test_flex_ops_refused_then_allowed(tmp_path):
    inp = keras.Input((3, 3))
    model = keras.Model(inp, keras.ops.linalg.det(inp), name="det")  # tf.MatrixDeterminant: no builtin
    path = str(tmp_path / "det.tflite")
    with pytest.raises(ExportError, match=r"MatrixDeterminant.*allow_flex=True"):
        export_tflite(model, path, input_shape=(3, 3))
    assert os.listdir(tmp_path) == []
    with pytest.warns(UserWarning, match="no Flex delegate"):
        report = export_tflite(model, path, input_shape=(3, 3), allow_flex=True)
    assert report.ops == ["FlexMatrixDeterminant"] and report.max_abs_diff is None and report.notes
    assert os.path.exists(path)


# ----------------------------------------------------------------------------- atomic writes


@pytest.mark.parametrize("fmt", ["savedmodel", "tflite"])
def test_existing_target_refused_and_overwrite(fmt, classifier, tmp_path):
    def export(model, **kwargs):
        if fmt == "savedmodel":
            return export_savedmodel(model, target, input_contract=IMAGENET_RGB, **kwargs)
        return export_tflite(model, target, input_shape=(16, 16, 3), input_contract=IMAGENET_RGB, **kwargs)

    def run(x):
        if fmt == "savedmodel":
            return tf.saved_model.load(target).signatures["serve"](inputs=tf.constant(x))["output_0"].numpy()
        return run_litert(target, x)

    target = str(tmp_path / ("cls" if fmt == "savedmodel" else "cls.tflite"))
    export(classifier)
    other = keras.models.clone_model(classifier)  # same architecture, fresh weights
    x = np.random.default_rng(0).standard_normal((1, 16, 16, 3)).astype(np.float32)
    with pytest.raises(ExportError, match="overwrite=True"):
        export(other)
    np.testing.assert_allclose(run(x), keras_out(classifier, x), atol=1e-4)  # untouched
    export(other, overwrite=True)
    np.testing.assert_allclose(run(x), keras_out(other, x), atol=1e-4)
    assert not any(".tmp-" in p.name for p in tmp_path.iterdir())


def test_interrupted_exports_leave_nothing(classifier, tmp_path, monkeypatch):
    def interrupted_convert(*args, **kwargs):
        raise KeyboardInterrupt  # mid-way: the intermediate SavedModel is already on disk

    monkeypatch.setattr(tf.lite.TFLiteConverter, "from_saved_model", interrupted_convert)
    with pytest.raises(KeyboardInterrupt):
        export_tflite(classifier, str(tmp_path / "cls.tflite"), input_shape=(16, 16, 3))
    assert os.listdir(tmp_path) == []

    archive_class = type(keras.export.ExportArchive())  # the backend's subclass
    write_out = archive_class.write_out

    def interrupted_write(self, path, **kwargs):
        write_out(self, path, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(archive_class, "write_out", interrupted_write)
    with pytest.raises(KeyboardInterrupt):
        export_savedmodel(classifier, tmp_path / "cls", input_contract=IMAGENET_RGB)
    assert os.listdir(tmp_path) == []
    monkeypatch.undo()

    # An interrupted overwrite keeps the old export.
    export_savedmodel(classifier, tmp_path / "cls", input_contract=IMAGENET_RGB)
    before = sorted(os.listdir(tmp_path / "cls"))
    monkeypatch.setattr(archive_class, "write_out", interrupted_write)
    with pytest.raises(KeyboardInterrupt):
        export_savedmodel(classifier, tmp_path / "cls", input_contract=IMAGENET_RGB, overwrite=True)
    assert os.listdir(tmp_path) == ["cls"] and sorted(os.listdir(tmp_path / "cls")) == before


def test_parity_failure_leaves_nothing(classifier, tmp_path, monkeypatch):
    monkeypatch.setattr(parity, "FP32_RTOL", -1.0)  # no artefact can pass: exercises the failure path
    with pytest.raises(ExportError, match="differs from the Keras model"):
        export_tflite(classifier, str(tmp_path / "cls.tflite"), input_shape=(16, 16, 3))
    with pytest.raises(ExportError, match="differs from the Keras model"):
        export_savedmodel(classifier, tmp_path / "cls", input_contract=IMAGENET_RGB)
    assert os.listdir(tmp_path) == []


KILLED_EXPORT = """
import sys, time
import keras, tensorflow as tf
from zoo.export import export_tflite

def hang(*args, **kwargs):
    open(sys.argv[2], "w").close()
    time.sleep(600)

tf.lite.TFLiteConverter.from_saved_model = hang
inp = keras.Input((8, 8, 3))
export_tflite(keras.Model(inp, keras.layers.Conv2D(2, 3)(inp)), sys.argv[1], input_shape=(8, 8, 3))
"""


def test_sigkilled_export_leaves_no_target(tmp_path):
    out_dir, marker = tmp_path / "out", tmp_path / "converting"
    out_dir.mkdir()
    target = out_dir / "model.tflite"
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_EXPORT, str(target), str(marker)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.time() < deadline, "the export subprocess never reached conversion"
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    left = os.listdir(out_dir)
    assert "model.tflite" not in left and "model.export.json" not in left
    assert left and all(re.fullmatch(r"model\.tflite\.tmp-\d+-[0-9a-f]{8}", name) for name in left)


# ----------------------------------------------------------------------------- input checks


def test_wrong_inputs_raise_input_error(seg_model, classifier, tmp_path):
    with pytest.raises(InputError, match="4 channels; the model expects 3"):
        export_tflite(seg_model, str(tmp_path / "a.tflite"), input_shape=(32, 32, 4), input_contract=CAFFE)
    with pytest.raises(InputError, match="4 channels"):  # no contract: checked against the model's input
        export_tflite(seg_model, str(tmp_path / "a.tflite"), input_shape=(32, 32, 4))
    with pytest.raises(InputError, match="rank 2"):
        export_savedmodel(seg_model, tmp_path / "b", input_contract=VECTOR, input_shape=(32, 32))
    with pytest.raises(InputError, match="size 20 on axis 1"):
        export_tflite(classifier, str(tmp_path / "c.tflite"), input_shape=(20, 16, 3))
    with pytest.raises(InputError, match="fully defined"):
        export_tflite(seg_model, str(tmp_path / "d.tflite"), input_shape=(None, 32, 3))
    with pytest.raises(InputError, match="uint8; the network input is float32"):
        export_savedmodel(
            classifier, tmp_path / "e", input_contract=IMAGENET_RGB, check_inputs=np.zeros((1, 16, 16, 3), np.uint8)
        )
    with pytest.raises(ConfigError, match="fixed input_shape"):
        export_tflite(classifier, str(tmp_path / "f.tflite"), input_shape=None)
    assert os.listdir(tmp_path) == []


def test_report_json_round_trip():
    report = ExportReport(
        "tflite", "m.tflite", "fp16", (8, 8, 3), 10, 0.5, 2.0, 0.02, metrics={"x": np.float32(0.25)}, ops=["CONV_2D"]
    )
    loaded = json.loads(report.to_json())
    assert loaded["metrics"] == {"x": 0.25} and loaded["input_shape"] == [8, 8, 3] and loaded["ops"] == ["CONV_2D"]
    assert report_path("out/m.tflite") == "out/m.export.json"
