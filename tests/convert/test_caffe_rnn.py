"""Caffe's vanilla `RNN` layer through the Caffe importer (`zoo.layers.caffe_rnn.CaffeRNN`, lrcn2f_rnn).

As for the LSTM (test_caffe_lstm.py), each test writes a `.caffemodel` with random blobs in Caffe's
layout, imports it and compares the Keras output with an independent forward pass: OpenCV's Caffe
importer for the CNN (it cannot run Caffe's RNN layer), then `caffe_rnn`, a NumPy transcription of
the net that BVLC/caffe rnn_layer.cpp unrolls, step by step, with Caffe's blob order
W_xh, b_h, [W_xh_static], W_hh, W_ho, b_o (the order in which the unrolled net creates them).
"""

import keras
import numpy as np
import pytest

import zoo
import zoo.models.lrcn.convert  # noqa: F401  registers the RNN converter with the importer
from tests.convert.test_caffe_lstm import (
    assert_close, caffenet, inner_product, needs_opencv_caffe, opencv_forward, random_caffemodel,
)
from zoo.convert.caffe import load_caffemodel, read_caffemodel
from zoo.convert.caffe_proto import CaffeLayer
from zoo.convert.caffe_writer import keras_to_caffe, write_caffemodel
from zoo.errors import InputError, WeightsMismatchError
from zoo.layers.caffe_rnn import CaffeRNN
from zoo.models.lrcn.layers import RepeatOverTime

RNG = np.random.default_rng(11)


def caffe_rnn(x, cont, blobs, static=None):
    """rnn_layer.cpp's unrolled net on x (N, T, D), cont (N, T) -> o (N, T, H), in float64.

    W_xh_x = W_xh x + b_h (x_transform, all steps at once); W_xh_x_static = W_xh_static x_static;
    per step t: h_conted_{t-1} = cont_t * h_{t-1} (Scale); W_hh_h_{t-1} = W_hh h_conted_{t-1};
    h_t = tanh(W_hh_h_{t-1} + W_xh_x_t [+ W_xh_x_static]) (Eltwise SUM, TanH);
    o_t = tanh(W_ho h_t + b_o). h_0 = 0 (the layer's Input "h_0", zero without expose_hidden).
    """
    w_xh, b_h, *w_static, w_hh, w_ho, b_o = (np.asarray(b, np.float64) for b in blobs)
    w_xh_x = np.einsum("ntd,hd->nth", x, w_xh) + b_h
    w_xh_x_static = static @ w_static[0].T if w_static else 0.0
    h = np.zeros((x.shape[0], w_hh.shape[0]))
    outputs = []
    for t in range(x.shape[1]):
        h_conted = cont[:, t : t + 1] * h
        h = np.tanh(h_conted @ w_hh.T + w_xh_x[:, t] + w_xh_x_static)
        outputs.append(np.tanh(h @ w_ho.T + b_o))
    return np.stack(outputs, axis=1)


def caffe_blobs(units, dim, static_dim=0):
    """Random RNN blobs in Caffe's shapes, scaled so that the tanh units are neither saturated nor linear."""
    shapes = [(units, dim), (units,)] + ([(units, static_dim)] if static_dim else []) + [
        (units, units), (units, units), (units,)]
    return [RNG.normal(0, 0.4 if len(s) == 1 else 1.2 / np.sqrt(s[1]), s).astype("float32") for s in shapes]


def rnn_net(steps, dim, units, static_dim=0):
    """(x, cont[, static]) -> CaffeRNN `rnn1` outputs; with a static input, the LRCN way:
    `rnn1_input` = [x_t ; static] (zoo.models.lrcn.captioning.word_decoder)."""
    x, cont = keras.Input((steps, dim), name="x"), keras.Input((steps,), name="cont")
    inputs, seq = [x, cont], x
    if static_dim:
        static = keras.Input((static_dim,), name="static")
        inputs.append(static)
        seq = keras.layers.Concatenate(name="rnn1_input")([x, RepeatOverTime(name="over_time")([static, x])])
    return keras.Model(inputs, CaffeRNN(units, name="rnn1")(seq, cont=cont))


@pytest.mark.parametrize("static_dim", [0, 3])
def test_rnn_caffemodel_matches_rnn_layer_cpp_with_a_cont_reset(tmp_path, static_dim):
    """A Caffe RNN layer written by hand (5 blobs, or 6 with W_xh_static) imports into CaffeRNN, and the
    Keras output equals the unrolled net's over 6 steps where cont restarts row 0 at step 3."""
    steps, dim, units = 6, 5, 7
    blobs = caffe_blobs(units, dim, static_dim)
    path = tmp_path / "rnn.caffemodel"
    write_caffemodel(path, [CaffeLayer("rnn1", "RNN", blobs=blobs,
                                       params={"recurrent_param": {"num_output": units}})])
    assert [layer.type for layer in read_caffemodel(path)] == ["RNN"]
    model = rnn_net(steps, dim, units, static_dim)
    load_caffemodel(model, path)

    x = RNG.normal(0, 1, (2, steps, dim)).astype("float32")
    cont = np.ones((2, steps), np.float32)
    cont[:, 0] = 0  # every sequence starts with cont 0 (coco_to_hdf5_data.py: [0, 1 .. 1])
    cont[0, 3] = 0  # a second sequence starts in row 0 at step 3
    feeds = [x, cont] + ([RNG.normal(0, 1, (2, static_dim)).astype("float32")] if static_dim else [])
    want = caffe_rnn(x, cont, blobs, static=feeds[2] if static_dim else None)
    assert_close(model(feeds), want)

    carried = cont.copy()
    carried[0, 3] = 1
    no_reset = caffe_rnn(x, carried, blobs, static=feeds[2] if static_dim else None)
    assert np.abs(no_reset[0, 3:] - want[0, 3:]).min() > 1e-3  # the reset changes every later output
    np.testing.assert_allclose(no_reset[:, :3], want[:, :3])
    assert_close(model([x, carried, *feeds[2:]]), no_reset)


CAPTION = {"vocab_size": 30, "hidden": 16, "embed_dim": 8, "width": 16, "input_shape": (67, 67, 3), "max_words": 5}


@needs_opencv_caffe
def test_rnn_captioner_caffemodel_through_zoo_get(tmp_path):
    """lrcn2f_rnn (Table 4.5/4.6's RNN row): CaffeNet conv1..fc8, Embed `embedding`, RNN rnn1 on words,
    RNN rnn2 with fc8 as its static input, `predict` over axis 2."""
    path = tmp_path / "lrcn2f_rnn.caffemodel"
    blobs = random_caffemodel(path, zoo.get("lrcn2f_rnn", **CAPTION))
    e, h, d = 8, 16, 1000
    assert [b.shape for b in blobs["rnn1"]] == [(h, e), (h,), (h, h), (h, h), (h,)]  # W_xh b_h W_hh W_ho b_o
    assert [b.shape for b in blobs["rnn2"]] == [(h, h), (h,), (h, d), (h, h), (h, h), (h,)]  # + W_xh_static
    assert {layer.name: layer.type for layer in read_caffemodel(path)}["rnn2"] == "RNN"

    model = zoo.get("lrcn2f_rnn", weights=path, **CAPTION)
    images = RNG.normal(0, 50, (2, 67, 67, 3)).astype("float32")
    words = np.array([[0, 5, 9, 2, 0], [0, 17, 3, 0, 0]], np.int32)  # [<eos>, w1 .. wn] padded with 0
    got = model([images, words])

    fc8 = opencv_forward(tmp_path, caffenet(2, 67, 16).layers, path, images, "fc8")
    cont = np.ones(words.shape)
    cont[:, 0] = 0
    x = caffe_rnn(blobs["embedding"][0][words], cont, blobs["rnn1"])
    x = caffe_rnn(x, cont, blobs["rnn2"], static=fc8)
    assert_close(got, inner_product(x, blobs["predict"]))


@pytest.mark.parametrize("legacy_shapes", [False, True])
def test_writer_and_reader_round_trip_the_rnn_captioner(tmp_path, legacy_shapes):
    model = zoo.get("lrcn2f_rnn", **CAPTION)
    write_caffemodel(tmp_path / "same.caffemodel", keras_to_caffe(model), legacy_shapes=legacy_shapes)
    loaded = zoo.get("lrcn2f_rnn", weights=tmp_path / "same.caffemodel", **CAPTION)
    for layer in ("embedding", "rnn1", "rnn2", "predict"):
        for a, b in zip(model.get_layer(layer).get_weights(), loaded.get_layer(layer).get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    assert isinstance(loaded.get_layer("rnn2"), CaffeRNN)


def _with_rnn1(tmp_path, blobs):
    model = zoo.get("lrcn2f_rnn", **CAPTION)
    layers = keras_to_caffe(model)
    for layer in layers:
        if layer.name == "rnn1":
            layer.blobs = blobs(layer.blobs)
    write_caffemodel(tmp_path / "bad.caffemodel", layers)
    return tmp_path / "bad.caffemodel"


@pytest.mark.parametrize("edit, message", [
    (lambda b: b[:3] + b[4:], "a Caffe RNN has 5 blobs (W_xh, b_h, W_hh, W_ho, b_o) or 6 with a static input "
                              "(W_xh_static after b_h); the file has 4"),
    (lambda b: b[:3] + [b[3][:, :5]] + b[4:], "W_ho must be (H, H) = (16, 16); the file has (16, 5)"),
    (lambda b: [b[0]] + [b[1][:4]] + b[2:], "b_h must have H = 16 values; the file has (4,)"),
])
def test_malformed_rnn_blobs_are_refused_naming_the_blob(tmp_path, edit, message):
    path = _with_rnn1(tmp_path, edit)
    with pytest.raises(WeightsMismatchError) as info:
        zoo.get("lrcn2f_rnn", weights=path, **CAPTION)
    assert f"rnn1 (RNN rnn1: {message})" in str(info.value)


def test_rnn_of_another_size_or_an_lstm_file_is_refused(tmp_path):
    wider = tmp_path / "wider.caffemodel"
    write_caffemodel(wider, keras_to_caffe(zoo.get("lrcn2f_rnn", **{**CAPTION, "hidden": 12})))
    with pytest.raises(WeightsMismatchError, match=r"rnn1: file has \[\(8, 12\), \(12, 12\), \(12,\)"):
        zoo.get("lrcn2f_rnn", weights=wider, **CAPTION)
    lstm = tmp_path / "lstm.caffemodel"
    write_caffemodel(lstm, keras_to_caffe(zoo.get("lrcn2f", **CAPTION)))
    with pytest.raises(WeightsMismatchError) as info:
        zoo.get("lrcn2f_rnn", weights=lstm, **CAPTION)
    assert "rnn1" in str(info.value) and "lstm1" in str(info.value)


def test_cont_of_the_wrong_shape_is_a_clear_error():
    layer = CaffeRNN(4, name="rnn1")
    x = np.zeros((2, 5, 3), np.float32)
    with pytest.raises(InputError, match=r"cont must be \(batch, time\) = \(2, 5\)"):
        layer(x, cont=np.ones((2, 4), np.float32))
    with pytest.raises(InputError, match="batch, time, features"):
        CaffeRNN(4)(np.zeros((2, 3), np.float32))


def test_lrcn2f_rnn_full_size_counts():
    """Thesis Table 4.5/4.6 RNN row at the release's sizes: 1000-unit RNNs, 8801 words, CaffeNet fc8 static."""
    model = zoo.get("lrcn2f_rnn")
    layer = {n: model.get_layer(n).count_params() for n in ("embedding", "rnn1", "rnn2", "predict")}
    rnn = lambda d: 1000 * d + 1000 + 1000 * 1000 + 1000 * 1000 + 1000  # noqa: E731  W_xh b_h W_hh W_ho b_o
    assert layer == {"embedding": 8801 * 1000, "rnn1": rnn(1000), "rnn2": rnn(2000), "predict": 1000 * 8801 + 8801}
    assert model.count_params() == 60_965_224 + sum(layer.values())  # + CaffeNet (BVLC readme)
    assert sum(layer.values()) == 24_614_801
