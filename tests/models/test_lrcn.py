"""LRCN (Donahue thesis ch. 4): activity recognition, captioning, video description, Caffe LSTM
weights, the clip protocol, the vocabulary and caption decoding.

Sizes come from the thesis digest (papers/donahue_thesis_2017.md §3) and the release's
prototxts (reference/original_reference_code.md §2: train_test_lstm_RGB.prototxt,
lrcn.prototxt); "derived" numbers are arithmetic on those, written out here. The Caffe LSTM
oracle is a NumPy transcription of lstm_layer.cpp / lstm_unit_layer.cpp (gate order i, f, o, g,
`cont` resetting the state); the CNN part of the activity net is checked with OpenCV's Caffe
importer where it exists. OpenCV cannot run a Caffe LSTM layer itself: its importer expects the
blobs Wh, Wx, b, h0, c0 rather than Caffe's W_xc, b_c, W_hc.
"""

import functools
import json

import keras
import numpy as np
import pytest

import zoo
from zoo.convert.caffe_proto import CaffeLayer
from zoo.convert.caffe_writer import Enum, write_caffemodel, write_prototxt
from zoo.errors import ConfigError, InputError, WeightsMismatchError
from zoo.tasks import video_protocol as protocol
from zoo.text import decoding
from zoo.models.lrcn.convert import caffe_lstm_to_keras, keras_lstm_to_caffe, load_caffemodel
from zoo.models.lrcn.parts import Decoder, decoder_parts
from zoo.text.vocab import EOS_ID, IGNORE, UNK_ID, Vocabulary, split_sentence

RNG = np.random.default_rng(0)
SMALL_CAPTION = {"vocab_size": 30, "hidden": 16, "embed_dim": 8, "width": 16, "input_shape": (67, 67, 3),
                 "max_words": 5}


@functools.cache
def full(name, **kwargs):
    return zoo.get(name, **kwargs)


def out_shape(model, layer):
    return tuple(model.get_layer(layer).output.shape[1:])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def caffe_lstm_forward(x, cont, w_xc, b_c, w_hc, static=None, w_xc_static=None):
    """Caffe's LSTM layer: x (T, N, D), cont (T, N) -> h (T, N, H).

    gates_t = W_xc x_t + b_c + W_hc (cont_t h_{t-1}) [+ W_xc_static x_static], packed i, f, o, g;
    c_t = cont_t f c_{t-1} + i g; h_t = o tanh(c_t)   (lstm_layer.cpp, lstm_unit_layer.cpp)
    """
    steps, batch, _ = x.shape
    units = w_hc.shape[1]
    h, c = np.zeros((batch, units)), np.zeros((batch, units))
    static_term = 0.0 if static is None else static @ w_xc_static.T
    out = []
    for t in range(steps):
        keep = cont[t][:, None]
        z = x[t] @ w_xc.T + b_c + (keep * h) @ w_hc.T + static_term
        i, f, o = (sigmoid(z[:, k * units : (k + 1) * units]) for k in range(3))
        g = np.tanh(z[:, 3 * units :])
        c = keep * f * c + i * g
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out)


def random_lstm_blobs(inputs, units, static=0, scale=1.0):
    """Caffe-layout LSTM blobs [W_xc, b_c, (W_xc_static,) W_hc], drawn directly in that layout."""
    blobs = [RNG.normal(0, scale / np.sqrt(inputs), (4 * units, inputs)), RNG.normal(0, 0.5, 4 * units)]
    if static:
        blobs.append(RNG.normal(0, scale / np.sqrt(static), (4 * units, static)))
    return [b.astype("float32") for b in blobs + [RNG.normal(0, scale / np.sqrt(units), (4 * units, units))]]


# ================================================================== Caffe LSTM conversion


def test_converted_caffe_lstm_matches_caffes_equations():
    steps, batch, dim, units = 6, 3, 7, 5
    w_xc, b_c, w_hc = random_lstm_blobs(dim, units)
    x = RNG.normal(0, 1, (batch, steps, dim)).astype("float32")
    cont = np.ones((steps, batch))
    cont[0] = 0  # a new sequence starts at t = 0
    want = caffe_lstm_forward(x.transpose(1, 0, 2), cont, w_xc, b_c, w_hc).transpose(1, 0, 2)

    layer = keras.layers.LSTM(units, return_sequences=True)
    layer.build((None, steps, dim))
    layer.set_weights(caffe_lstm_to_keras([w_xc, b_c, w_hc]))
    got = np.asarray(layer(x))
    assert np.abs(want).max() > 0.1
    np.testing.assert_allclose(got, want, atol=1e-5)
    # Caffe's order loaded without reordering would be a different network.
    layer.set_weights([w_xc.T, w_hc.T, b_c])
    assert np.abs(np.asarray(layer(x)) - want).max() > 1e-2


def test_static_input_becomes_extra_kernel_rows():
    """The captioner's image feature: Caffe's W_xc_static (no bias) = Keras kernel rows after x's."""
    steps, batch, dim, static_dim, units = 4, 2, 6, 3, 5
    blobs = random_lstm_blobs(dim, units, static=static_dim)
    x = RNG.normal(0, 1, (batch, steps, dim)).astype("float32")
    feature = RNG.normal(0, 1, (batch, static_dim)).astype("float32")
    cont = np.ones((steps, batch))
    cont[0] = 0
    want = caffe_lstm_forward(x.transpose(1, 0, 2), cont, blobs[0], blobs[1], blobs[3], feature, blobs[2])

    layer = keras.layers.LSTM(units, return_sequences=True)
    layer.build((None, steps, dim + static_dim))
    layer.set_weights(caffe_lstm_to_keras(blobs))
    got = np.asarray(layer(np.concatenate([x, np.repeat(feature[:, None], steps, 1)], -1)))
    np.testing.assert_allclose(got, want.transpose(1, 0, 2), atol=1e-5)
    back = keras_lstm_to_caffe(layer.get_weights(), static_dim=static_dim)
    for a, b in zip(back, blobs):
        np.testing.assert_array_equal(a, b)


def test_malformed_lstm_blobs_are_refused():
    w_xc, b_c, w_hc = random_lstm_blobs(4, 3)
    with pytest.raises(WeightsMismatchError, match="3 blobs"):
        caffe_lstm_to_keras([w_xc, b_c])
    with pytest.raises(WeightsMismatchError, match="W_hc"):
        caffe_lstm_to_keras([w_xc, b_c, w_hc[:, :2]])
    with pytest.raises(WeightsMismatchError, match="b_c"):
        caffe_lstm_to_keras([w_xc, b_c[:-4], w_hc])


# ================================================================== activity recognition


def test_activity_shapes_match_the_release():
    """train_test_lstm_RGB.prototxt at 227x227: hybrid trunk -> 6x6x384 pool5 -> fc6 4096 -> LSTM."""
    rgb, flow = full("lrcn_activity_rgb"), full("lrcn_activity_flow")
    # derived: conv1 7/2 -> 111, pool1 3/2 (ceil) -> 55, conv2 5/2 -> 26, pool2 -> 13, pool5 -> 6
    assert out_shape(rgb, "pool1") == (55, 55, 96)
    assert out_shape(rgb, "conv2") == (26, 26, 384)
    assert out_shape(rgb, "pool5") == (6, 6, 384)
    assert out_shape(rgb, "fc6") == (4096,)
    assert out_shape(rgb, "lstm1") == (16, 256) and out_shape(flow, "lstm1") == (16, 1024)  # thesis §4.3
    assert tuple(rgb.output.shape[1:]) == (16, 101)
    # an LSTM of H units on D inputs has 4(H(D + H) + H) weights (Caffe: W_xc, b_c, W_hc)
    assert rgb.get_layer("lstm1").count_params() == 4 * (256 * (4096 + 256) + 256)
    assert flow.get_layer("lstm1").count_params() == 4 * (1024 * (4096 + 1024) + 1024)


def test_single_frame_baseline_has_fc7_and_no_lstm():
    model = full("lrcn_singleframe_rgb")
    assert out_shape(model, "fc7") == (4096,) and out_shape(model, "fc8-ucf") == (101,)
    assert not any(isinstance(layer, keras.layers.LSTM) for layer in model.layers)
    assert tuple(model.output.shape[1:]) == (16, 101)


def test_single_frame_scores_each_frame_alone():
    model = zoo.get("lrcn_singleframe_rgb", num_classes=5, width=16, input_shape=(None, 67, 67, 3))
    clips = RNG.normal(0, 60, (2, 3, 67, 67, 3)).astype("float32")
    whole = np.asarray(model(clips))
    for t in range(3):
        np.testing.assert_allclose(np.asarray(model(clips[:, t : t + 1]))[:, 0], whole[:, t], atol=1e-5)


def test_lrcn_steps_see_only_the_past_and_keep_clips_apart():
    """Folding time into the batch and back must not mix clips or frames: step t depends on frames
    <= t of its own clip, and the first steps do not depend on the clip's length."""
    model = zoo.get("lrcn_activity_rgb", num_classes=5, width=16, lstm_units=8, input_shape=(None, 67, 67, 3))
    clips = RNG.normal(0, 60, (2, 4, 67, 67, 3)).astype("float32")
    base = np.asarray(model(clips))
    changed = clips.copy()
    changed[1, 2] = RNG.normal(0, 60, changed[1, 2].shape)
    out = np.asarray(model(changed))
    np.testing.assert_allclose(out[0], base[0], atol=1e-6)  # the other clip
    np.testing.assert_allclose(out[1, :2], base[1, :2], atol=1e-6)  # earlier steps
    assert np.abs(out[1, 2:] - base[1, 2:]).max() > 1e-6
    np.testing.assert_allclose(np.asarray(model(clips[:, :2])), base[:, :2], atol=1e-5)


def test_caffenet_trunk_option_and_bad_options():
    model = zoo.get("lrcn_activity_rgb", trunk="caffenet", width=16)
    assert out_shape(model, "pool5") == (6, 6, 256 // 16)  # CaffeNet's 6x6x256 pool5 (thesis §3.1.6.1)
    assert out_shape(model, "norm2") == (13, 13, 256 // 16)  # pool before LRN, as in CaffeNet
    with pytest.raises(ConfigError, match="trunk"):
        zoo.get("lrcn_activity_rgb", trunk="vgg")
    with pytest.raises(ConfigError, match="unroll"):
        zoo.get("lrcn_activity_rgb", input_shape=(None, 67, 67, 3), width=16, unroll=True)


def _hybrid_prototxt(frames, size, width):
    w = lambda c: c // width  # noqa: E731
    layers = [CaffeLayer("data", "Input", top=("data",),
                         params={"input_param": {"shape": {"dim": [frames, 3, size, size]}}})]

    def add(name, kind, bottom, top=None, **params):
        layers.append(CaffeLayer(name, kind, (bottom,), (top or name,), params=params))
        return top or name

    def conv(name, bottom, n, k, stride=1, pad=0, group=1):
        top = add(name, "Convolution", bottom,
                  convolution_param={"num_output": n, "kernel_size": k, "stride": stride, "pad": pad, "group": group})
        return add(f"relu_{name}", "ReLU", top, top)

    def pool_norm(i, bottom):
        top = add(f"pool{i}", "Pooling", bottom, pooling_param={"pool": Enum("MAX"), "kernel_size": 3, "stride": 2})
        return add(f"norm{i}", "LRN", top, lrn_param={"local_size": 5, "alpha": 1e-4, "beta": 0.75})

    x = pool_norm(1, conv("conv1", "data", w(96), 7, stride=2))
    x = pool_norm(2, conv("conv2", x, w(384), 5, stride=2, group=2))
    x = conv("conv3", x, w(512), 3, pad=1)
    x = conv("conv4", x, w(512), 3, pad=1, group=2)
    x = conv("conv5", x, w(384), 3, pad=1, group=2)
    x = add("pool5", "Pooling", x, pooling_param={"pool": Enum("MAX"), "kernel_size": 3, "stride": 2})
    x = add("fc6", "InnerProduct", x, inner_product_param={"num_output": w(4096)})
    add("relu6", "ReLU", x, x)
    return layers


def _random_activity_caffemodel(path, model):
    """Random weights drawn in Caffe's layouts for every learned layer of the LRCN model."""
    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            w = RNG.normal(0, 1 / np.sqrt(kh * kw * cin), (cout, cin, kh, kw))
            layers.append(CaffeLayer(layer.name, "Convolution", blobs=[w, RNG.normal(0, 0.1, cout)]))
        elif isinstance(layer, keras.layers.Dense):
            cin, cout = layer.kernel.shape
            w = RNG.normal(0, 1 / np.sqrt(cin), (cout, cin))
            layers.append(CaffeLayer(layer.name, "InnerProduct", blobs=[w, RNG.normal(0, 0.1, cout)]))
        elif isinstance(layer, keras.layers.LSTM):
            dim, units = layer.cell.kernel.shape[0], layer.cell.units
            layers.append(CaffeLayer(layer.name, "LSTM", blobs=random_lstm_blobs(dim, units, scale=3.0)))
    layers = [CaffeLayer(x.name, x.type, blobs=[np.asarray(b, "float32") for b in x.blobs]) for x in layers]
    write_caffemodel(path, layers)
    return {x.name: x.blobs for x in layers}


def test_released_activity_caffemodel_loads_and_matches_caffe(tmp_path):
    """A caffemodel laid out like RGB_lstm_model_iter_30000 (conv1..fc6, lstm1, fc8-final): the zoo
    model loaded from it equals OpenCV's Caffe forward of the CNN followed by Caffe's LSTM equations.

    99x99 frames: pool2 rounds 3.5 up to 5x5 (Caffe ceil), pool5 is 2x2, so fc6's (C, H, W)
    input order matters."""
    cv2 = pytest.importorskip("cv2")
    clips, steps, size, width = 2, 4, 99, 16
    model = zoo.get("lrcn_activity_rgb", num_classes=7, width=width, lstm_units=6,
                    input_shape=(steps, size, size, 3))
    blobs = _random_activity_caffemodel(tmp_path / "lrcn.caffemodel", model)
    report = load_caffemodel(model, tmp_path / "lrcn.caffemodel")
    assert set(report["loaded"]) == set(blobs)

    x = RNG.normal(0, 50, (clips, steps, size, size, 3)).astype("float32")
    got = np.asarray(model(x))

    if hasattr(cv2, "dnn") and hasattr(cv2.dnn, "readNetFromCaffe"):
        write_prototxt(tmp_path / "cnn.prototxt", _hybrid_prototxt(clips * steps, size, width))
        net = cv2.dnn.readNetFromCaffe(str(tmp_path / "cnn.prototxt"), str(tmp_path / "lrcn.caffemodel"))
        net.setInput(x.reshape(clips * steps, size, size, 3).transpose(0, 3, 1, 2))
        fc6 = np.asarray(net.forward("relu6")).reshape(clips, steps, -1)  # Caffe's in-place ReLU
        np.testing.assert_allclose(
            np.asarray(keras.Model(model.input, model.get_layer("fc6").output)(x)).reshape(fc6.shape), fc6,
            atol=1e-4 * np.abs(fc6).max(),
        )
    else:  # OpenCV 5: the Keras fc6 stands in for Caffe's, the LSTM and fc8-final are still checked
        fc6 = np.asarray(keras.Model(model.input, model.get_layer("fc6").output)(x)).reshape(clips, steps, -1)
    cont = np.ones((steps, clips))
    cont[0] = 0  # the clip markers: 0 on each clip's first frame (sequence_input_layer.py)
    h = caffe_lstm_forward(fc6.transpose(1, 0, 2), cont, *blobs["lstm1"]).transpose(1, 0, 2)
    w8, b8 = blobs["fc8-final"]
    want = h @ w8.T + b8
    assert np.abs(want).max() > 0.5
    np.testing.assert_allclose(got, want, atol=1e-4 * np.abs(want).max())


def test_single_frame_caffemodel_initialises_the_lstm_model_partially(tmp_path):
    """The release starts the LSTM model from single_frame_all_layers_hyb_RGB_iter_5000 (conv1..fc6)."""
    single = zoo.get("lrcn_singleframe_rgb", num_classes=7, width=16, input_shape=(2, 67, 67, 3))
    lrcn = zoo.get("lrcn_activity_rgb", num_classes=7, width=16, lstm_units=6, input_shape=(2, 67, 67, 3))
    blobs = _random_activity_caffemodel(tmp_path / "single.caffemodel", single)
    with pytest.raises(WeightsMismatchError, match="lstm1"):
        load_caffemodel(lrcn, tmp_path / "single.caffemodel")
    report = load_caffemodel(lrcn, tmp_path / "single.caffemodel", partial=True)
    assert "conv5" in report["loaded"] and "fc7" in report["ignored"] and "lstm1" in report["initialised"]
    np.testing.assert_allclose(lrcn.get_layer("conv1").get_weights()[1], blobs["conv1"][1])


def test_caffemodel_with_a_wrong_lstm_size_loads_nothing(tmp_path):
    model = zoo.get("lrcn_activity_rgb", num_classes=7, width=16, lstm_units=6, input_shape=(2, 67, 67, 3))
    other = zoo.get("lrcn_activity_rgb", num_classes=7, width=16, lstm_units=5, input_shape=(2, 67, 67, 3))
    _random_activity_caffemodel(tmp_path / "other.caffemodel", other)
    before = model.get_layer("conv1").get_weights()[0].copy()
    with pytest.raises(WeightsMismatchError):
        load_caffemodel(model, tmp_path / "other.caffemodel")
    np.testing.assert_array_equal(model.get_layer("conv1").get_weights()[0], before)


# ================================================================== clip protocol


def test_test_clips_follow_the_release_rule():
    # classify_video.py: for i in range(0, L, 8): i if i + 16 < L else L - 16
    assert protocol.clip_starts(40) == [0, 8, 16, 24, 24]
    assert protocol.clip_starts(16) == [0, 0]
    assert protocol.clip_starts(17) == [0, 1, 1]
    video = np.arange(40)[:, None, None, None] * np.ones((1, 2, 2, 3))
    clips = protocol.video_clips(video)
    assert clips.shape == (5, 16, 2, 2, 3) and clips[3, 0, 0, 0, 0] == 24 and clips[3, -1, 0, 0, 0] == 39


def test_short_videos_are_an_error_or_looped():
    video = np.arange(5)[:, None, None, None] * np.ones((1, 2, 2, 3))
    with pytest.raises(InputError, match="5 frames; a clip needs 16"):
        protocol.video_clips(video)
    looped = protocol.video_clips(video, short="loop")
    assert looped.shape == (1, 16, 2, 2, 3)
    np.testing.assert_array_equal(looped[0, :, 0, 0, 0], np.arange(16) % 5)
    with pytest.raises(InputError, match="no frames"):
        protocol.video_clips(video[:0])


def test_clip_batches_of_the_wrong_length_are_explained():
    with pytest.raises(InputError, match="20 frames; the model takes 16-frame clips"):
        protocol.check_clip_batch(np.zeros((1, 20, 227, 227, 3)), (16, 227, 227, 3))
    with pytest.raises(InputError, match="size 224 on axis 2"):
        protocol.check_clip_batch(np.zeros((1, 16, 224, 227, 3)), (16, 227, 227, 3))
    assert protocol.check_clip_batch(np.zeros((1, 20, 9, 9, 3)), (None, 9, 9, 3)).dtype == np.float32


def test_probabilities_average_over_frames_then_clips_and_fuse():
    logits = np.log(np.array([[[1, 3], [1, 1]], [[3, 1], [1, 1]], [[1, 1], [1, 1]]], float))  # 3 clips, T=2, K=2
    # softmax per step: [.25,.75], [.5,.5] -> clip 0 [.375,.625]; clip 1 [.625,.375]; clip 2 [.5,.5]
    np.testing.assert_allclose(protocol.clip_probabilities(logits), [[0.375, 0.625], [0.625, 0.375], [0.5, 0.5]])
    np.testing.assert_allclose(protocol.video_probabilities(logits), [0.5, 0.5])
    fused = protocol.fuse([0.9, 0.1], [0.3, 0.7], protocol.FUSION_WEIGHTS["1/3,2/3"])
    np.testing.assert_allclose(fused, [0.9 / 3 + 0.6 / 3, 0.1 / 3 + 1.4 / 3])
    with pytest.raises(InputError, match="sum to 1"):
        protocol.fuse([1.0], [1.0], (0.5, 0.6))


# ================================================================== captioning


def test_captioner_wiring_follows_fig_4_4():
    """Which LSTM sees the image: lrcn1u/2u the first (unfactored), lrcn2f the second (factored)."""
    d, e, h, v = 1000, 8, 16, 30  # fc8, embedding, hidden, vocabulary
    rows = {}
    for name in ("lrcn1u", "lrcn2u", "lrcn2f"):
        model = zoo.get(name, **SMALL_CAPTION)
        rows[name] = [model.get_layer(n).get_weights()[0].shape[0] for n in ("lstm1", "lstm2") if
                      any(layer.name == n for layer in model.layers)]
        assert out_shape(model, "predict") == (5, v)
    assert rows == {"lrcn1u": [e + d], "lrcn2u": [e + d, h], "lrcn2f": [e, h + d]}


def test_lrcn2f_full_size_matches_lrcn_prototxt():
    model = full("lrcn2f")
    assert out_shape(model, "fc8") == (1000,)  # lrcn.prototxt feeds CaffeNet's fc8 to the LSTM
    layer = {n: model.get_layer(n).count_params() for n in ("embedding", "lstm1", "lstm2", "predict")}
    # lrcn.prototxt: Embed 8801 x 1000 (no bias); 1000-unit LSTMs; lstm2 reads lstm1 + fc8 (static); predict 8801
    assert layer == {"embedding": 8801 * 1000, "lstm1": 4 * (1000 * (1000 + 1000) + 1000),
                     "lstm2": 4 * (1000 * (1000 + 1000 + 1000) + 1000), "predict": 1000 * 8801 + 8801}
    assert model.count_params() == 60_965_224 + sum(layer.values())  # + CaffeNet (BVLC readme)
    assert not model.get_layer("conv1").trainable  # frozen CNN by default (stage freeze-convnet)


def test_factored_first_lstm_is_blind_to_the_image():
    model = zoo.get("lrcn2f", **SMALL_CAPTION)
    probe = keras.Model(model.inputs, [model.get_layer("lstm1").output, model.output])
    words = np.array([[0, 3, 4, 5, 6]], np.int32)
    a, b = (RNG.normal(0, 60, (1, 67, 67, 3)).astype("float32") for _ in range(2))
    (h_a, y_a), (h_b, y_b) = probe([a, words]), probe([b, words])
    np.testing.assert_allclose(h_a, h_b, atol=1e-7)
    assert np.abs(np.asarray(y_a) - np.asarray(y_b)).max() > 1e-6


@pytest.mark.parametrize("name", ["lrcn1u", "lrcn2u", "lrcn2f"])
@pytest.mark.parametrize("rnn", ["lstm", "vanilla"])
def test_one_step_decoder_reproduces_the_sequence_model(name, rnn):
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    model = zoo.get(name, rnn=rnn, **SMALL_CAPTION)
    images = rng.normal(0, 60, (2, 67, 67, 3)).astype("float32")
    words = rng.integers(0, 30, (2, 5)).astype("int32")
    words[:, 0] = EOS_ID
    want = np.asarray(model([images, words]))
    decoder = Decoder(model)
    state, steps = decoder.initial_state(images), []
    for t in range(5):
        logits, state = decoder.step(words[:, t], state)
        steps.append(logits)
    scale = np.abs(want).max()
    assert scale > 1e-3, "degenerate logits: the comparison would be vacuous"
    np.testing.assert_allclose(np.stack(steps, 1), want, atol=1e-4 * scale)
    # later words never change earlier logits
    later = words.copy()
    later[:, 3:] = (later[:, 3:] + 1) % 30
    np.testing.assert_allclose(np.asarray(model([images, later]))[:, :3], want[:, :3], atol=1e-6)


def test_freeze_or_fine_tune_the_encoder():
    frozen = zoo.get("lrcn2f", **SMALL_CAPTION)
    tuned = zoo.get("lrcn2f", freeze_encoder=False, **SMALL_CAPTION)
    names = {v.path.split("/")[0] for v in frozen.trainable_weights}
    assert names == {"embedding", "lstm1", "lstm2", "predict"}
    assert {"conv1", "fc8"} <= {v.path.split("/")[0] for v in tuned.trainable_weights}


def test_vgg16_encoder():
    model = zoo.get("lrcn2f", encoder="vgg16", vocab_size=30, hidden=16, embed_dim=8, width=16, max_words=5)
    assert tuple(model.inputs[0].shape[1:]) == (224, 224, 3) and out_shape(model, "fc8") == (1000,)
    assert out_shape(model, "conv5_3") == (14, 14, 32)
    with pytest.raises(ConfigError, match="encoder"):
        zoo.get("lrcn2f", encoder="resnet")
    with pytest.raises(ConfigError, match="rnn"):
        zoo.get("lrcn2f", rnn="gru")


def test_captioner_saves_and_reloads_and_still_splits(tmp_path):
    model = zoo.get("lrcn2f", **SMALL_CAPTION)
    images = RNG.normal(0, 60, (1, 67, 67, 3)).astype("float32")
    words = np.array([[0, 4, 2, 9, 1]], np.int32)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again([images, words]), model([images, words]), atol=1e-6)
    a, b = Decoder(model), Decoder(again)
    np.testing.assert_allclose(a.step([3], a.initial_state(images))[0], b.step([3], b.initial_state(images))[0],
                               atol=1e-6)


def test_lrcn2f_encoder_and_step_export_to_tflite_and_decode_on_litert(tmp_path):
    """The device recipe (zoo.export.export_decoder): the image encoder and ONE decoding step as
    SavedModel + TFLite with builtin ops only; greedy decoding driven from Python over the LiteRT
    step gives Keras's caption and score, and beam search over them Keras's beams."""
    pytest.importorskip("tensorflow")
    from ai_edge_litert.interpreter import Interpreter

    from zoo import export

    keras.utils.set_random_seed(3)
    model = zoo.get("lrcn2f", **SMALL_CAPTION)
    rng = np.random.default_rng(0)
    for name in ("embedding", "lstm1", "lstm2", "predict"):  # decisive logits: captions of varied words
        layer = model.get_layer(name)
        layer.set_weights([rng.normal(0, 1, w.shape).astype("float32") for w in layer.get_weights()])
    contract = zoo.registry.card("lrcn2f").input_contract
    reports = export.export_decoder(model, tmp_path / "lrcn2f", input_contract=contract)
    assert sorted(p.name for p in (tmp_path / "lrcn2f").iterdir()) == [
        "encoder", "encoder.export.json", "encoder.tflite", "step", "step.export.json", "step.tflite"]
    for saved, lite in reports.values():
        assert saved.max_abs_diff <= saved.tolerance and lite.max_abs_diff <= lite.tolerance
        assert not any(op.startswith("Flex") or op == "WHILE" for op in lite.ops)
    assert json.loads((tmp_path / "lrcn2f" / "step.export.json").read_text())["path"] == str(
        tmp_path / "lrcn2f" / "step.tflite")

    # Greedy over the raw LiteRT signature runners, every input and state passed by name.
    def runner(name):
        interpreter = Interpreter(model_path=str(tmp_path / "lrcn2f" / name))
        interpreter.allocate_tensors()
        return interpreter.get_signature_runner("serving_default")

    lite_encoder, lite_step = runner("encoder.tflite"), runner("step.tflite")
    assert set(lite_step.get_input_details()) == {"word", "feature", "lstm1_h", "lstm1_c", "lstm2_h", "lstm2_c"}
    image = np.random.default_rng(2).normal(0, 60, (1, 67, 67, 3)).astype("float32")
    feature = lite_encoder(inputs=image)["feature"]

    def device_step(words, state):
        out = lite_step(word=np.asarray(words, np.int32), **state)
        return out["logits"], {k: v for k, v in out.items() if k != "logits"} | {"feature": state["feature"]}

    decoder = Decoder(model)
    state = decoder.initial_state(image)
    np.testing.assert_allclose(feature, state["feature"], atol=1e-4 * max(1.0, np.abs(feature).max()))
    want = decoding.greedy(decoder.step, state, max_length=8)
    got = decoding.greedy(device_step, {**state, "feature": feature}, max_length=8)
    assert len(set(want[0].tokens)) >= 3, "a caption of one repeated word would make the comparison weak"
    assert got[0].tokens == want[0].tokens
    assert got[0].log_prob == pytest.approx(want[0].log_prob, abs=1e-4)

    # Beam search feeds several beams at once: TFLiteDecoder runs the batch-1 files row by row.
    lite = export.TFLiteDecoder(tmp_path / "lrcn2f")
    want = decoding.beam_search(decoder.step, decoder.initial_state(image), beam_size=3, max_length=6)
    got = decoding.beam_search(lite.step, lite.initial_state(image), beam_size=3, max_length=6)
    assert [c.tokens for c in got] == [c.tokens for c in want]
    np.testing.assert_allclose([c.log_prob for c in got], [c.log_prob for c in want], atol=1e-4)


# ================================================================== video description


@pytest.mark.parametrize("architecture", ["a", "b", "c"])
def test_video_description_architectures(architecture):
    slots = (3, 4, 5, 2)
    model = zoo.get("lrcn_video_description", architecture=architecture, slot_sizes=slots, vocab_size=30,
                    hidden=16, embed_dim=8, max_words=5)
    crf = (RNG.integers(0, 2, (2, 4)).astype("int32") if architecture != "c"
           else RNG.dirichlet(np.ones(14), 2).astype("float32"))
    words = RNG.integers(0, 30, (2, 5)).astype("int32")
    want = np.asarray(model([crf, words]))
    assert want.shape == (2, 5, 30)
    decoder = Decoder(model)
    state, steps = decoder.initial_state(crf), []
    for t in range(5):
        logits, state = decoder.step(words[:, t], state)
        steps.append(logits)
    np.testing.assert_allclose(np.stack(steps, 1), want, atol=1e-5)
    # "the two-layered, unfactored version of LRCN" (thesis §4.5): the CRF input enters lstm1
    names = {layer.name for layer in model.layers}
    assert {"lstm1", "lstm2"} <= names
    assert ("lstm1_input" in names) == (architecture != "a")
    assert ("encoder2" in names) == (architecture == "a")


def test_crf_max_is_the_one_hot_of_each_slot():
    model = zoo.get("lrcn_video_description", architecture="b", slot_sizes=(2, 3), vocab_size=10, hidden=4,
                    embed_dim=4, max_words=3)
    one_hot = keras.Model(model.inputs[0], model.get_layer("crf_features").output)
    np.testing.assert_array_equal(one_hot(np.array([[1, 2]], np.int32)), [[0, 1, 0, 0, 1]])
    with pytest.raises(ConfigError, match="architecture"):
        zoo.get("lrcn_video_description", architecture="d")


# ================================================================== vocabulary


COCO_LIKE = ["A man riding a horse.", "A man riding a bike.", "a man, riding a horse", "A dog.", "a horse"] * 2


def test_split_sentence_is_the_releases():
    assert split_sentence("A man's dog, running.") == ["a", "man", "'", "s", "dog", ",", "running"]
    assert split_sentence("  Two cats... ") == ["two", "cats", "..."]
    assert split_sentence("") == []


def test_vocabulary_counts_orders_and_maps_ids(tmp_path):
    vocab = Vocabulary.build(COCO_LIKE, min_count=4)
    # counts: a 10, man 6, riding 6, horse 6, "," 2, bike 2, dog 2 -> kept with >= 4, by (-count, word)
    assert vocab.words == ["<unk>", "a", "horse", "man", "riding"]
    assert len(vocab) == 6 and vocab.tokens[EOS_ID] == "<eos>" and vocab.tokens[UNK_ID] == "<unk>"
    assert vocab.encode("A man riding a zebra.") == [2, 4, 5, 2, UNK_ID]
    assert vocab.decode([4, 5, 2, 3, EOS_ID, 4]) == "man riding a horse"
    path = vocab.save(tmp_path / "vocabulary.txt")
    assert path.read_text() == "<unk>\na\nhorse\nman\nriding\n"  # the release's vocabulary.txt format
    assert Vocabulary.load(path) == vocab and Vocabulary.load(path).sha256 == vocab.sha256


def test_teacher_forcing_sequences_as_coco_to_hdf5_data():
    vocab = Vocabulary.build(COCO_LIKE, min_count=4)
    seq = vocab.sequences(["a man riding", "a horse a horse a horse"], max_words=5)
    np.testing.assert_array_equal(seq["input"], [[0, 2, 4, 5, 0], [0, 2, 3, 2, 3]])
    np.testing.assert_array_equal(seq["target"], [[2, 4, 5, 0, IGNORE], [2, 3, 2, 3, 2]])  # truncated: no <eos>


def test_empty_captions_and_bad_vocabulary_files(tmp_path):
    vocab = Vocabulary.build(COCO_LIKE, min_count=4)
    with pytest.raises(InputError, match="caption 1: .*no words"):
        vocab.sequences(["a man", " . "])
    assert Vocabulary.build(["", "a a a a a"]).words == ["<unk>", "a"]  # empty captions add nothing
    (tmp_path / "bad.txt").write_text("a\nman\n")
    with pytest.raises(ConfigError, match="starts with '<unk>'"):
        Vocabulary.load(tmp_path / "bad.txt")
    (tmp_path / "dup.txt").write_text("<unk>\na\na\n")
    with pytest.raises(ConfigError, match="more than once"):
        Vocabulary.load(tmp_path / "dup.txt")
    with pytest.raises(ConfigError, match="cannot read"):
        Vocabulary.load(tmp_path / "missing.txt")


def test_vocabulary_that_does_not_match_a_checkpoint(tmp_path):
    vocab = Vocabulary.build(COCO_LIKE, min_count=4)
    model = zoo.get("lrcn2f", **{**SMALL_CAPTION, "vocab_size": len(vocab)})
    weights = tmp_path / "final.weights.h5"
    model.save_weights(weights)
    (tmp_path / "final.weights.json").write_text(json.dumps({"model": "lrcn2f"}))
    sidecar = vocab.record_in_sidecar(weights)
    assert json.loads(sidecar.read_text()) == {"model": "lrcn2f", "vocabulary": {"sha256": vocab.sha256, "size": 6}}
    vocab.check_checkpoint(weights, model)  # the same vocabulary: fine
    other = Vocabulary([*vocab.words[:-2], vocab.words[-1], vocab.words[-2]])  # same words, other ids
    with pytest.raises(WeightsMismatchError, match="another vocabulary"):
        other.check_checkpoint(weights)
    bigger = Vocabulary([*vocab.words, "zebra"])
    with pytest.raises(WeightsMismatchError, match="7 entries"):
        bigger.check_model(model)


# ================================================================== decoding


class ToyChain:
    """A second-order Markov chain over V words (0 = <eos>) as a step function: the next word's
    logits depend on the current input word AND the previous one, which only the state carries,
    so a beam search that hands a beam another beam's state gets the wrong scores."""

    def __init__(self, vocab=4, seed=0):
        rng = np.random.default_rng(seed)
        self.table = rng.normal(0, 1.5, (vocab, vocab, vocab))
        self.vocab = vocab
        self.calls = 0

    def state(self):
        return {"previous": np.array([EOS_ID])}

    def step(self, words, state):
        self.calls += 1
        words = np.asarray(words)
        return self.table[state["previous"], words], {"previous": words}

    def log_prob(self, tokens, max_length):
        """Exact log-probability of a caption (tokens + <eos>, unless cut at max_length)."""
        previous, word, total = EOS_ID, EOS_ID, 0.0
        ended = tokens + ([EOS_ID] if len(tokens) < max_length else [])
        for nxt in ended:
            total += decoding.log_softmax(self.table[previous, word])[nxt]
            previous, word = word, nxt
        return total

    def all_captions(self, max_length):
        out = [[]]
        frontier = [[]]
        for _ in range(max_length):
            frontier = [c + [w] for c in frontier for w in range(1, self.vocab)]
            out += frontier
        return out


def test_beam_search_finds_the_exact_best_caption_and_greedy_can_miss_it():
    max_length = 4
    misses = 0
    for seed in range(10):
        chain = ToyChain(seed=seed)
        captions = chain.all_captions(max_length)
        scores = [chain.log_prob(c, max_length) for c in captions]
        best = captions[int(np.argmax(scores))]
        wide = decoding.beam_search(chain.step, chain.state(), beam_size=len(captions), max_length=max_length)
        assert wide[0].tokens == best and wide[0].log_prob == pytest.approx(max(scores))
        for caption in wide[:5]:  # every returned score is the caption's true log-probability
            assert caption.log_prob == pytest.approx(chain.log_prob(caption.tokens, max_length))
        greedy = decoding.greedy(chain.step, chain.state(), max_length=max_length)[0]
        assert decoding.beam_search(chain.step, chain.state(), beam_size=1, max_length=max_length)[0] == greedy
        assert greedy.log_prob == pytest.approx(chain.log_prob(greedy.tokens, max_length))
        misses += greedy.tokens != best
    assert misses > 0, "no chain where greedy decoding is not optimal: the test would not tell beam from greedy"


def test_beam_results_are_sorted_and_distinct():
    chain = ToyChain(vocab=5, seed=3)
    beams = decoding.beam_search(chain.step, chain.state(), beam_size=4, max_length=6)
    assert len(beams) == 4
    assert [b.log_prob for b in beams] == sorted((b.log_prob for b in beams), reverse=True)
    assert len({tuple(b.tokens) for b in beams}) == 4


def test_sampling_draws_from_the_tempered_softmax_and_ranks_by_likelihood():
    logits = np.array([0.5, 1.0, -0.5, 0.0])  # <eos>, w1, w2, w3 at every step

    def step(words, state):
        return np.tile(logits, (len(words), 1)), state

    state = {"feature": np.zeros((1, 1))}
    n = 4000
    for inverse_temperature in (1.0, 2.0):
        samples = decoding.sample(step, state, num_samples=n, inverse_temperature=inverse_temperature, rng=0,
                                  max_length=3)
        first = np.bincount([s.tokens[0] if s.tokens else EOS_ID for s in samples], minlength=4) / n
        expected = np.exp(decoding.log_softmax(logits, inverse_temperature))
        np.testing.assert_allclose(first, expected, atol=4 * np.sqrt(0.25 / n))
        assert [s.log_prob for s in samples] == sorted((s.log_prob for s in samples), reverse=True)
        untempered = decoding.log_softmax(logits)
        for s in samples[:: n // 20]:  # scores are the untempered likelihood, <eos> included
            want = untempered[s.tokens].sum() + (untempered[EOS_ID] if s.finished else 0.0)
            assert s.log_prob == pytest.approx(want)
    greedy = decoding.sample(step, state, num_samples=3, inverse_temperature=np.inf, max_length=3)
    assert all(s.tokens == [1, 1, 1] for s in greedy)


def test_decoding_argument_errors():
    chain = ToyChain()
    with pytest.raises(ConfigError, match="beam_size"):
        decoding.beam_search(chain.step, chain.state(), beam_size=0)
    with pytest.raises(ConfigError, match="inverse_temperature"):
        decoding.sample(chain.step, chain.state(), num_samples=2, inverse_temperature=0)
    with pytest.raises(InputError, match="batch 1"):
        decoding.beam_search(chain.step, {"previous": np.array([0, 0])}, beam_size=2)


def test_sequence_log_likelihood_skips_padding():
    logits = np.log(np.array([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [1 / 3, 1 / 3, 1 / 3]]]))
    targets = np.array([[1, 1, IGNORE]])
    np.testing.assert_allclose(decoding.sequence_log_likelihood(logits, targets), [np.log(0.25 * 0.8)])
