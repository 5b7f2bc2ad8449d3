"""Caffe `LSTM` layers through the Caffe importer: `zoo.get(lrcn model, weights="x.caffemodel")`.

Each test writes a `.caffemodel` with `caffe_writer` (LSTM and Embed layers included), with
random blobs drawn in Caffe's layouts, loads it with `zoo.get(name, weights=path)` and compares
the zoo model with an independent forward pass: OpenCV's Caffe importer for the CNN (it cannot
run Caffe's LSTM layer, whose blobs it does not know), then a NumPy transcription of Caffe's
recurrent layers (BVLC/caffe lstm_layer.cpp, lstm_unit_layer.cpp, embed_layer.cpp) and
InnerProduct over axis 2. Layer names and sizes are the release's (reference_code §2.1/§2.2:
train_test_lstm_RGB.prototxt, lrcn.prototxt), at reduced widths.
"""

import keras
import numpy as np
import pytest

import zoo
from zoo.convert.caffe import read_caffemodel
from zoo.convert.caffe_proto import CaffeLayer
from zoo.convert.caffe_writer import Enum, keras_to_caffe, write_caffemodel, write_prototxt
from zoo.errors import WeightsMismatchError

cv2 = pytest.importorskip("cv2")
HAS_CAFFE_IMPORTER = hasattr(cv2, "dnn") and hasattr(cv2.dnn, "readNetFromCaffe")
RNG = np.random.default_rng(7)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def caffe_lstm(x, cont, blobs, static=None):
    """Caffe's LSTM layer on x (N, T, D) with cont (N, T) -> h (N, T, H).

    lstm_layer.cpp: gate_input_t = W_xc x_t + b_c [+ W_xc_static x_static] + W_hc (cont_t h_{t-1});
    lstm_unit_layer.cpp on the blocks i, f, o, g: i, f, o = sigmoid, g = tanh,
    c_t = cont_t f c_{t-1} + i g, h_t = o tanh(c_t).
    """
    w_xc, b_c, *w_static, w_hc = (np.asarray(b, np.float64) for b in blobs)
    n, steps, _ = x.shape
    units = w_hc.shape[1]
    h, c = np.zeros((n, units)), np.zeros((n, units))
    static_term = static @ w_static[0].T if w_static else 0.0
    out = []
    for t in range(steps):
        keep = cont[:, t : t + 1]
        gates = x[:, t] @ w_xc.T + b_c + static_term + (keep * h) @ w_hc.T
        i, f, o = (sigmoid(gates[:, k * units : (k + 1) * units]) for k in range(3))
        g = np.tanh(gates[:, 3 * units :])
        c = keep * f * c + i * g
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out, axis=1)


def inner_product(x, blobs):
    """InnerProduct with axis: 2 (fc8-final, predict): the same (O, I) weights at every step."""
    return x @ blobs[0].T + blobs[1]


def random_caffemodel(path, model):
    """Every learned layer of `model` written as a Caffe layer (`keras_to_caffe` gives the types and
    shapes), with values drawn afresh in Caffe's layout; returns {name: blobs}."""
    layers = keras_to_caffe(model)
    for layer in layers:
        blobs = []
        for blob in layer.blobs:
            if blob.ndim == 1:
                std = 0.3
            elif layer.type == "Embed":
                std = 1.0
            else:  # (O, I[, kh, kw]) and LSTM's (4H, D): unit variance after the product
                std = 1.0 / np.sqrt(np.prod(blob.shape[1:]))
            blobs.append(RNG.normal(0, std, blob.shape).astype("float32"))
        layer.blobs = blobs
    write_caffemodel(path, layers)
    return {layer.name: layer.blobs for layer in layers}


def opencv_forward(tmp_path, prototxt_layers, caffemodel, x_nhwc, output):
    write_prototxt(tmp_path / "deploy.prototxt", prototxt_layers, name="oracle")
    net = cv2.dnn.readNetFromCaffe(str(tmp_path / "deploy.prototxt"), str(caffemodel))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setInput(np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2)))
    return np.asarray(net.forward(output))


def assert_close(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    scale = np.abs(want).max()
    assert scale > 0.1, "degenerate output: the comparison would be vacuous"
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * scale)


class Net:
    """A deploy net in Caffe's vocabulary, NCHW input `data`."""

    def __init__(self, shape_nchw):
        self.layers = [CaffeLayer("data", "Input", top=("data",),
                                  params={"input_param": {"shape": {"dim": list(shape_nchw)}}})]

    def add(self, name, kind, bottom, top=None, **params):
        self.layers.append(CaffeLayer(name, kind, (bottom,), (top or name,), params=params))
        return top or name

    def conv(self, name, bottom, n, k, stride=1, pad=0, group=1):
        top = self.add(name, "Convolution", bottom, convolution_param={
            "num_output": n, "kernel_size": k, "stride": stride, "pad": pad, "group": group})
        return self.add(f"relu_{name}", "ReLU", top, top)

    def pool_norm(self, i, bottom, norm_first=False):
        pool = lambda x: self.add(f"pool{i}", "Pooling", x, pooling_param={  # noqa: E731
            "pool": Enum("MAX"), "kernel_size": 3, "stride": 2})
        norm = lambda x: self.add(f"norm{i}", "LRN", x, lrn_param={  # noqa: E731
            "local_size": 5, "alpha": 1e-4, "beta": 0.75})
        return pool(norm(bottom)) if norm_first else norm(pool(bottom))

    def fc(self, name, bottom, n, relu=True):
        top = self.add(name, "InnerProduct", bottom, inner_product_param={"num_output": n})
        return self.add(f"relu_{name}", "ReLU", top, top) if relu else top


def hybrid_cnn(frames, size, width, fc7=None):
    """train_test_lstm_RGB.prototxt conv1 .. fc6 (the CaffeNet/ZF hybrid), widths divided by `width`;
    with `fc7`, the single-frame net's fc7 and fc8-ucf (train_test_singleFrame_RGB.prototxt)."""
    w = lambda c: c // width  # noqa: E731
    net = Net((frames, 3, size, size))
    x = net.pool_norm(1, net.conv("conv1", "data", w(96), 7, stride=2))
    x = net.pool_norm(2, net.conv("conv2", x, w(384), 5, stride=2, group=2))
    x = net.conv("conv3", x, w(512), 3, pad=1)
    x = net.conv("conv4", x, w(512), 3, pad=1, group=2)
    x = net.conv("conv5", x, w(384), 3, pad=1, group=2)
    x = net.add("pool5", "Pooling", x, pooling_param={"pool": Enum("MAX"), "kernel_size": 3, "stride": 2})
    x = net.fc("fc6", x, w(4096))
    if fc7:
        net.fc("fc8-ucf", net.fc("fc7", x, w(4096)), fc7, relu=False)
    return net


def caffenet(images, size, width):
    """BVLC caffenet deploy.prototxt up to its 1000-way fc8 (the captioners' image feature)."""
    w = lambda c: c // width  # noqa: E731
    net = Net((images, 3, size, size))
    x = net.pool_norm(1, net.conv("conv1", "data", w(96), 11, stride=4))
    x = net.pool_norm(2, net.conv("conv2", x, w(256), 5, pad=2, group=2))
    x = net.conv("conv3", x, w(384), 3, pad=1)
    x = net.conv("conv4", x, w(384), 3, pad=1, group=2)
    x = net.conv("conv5", x, w(256), 3, pad=1, group=2)
    x = net.add("pool5", "Pooling", x, pooling_param={"pool": Enum("MAX"), "kernel_size": 3, "stride": 2})
    net.fc("fc8", net.fc("fc7", net.fc("fc6", x, w(4096)), w(4096)), 1000, relu=False)
    return net


needs_opencv_caffe = pytest.mark.skipif(not HAS_CAFFE_IMPORTER, reason="OpenCV without its Caffe importer (5.x)")


# 99x99 frames: pool2 rounds 3.5 up (Caffe's ceil) to 5x5 and pool5 is 2x2, so fc6 reads a map
# whose (C, H, W) order the importer must undo.
ACTIVITY = {"num_classes": 7, "width": 16, "lstm_units": 6, "input_shape": (4, 99, 99, 3)}


@needs_opencv_caffe
@pytest.mark.parametrize("name", ["lrcn_activity_rgb", "lrcn_activity_flow"])
def test_activity_caffemodel_through_zoo_get(tmp_path, name):
    """RGB_lstm_model_iter_30000 / flow_lstm_model_iter_50000's layout: conv1..fc6, lstm1 (Caffe LSTM), fc8-final."""
    clips, (steps, size) = 2, ACTIVITY["input_shape"][:2]
    path = tmp_path / f"{name}.caffemodel"
    blobs = random_caffemodel(path, zoo.get(name, **ACTIVITY))
    assert [b.shape for b in blobs["lstm1"]] == [(24, 4096 // 16), (24,), (24, 6)]  # W_xc, b_c, W_hc
    assert {layer.name: layer.type for layer in read_caffemodel(path)}["lstm1"] == "LSTM"

    model = zoo.get(name, weights=path, **ACTIVITY)
    x = RNG.normal(0, 50, (clips, steps, size, size, 3)).astype("float32")
    got = model(x)

    frames = x.reshape(clips * steps, size, size, 3)
    fc6 = opencv_forward(tmp_path, hybrid_cnn(clips * steps, size, 16).layers, path, frames, "relu_fc6")
    cont = np.ones((clips, steps))
    cont[:, 0] = 0  # sequence_input_layer.py's clip markers: 0 on each clip's first frame
    h = caffe_lstm(fc6.reshape(clips, steps, -1), cont, blobs["lstm1"])
    assert_close(got, inner_product(h, blobs["fc8-final"]))


@needs_opencv_caffe
def test_single_frame_caffemodel_through_zoo_get(tmp_path):
    """single_frame_all_layers_hyb_RGB_iter_5000's layout: conv1..fc6, fc7, fc8-ucf on every frame."""
    kwargs = {"num_classes": 7, "width": 16, "input_shape": (3, 99, 99, 3)}
    path = tmp_path / "single.caffemodel"
    random_caffemodel(path, zoo.get("lrcn_singleframe_rgb", **kwargs))
    model = zoo.get("lrcn_singleframe_rgb", weights=path, **kwargs)
    x = RNG.normal(0, 50, (2, 3, 99, 99, 3)).astype("float32")
    want = opencv_forward(tmp_path, hybrid_cnn(6, 99, 16, fc7=7).layers, path, x.reshape(6, 99, 99, 3), "fc8-ucf")
    assert_close(model(x), want.reshape(2, 3, 7))


CAPTION = {"vocab_size": 30, "hidden": 16, "embed_dim": 8, "width": 16, "input_shape": (67, 67, 3), "max_words": 5}


@needs_opencv_caffe
@pytest.mark.parametrize("name", ["lrcn1u", "lrcn2u", "lrcn2f"])
def test_captioner_caffemodel_through_zoo_get(tmp_path, name):
    """lrcn.prototxt's layout: CaffeNet conv1..fc8, Embed `embedding`, LSTM lstm1 [and lstm2] with fc8
    as the static input of lstm1 (unfactored) or lstm2 (factored), `predict` over axis 2."""
    path = tmp_path / f"{name}.caffemodel"
    blobs = random_caffemodel(path, zoo.get(name, **CAPTION))
    static_layer = "lstm2" if name == "lrcn2f" else "lstm1"
    assert len(blobs[static_layer]) == 4 and blobs[static_layer][2].shape == (4 * 16, 1000)  # W_xc_static

    model = zoo.get(name, weights=path, **CAPTION)
    images = RNG.normal(0, 50, (2, 67, 67, 3)).astype("float32")
    words = np.array([[0, 5, 9, 2, 0], [0, 17, 3, 0, 0]], np.int32)  # [<eos>, w1 .. wn] padded with 0
    got = model([images, words])

    fc8 = opencv_forward(tmp_path, caffenet(2, 67, 16).layers, path, images, "fc8")
    cont = np.ones(words.shape)
    cont[:, 0] = 0
    x = blobs["embedding"][0][words]  # Embed: row w of the (V, E) weights
    x = caffe_lstm(x, cont, blobs["lstm1"], static=fc8 if static_layer == "lstm1" else None)
    if "lstm2" in blobs:
        x = caffe_lstm(x, cont, blobs["lstm2"], static=fc8 if static_layer == "lstm2" else None)
    assert_close(got, inner_product(x, blobs["predict"]))


def test_caffemodel_of_another_net_is_refused_naming_the_layers(tmp_path):
    activity = tmp_path / "activity.caffemodel"
    random_caffemodel(activity, zoo.get("lrcn_activity_rgb", **ACTIVITY))
    with pytest.raises(WeightsMismatchError) as info:
        zoo.get("lrcn2f", weights=activity, **CAPTION)
    text = str(info.value)
    for name in ("embedding", "lstm2", "predict", "fc7", "fc8"):  # missing from the file
        assert name in text
    assert "fc8-final" in text  # in the file only
    assert "lstm1:" in text and "conv1:" in text  # in both, mis-shaped

    other = tmp_path / "wider.caffemodel"
    random_caffemodel(other, zoo.get("lrcn_activity_rgb", **{**ACTIVITY, "lstm_units": 5}))
    with pytest.raises(WeightsMismatchError, match=r"lstm1: file has \[\(256, 20\), \(5, 20\), \(20,\)\]"):
        zoo.get("lrcn_activity_rgb", weights=other, **ACTIVITY)


def test_malformed_lstm_blobs_are_reported_with_the_other_bad_layers(tmp_path):
    model = zoo.get("lrcn_activity_rgb", **ACTIVITY)
    layers = keras_to_caffe(model)
    for layer in layers:
        if layer.name == "lstm1":
            layer.blobs = layer.blobs[:2]  # W_hc lost
        if layer.name == "conv1":
            layer.type = "Deconvolution"
    write_caffemodel(tmp_path / "bad.caffemodel", layers)
    before = np.array(model.get_layer("fc6").get_weights()[0])
    with pytest.raises(WeightsMismatchError) as info:
        zoo.get("lrcn_activity_rgb", weights=tmp_path / "bad.caffemodel", **ACTIVITY)
    text = str(info.value)
    assert "conv1 (Caffe Deconvolution into Keras Conv2D)" in text
    assert "lstm1 (LSTM lstm1: a Caffe LSTM has 3 blobs (W_xc, b_c, W_hc) or 4 with a static input; " \
           "the file has 2)" in text
    np.testing.assert_array_equal(model.get_layer("fc6").get_weights()[0], before)


@pytest.mark.parametrize("legacy_shapes", [False, True])
def test_writer_and_reader_round_trip_an_lstm_with_a_static_input(tmp_path, legacy_shapes):
    """keras_to_caffe -> caffemodel -> zoo.get gives back the same weights (lrcn2f's lstm2 has W_xc_static),
    also from blobs with the legacy 4-D num/channels/height/width shapes: (1, 1, 4H, D), (1, 1, 1, 4H)."""
    model = zoo.get("lrcn2f", **CAPTION)
    write_caffemodel(tmp_path / "same.caffemodel", keras_to_caffe(model), legacy_shapes=legacy_shapes)
    loaded = zoo.get("lrcn2f", weights=tmp_path / "same.caffemodel", **CAPTION)
    for layer in ("embedding", "lstm1", "lstm2", "predict", "fc8"):
        for a, b in zip(model.get_layer(layer).get_weights(), loaded.get_layer(layer).get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    assert isinstance(loaded.get_layer("lstm2"), keras.layers.LSTM)
