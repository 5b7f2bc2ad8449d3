"""zoo.export for models with several inputs (two-stream FCNs, captioners) and several outputs
(FCN-16s SIFT Flow): signatures by input name, inputs fed to LiteRT by name, per-stream
preprocessing in serve_images, per-output parity, and the `zoo export` command. Oracles: NumPy
preprocessing, the Keras model, independent tf.saved_model / LiteRT runs of the written files."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from zoo import registry
from zoo.errors import ConfigError, ExportError, InputError
from zoo.export import export_savedmodel, export_tflite, parity, tflite
from zoo.models.fcn.cards import NYUD_BGR_MEAN, NYUD_HHA_MEAN
from zoo.models.lrcn.cards import WORDS_CONTRACT
from zoo.registry import InputContract

RGBHHA = registry.card("fcn32s_rgbhha").input_contract  # streams "color" (BGR - mean) and "hha" (as stored - mean)
CAPTION = InputContract(shape=(8, 8, 3), streams=(InputContract(shape=(8, 8, 3), name="image"), WORDS_CONTRACT,
                                                  InputContract(shape=(2,), dtype="int32", kind="tokens", name="tags",
                                                                channel_order=None, mean=None)))


@pytest.fixture(scope="module")
def two_stream():
    """Late fusion as in fcn32s_rgbhha: a different layer per stream, so swapping the two
    same-shaped inputs changes the output."""
    keras.utils.set_random_seed(0)
    inputs = {m: keras.Input((None, None, 3), name=m) for m in ("hha", "color")}
    color = keras.layers.Conv2D(4, 3, padding="same", name="score_color")(inputs["color"])
    hha = keras.layers.Conv2D(4, 1, name="score_hha")(inputs["hha"])
    return keras.Model(inputs, keras.layers.Average(name="score_fused")([color, hha]), name="tiny_rgbhha")


@pytest.fixture(scope="module")
def two_heads():
    """One trunk, two heads of different scales, as fcn16s_siftflow's [score_sem, score_geo]."""
    keras.utils.set_random_seed(1)
    data = keras.Input((16, 16, 3), name="data")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(data)
    sem = keras.layers.Conv2D(5, 1, name="score_sem")(x)
    geo = keras.layers.Rescaling(50.0, name="score_geo")(keras.layers.Conv2D(3, 1, name="geo")(x))
    return keras.Model(data, [sem, geo], name="tiny_siftflow")


def captioner():
    """image + words (Embedding of 7) + tags (Embedding of 50): token ids per input's own vocabulary."""
    keras.utils.set_random_seed(2)
    image = keras.Input((8, 8, 3), name="image")
    words = keras.Input((None,), dtype="int32", name="words")
    tags = keras.Input((2,), dtype="int32", name="tags")
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, name="conv")(image))
    w = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(7, 4, name="embedding")(words))
    t = keras.layers.Flatten()(keras.layers.Embedding(50, 4, name="tag_embedding")(tags))
    out = keras.layers.Dense(6, name="predict")(keras.layers.Concatenate()([x, w, t]))
    return keras.Model([image, words, tags], out, name="tiny_captioner")


def keras_out(model, x):
    return [np.asarray(o) for o in keras.tree.flatten(model(x))]


def pictures(seed, shape=(2, 16, 16, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


# ----------------------------------------------------------------------------- two streams


def test_two_stream_savedmodel_takes_inputs_and_pictures_by_name(two_stream, tmp_path):
    report = export_savedmodel(two_stream, tmp_path / "sm", input_contract=RGBHHA)
    assert report.input_shape == {"color": (None, None, 3), "hha": (None, None, 3)}
    assert report.max_abs_diff <= report.tolerance and [o["name"] for o in report.outputs] == ["score_fused"]
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    for name, dtype in (("serve", tf.float32), ("serving_default", tf.float32), ("serve_images", tf.uint8)):
        specs = loaded.signatures[name].structured_input_signature[1]
        assert sorted(specs) == ["color", "hha"] and all(s.dtype == dtype for s in specs.values())

    rng = np.random.default_rng(3)
    color, hha = (rng.uniform(-120, 150, (2, 12, 20, 3)).astype(np.float32) for _ in range(2))
    want = keras_out(two_stream, {"color": color, "hha": hha})[0]
    swapped = keras_out(two_stream, {"color": hha, "hha": color})[0]
    assert np.abs(swapped - want).max() > 1.0  # a swap of the two inputs could not pass the check below
    got = loaded.signatures["serve"](color=tf.constant(color), hha=tf.constant(hha))["output_0"].numpy()
    np.testing.assert_allclose(got, want, atol=1e-3)

    # serve_images: each stream preprocessed by its own contract (NumPy oracle of nyud_layers.py).
    pc, ph = pictures(4), pictures(5)
    out = loaded.signatures["serve_images"](color=tf.constant(pc), hha=tf.constant(ph))
    want = keras_out(two_stream, {"color": pc[..., ::-1] - np.float32(NYUD_BGR_MEAN),
                                  "hha": ph - np.float32(NYUD_HHA_MEAN)})[0]
    np.testing.assert_allclose(out["scores"].numpy(), want, atol=1e-3)
    assert out["labels"].shape == (2, 16, 16) and (out["labels"].numpy() == want.argmax(-1)).mean() > 0.99


def test_two_stream_tflite_feeds_inputs_by_name(two_stream, tmp_path, monkeypatch):
    shapes = {"color": (16, 16, 3), "hha": (16, 16, 3)}
    path = str(tmp_path / "rgbhha.tflite")
    report = export_tflite(two_stream, path, input_shape=shapes, input_contract=RGBHHA)
    assert report.input_shape == shapes and report.max_abs_diff <= report.tolerance
    runner = Interpreter(model_path=path).get_signature_runner("serving_default")
    assert sorted(runner.get_input_details()) == ["color", "hha"]
    rng = np.random.default_rng(6)
    color, hha = (rng.uniform(-120, 150, (1, 16, 16, 3)).astype(np.float32) for _ in range(2))
    want = keras_out(two_stream, {"color": color, "hha": hha})[0]
    np.testing.assert_allclose(runner(hha=hha, color=color)["output_0"], want, atol=1e-3)

    # The exporter's own check catches inputs fed to the wrong stream (its default check inputs
    # differ per stream): here LiteRT is handed them swapped.
    real = tflite.run_tflite
    monkeypatch.setattr(tflite, "run_tflite", lambda p, feeds: real(p, {"color": feeds["hha"], "hha": feeds["color"]}))
    with pytest.raises(ExportError, match="differs from the Keras model"):
        export_tflite(two_stream, str(tmp_path / "swapped.tflite"), input_shape=shapes, input_contract=RGBHHA)
    monkeypatch.undo()

    rep = [{"color": color, "hha": hha}, parity.check_inputs_for(two_stream, parity.resolve_streams(
        two_stream, shapes, RGBHHA, fixed=True), None)]
    report = export_tflite(two_stream, str(tmp_path / "int8.tflite"), input_shape=shapes, quantize="int8",
                           representative_data=rep, input_contract=RGBHHA)
    assert report.max_abs_diff < 0.05 * report.output_scale
    assert not (tmp_path / "swapped.tflite").exists()


# ----------------------------------------------------------------------------- several outputs


def test_every_output_is_checked_and_reported(two_heads, tmp_path, monkeypatch):
    path = str(tmp_path / "heads.tflite")
    report = export_tflite(two_heads, path, input_shape=(16, 16, 3))
    rows = {r["name"]: r for r in report.outputs}
    assert list(rows) == ["score_sem", "score_geo"]
    assert rows["score_sem"]["shape"] == [16, 16, 5] and rows["score_geo"]["shape"] == [16, 16, 3]
    assert rows["score_geo"]["output_scale"] > 10 * max(rows["score_sem"]["output_scale"], 1.0)
    for r in rows.values():  # each output held to its own scale's tolerance
        assert r["max_abs_diff"] <= r["tolerance"] == pytest.approx(1e-4 * max(r["output_scale"], 1.0))
    assert json.loads(open(tmp_path / "heads.export.json").read())["outputs"] == report.outputs
    x = np.random.default_rng(7).uniform(-120, 150, (1, 16, 16, 3)).astype(np.float32)
    runner = Interpreter(model_path=path).get_signature_runner("serving_default")
    got = runner(inputs=x)
    for i, want in enumerate(keras_out(two_heads, x)):
        np.testing.assert_allclose(got[f"output_{i}"], want, atol=1e-4 * max(1.0, np.abs(want).max()))

    # An error in the small-scale head alone, below the large head's tolerance, is still caught.
    real = tflite.run_tflite

    def off(p, feeds):
        sem, geo = real(p, feeds)
        return [sem + 0.5 * rows["score_geo"]["tolerance"], geo]

    monkeypatch.setattr(tflite, "run_tflite", off)
    with pytest.raises(ExportError, match="output 'score_sem' differs"):
        export_tflite(two_heads, str(tmp_path / "off.tflite"), input_shape=(16, 16, 3))

    monkeypatch.undo()
    sm = export_savedmodel(two_heads, tmp_path / "sm", input_contract=InputContract(shape=(16, 16, 3)))
    assert [r["name"] for r in sm.outputs] == ["score_sem", "score_geo"] and sm.metrics["serve_images"]


# ----------------------------------------------------------------------------- tokens, rgbd, errors


def test_token_inputs_take_ids_below_their_own_vocabulary(tmp_path):
    model = captioner()
    streams = parity.resolve_streams(model, {"words": (4,)}, CAPTION, fixed=True)
    assert [(s.name, s.shape, s.contract.kind) for s in streams] == [
        ("image", (8, 8, 3), "image"), ("words", (4,), "tokens"), ("tags", (2,), "tokens")]
    feeds = parity.check_inputs_for(model, streams, None)
    assert feeds["words"].dtype == np.int32 and 0 <= feeds["words"].min() and feeds["words"].max() < 7
    assert feeds["tags"].max() >= 7 and feeds["tags"].max() < 50  # the tags' own Embedding, not the smallest
    assert feeds["image"].min() < -50  # a picture through the image stream's Caffe preprocessing
    report = export_tflite(model, str(tmp_path / "cap.tflite"), input_shape={"words": (4,)}, input_contract=CAPTION)
    assert report.input_shape == {"image": (8, 8, 3), "words": (4,), "tags": (2,)}
    assert report.max_abs_diff <= report.tolerance
    sm = export_savedmodel(model, tmp_path / "sm", input_contract=CAPTION)
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    assert set(loaded.signatures) == {"serve", "serving_default"}  # not every input is a picture
    assert loaded.signatures["serve"].structured_input_signature[1]["words"].shape.as_list() == [None, None]
    assert sm.input_shape["words"] == (None,)
    with pytest.raises(ConfigError, match=r"fixed shape for input_shape\['words'\]"):
        export_tflite(model, str(tmp_path / "free.tflite"), input_contract=CAPTION)


def test_rgbd_input_has_serve_only(tmp_path):
    inp = keras.Input((None, None, 4))
    model = keras.Model(inp, keras.layers.Conv2D(3, 3, padding="same")(inp), name="tiny_rgbd")
    report = export_savedmodel(model, tmp_path / "sm", input_contract=registry.card("fcn32s_rgbd").input_contract)
    assert set(tf.saved_model.load(str(tmp_path / "sm")).signatures) == {"serve", "serving_default"}
    assert report.max_abs_diff <= report.tolerance


def test_wrong_multi_input_arguments(two_stream, tmp_path):
    x = np.zeros((1, 16, 16, 3), np.float32)
    with pytest.raises(InputError, match=r"2 inputs \(color, hha\); give input_shape as a dict"):
        export_tflite(two_stream, str(tmp_path / "a.tflite"), input_shape=(16, 16, 3), input_contract=RGBHHA)
    with pytest.raises(InputError, match="input_shape names depth"):
        export_savedmodel(two_stream, tmp_path / "b", input_contract=RGBHHA, input_shape={"depth": (16, 16, 3)})
    with pytest.raises(InputError, match=r"input_shape\['hha'\] \(16, 16, 4\) has 4 channels"):
        export_savedmodel(two_stream, tmp_path / "c", input_contract=RGBHHA, input_shape={"hha": (16, 16, 4)})
    with pytest.raises(InputError, match="must be a dict with the inputs color, hha; got"):
        export_savedmodel(two_stream, tmp_path / "d", input_contract=RGBHHA, check_inputs={"color": x})
    with pytest.raises(InputError, match="disagree on the batch size"):
        export_savedmodel(two_stream, tmp_path / "e", input_contract=RGBHHA,
                          check_inputs={"color": x, "hha": np.zeros((2, 16, 16, 3), np.float32)})
    only_color = InputContract(shape=(None, None, 3), streams=(RGBHHA.streams[0],))
    with pytest.raises(ConfigError, match="no stream for input 'hha'"):
        export_savedmodel(two_stream, tmp_path / "f", input_contract=only_color)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- zoo export


def _small_weights(tmp_path, name, options):
    model = registry.card(name).builder(**options)
    path = tmp_path / f"{name}.weights.h5"
    model.save_weights(path)
    (tmp_path / f"{name}.weights.json").write_text(json.dumps({"model": name, "options": options}))
    return str(path)


def test_cli_exports_models_with_several_inputs(tmp_path, capsys):
    from zoo.cli import main

    weights = _small_weights(tmp_path, "fcn32s_rgbhha", {"width": 16, "num_classes": 5})
    assert main(["export", "fcn32s_rgbhha", "--weights", weights, "--format", "savedmodel", "--input-shape", "32,32",
                 "--out", str(tmp_path / "rgbhha")]) == 0
    signatures = tf.saved_model.load(str(tmp_path / "rgbhha")).signatures
    for name in ("serve", "serve_images"):  # --input-shape sets every image input
        specs = signatures[name].structured_input_signature[1]
        shapes = {k: s.shape.as_list() for k, s in specs.items()}
        assert shapes == {"color": [None, 32, 32, 3], "hha": [None, 32, 32, 3]}

    options = {"vocab_size": 30, "hidden": 16, "embed_dim": 8, "width": 16, "input_shape": [67, 67, 3]}  # free length
    weights = _small_weights(tmp_path, "lrcn2f", options)
    command = ["export", "lrcn2f", "--weights", weights, "--format", "tflite", "--out", str(tmp_path / "lrcn2f.tflite")]
    capsys.readouterr()
    assert main(command) == 2
    assert "pass --tokens-length T" in capsys.readouterr().err
    assert main([*command, "--tokens-length", "4"]) == 0
    details = Interpreter(model_path=str(tmp_path / "lrcn2f.tflite")).get_signature_runner().get_input_details()
    assert {k: list(d["shape"]) for k, d in details.items()} == {"image": [1, 67, 67, 3], "words": [1, 4]}
