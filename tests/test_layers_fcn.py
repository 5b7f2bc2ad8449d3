"""The FCN layers against NumPy loops written from Caffe's definitions.

Caffe sources of the semantics: pooling_layer.cpp (ceil-mode sizes, last window inside the
padded input, padding ignored), crop_layer.cpp (axis 2, fixed offset), deconv_layer.cpp (pad 0:
out = s * (H - 1) + k, each input pixel adds a kernel-weighted patch), and the FCN reference
surgery.upsample_filt / surgery.interp.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.errors import ConfigError, InputError, WeightsMismatchError
from zoo.layers.crop import CaffeCrop
from zoo.layers.pooling import CaffeMaxPooling2D
from zoo.layers.upsampling import Deconvolution2D, upsample_filt

RNG = np.random.default_rng(0)


def traced_with_unknown_sizes(model, *channels):
    """`model` as a graph traced once with unknown batch and spatial sizes (the layers' dynamic path)."""
    return tf.function(model, input_signature=[[tf.TensorSpec((None, None, None, c)) for c in channels]])


# ----------------------------------------------------------------------------------------- pooling
def caffe_max_pool_reference(x, k, s, p):
    """Loop transcription of Caffe's MaxPoolForward on one (H, W, C) image."""
    h, w, c = x.shape

    def pooled(size):
        out = math.ceil((size + 2 * p - k) / s) + 1
        if p and (out - 1) * s >= size + p:
            out -= 1
        return out

    ph, pw = pooled(h), pooled(w)
    y = np.empty((ph, pw, c), x.dtype)
    for i in range(ph):
        for j in range(pw):
            hs, ws = i * s - p, j * s - p
            he, we = min(hs + k, h + p), min(ws + k, w + p)
            hs, ws, he, we = max(hs, 0), max(ws, 0), min(he, h), min(we, w)
            y[i, j] = x[hs:he, ws:we].reshape(-1, c).max(axis=0)
    return y


POOL_CASES = [(2, 2, 0), (3, 2, 0), (3, 2, 1), (3, 3, 1), (2, 1, 0), (3, 1, 1), (5, 3, 2), (4, 3, 2)]


@pytest.mark.parametrize("k,s,p", POOL_CASES)
def test_caffe_max_pool_matches_caffe_loop_static_shapes(k, s, p):
    for h, w in [(7, 9), (8, 8), (13, 6), (k, k + 1), (25, 31)]:
        x = RNG.normal(size=(2, h, w, 3)).astype("float32")
        got = np.asarray(CaffeMaxPooling2D(k, s, p)(x))
        want = np.stack([caffe_max_pool_reference(img, k, s, p) for img in x])
        assert got.shape == want.shape, (h, w)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (4, 3, 2)])
def test_caffe_max_pool_matches_caffe_loop_unknown_sizes(k, s, p):
    inp = keras.Input((None, None, 2))
    layer = CaffeMaxPooling2D(k, s, p)
    model = keras.Model([inp], layer(inp))
    assert model.output.shape == (None, None, None, 2)
    graph = traced_with_unknown_sizes(model, 2)
    for h, w in [(7, 9), (8, 8), (11, 4)]:
        x = RNG.normal(size=(1, h, w, 2)).astype("float32")
        got = np.asarray(graph([x]))
        np.testing.assert_array_equal(got[0], caffe_max_pool_reference(x[0], k, s, p))
    want_h = caffe_max_pool_reference(np.zeros((7, 1, 1)), k, s, p).shape[0]
    assert layer.compute_output_shape((None, 7, None, 2)) == (None, want_h, None, 2)


def test_caffe_max_pool_rounds_up_where_keras_rounds_down():
    x = np.zeros((1, 7, 7, 1), "float32")
    assert CaffeMaxPooling2D(2, 2)(x).shape == (1, 4, 4, 1)
    assert keras.layers.MaxPooling2D(2, 2)(x).shape == (1, 3, 3, 1)


def test_caffe_max_pool_rejects_bad_configs():
    with pytest.raises(ConfigError, match="padding"):
        CaffeMaxPooling2D(2, 2, padding=2)
    with pytest.raises(ConfigError, match="strides <= pool_size"):
        CaffeMaxPooling2D(2, 3)


# -------------------------------------------------------------------------------------------- crop
def test_caffe_crop_takes_the_reference_size_at_the_offset():
    a = RNG.normal(size=(2, 40, 33, 4)).astype("float32")
    ref = np.zeros((2, 21, 17, 7), "float32")
    got = np.asarray(CaffeCrop(9)([a, ref]))
    np.testing.assert_array_equal(got, a[:, 9:30, 9:26, :])
    got = np.asarray(CaffeCrop((3, 5))([a, ref]))
    np.testing.assert_array_equal(got, a[:, 3:24, 5:22, :])


def test_caffe_crop_unknown_sizes():
    a_in, ref_in = keras.Input((None, None, 4)), keras.Input((None, None, 1))
    model = keras.Model([a_in, ref_in], CaffeCrop(19)([a_in, ref_in]))
    a = RNG.normal(size=(1, 64, 70, 4)).astype("float32")
    got = np.asarray(traced_with_unknown_sizes(model, 4, 1)([a, np.zeros((1, 30, 45, 1), "float32")]))
    np.testing.assert_array_equal(got, a[:, 19:49, 19:64])


def test_caffe_crop_too_small_is_a_clear_error():
    a, ref = np.zeros((1, 20, 40, 2), "float32"), np.zeros((1, 16, 16, 2), "float32")
    with pytest.raises(InputError, match="height 16 at offset 5 .* height 20; it needs at least 21"):
        CaffeCrop(5)([a, ref])
    with pytest.raises(InputError, match="needs at least 21"):  # static shapes: caught while building
        CaffeCrop(5)([keras.Input((20, 40, 2)), keras.Input((16, 16, 2))])


# ----------------------------------------------------------------------------------- deconvolution
def caffe_deconv_reference(x, kernel, s):
    """Caffe Deconvolution, pad 0: every input pixel adds kernel[:, :, o, c] * x[i, j, c] at (s*i, s*j).

    `kernel` is in Keras' (k, k, out, in) layout.
    """
    h, w, _ = x.shape
    k = kernel.shape[0]
    y = np.zeros((s * (h - 1) + k, s * (w - 1) + k, kernel.shape[2]))
    for i in range(h):
        for j in range(w):
            y[s * i : s * i + k, s * j : s * j + k] += np.einsum("aboc,c->abo", kernel, x[i, j])
    return y


def test_upsample_filt_matches_the_reference_formula():
    # surgery.upsample_filt(4): factor 2, center 1.5 -> 1-D filter (0.25, 0.75, 0.75, 0.25).
    np.testing.assert_allclose(upsample_filt(4), np.outer([0.25, 0.75, 0.75, 0.25], [0.25, 0.75, 0.75, 0.25]))
    # odd size 3: factor 2, center 1 -> (0.5, 1, 0.5).
    np.testing.assert_allclose(upsample_filt(3), np.outer([0.5, 1, 0.5], [0.5, 1, 0.5]))


def test_bilinear_initialisation_is_diagonal_like_surgery_interp():
    layer = Deconvolution2D(3, 4, 2)
    layer.build((None, None, None, 3))
    kernel = np.asarray(layer.kernel)
    assert kernel.shape == (4, 4, 3, 3)
    for o in range(3):
        for c in range(3):
            np.testing.assert_array_equal(kernel[:, :, o, c], upsample_filt(4) if o == c else 0)
    assert layer.trainable_weights == [layer.kernel]
    assert isinstance(layer, keras.layers.Conv2DTranspose)  # so zoo.convert.caffe loads Deconvolution blobs


@pytest.mark.parametrize("k,s", [(4, 2), (16, 8), (64, 32), (3, 2), (5, 3)])
def test_both_deconvolution_paths_match_caffe(k, s):
    x = RNG.normal(size=(2, 5, 7, 3)).astype("float32")
    want = np.stack([caffe_deconv_reference(img, np.asarray(upsample_filt(k))[:, :, None, None] * np.eye(3), s)
                     for img in x])
    fast = np.asarray(Deconvolution2D(3, k, s, fixed_bilinear=True)(x))
    general = np.asarray(Deconvolution2D(3, k, s)(x))
    assert fast.shape == general.shape == want.shape == (2, s * 4 + k, s * 6 + k, 3)
    np.testing.assert_allclose(fast, want, atol=1e-5)
    np.testing.assert_allclose(general, want, atol=1e-5)
    np.testing.assert_allclose(fast, general, atol=1e-5)


def test_general_deconvolution_with_any_kernel_matches_caffe():
    # A random, asymmetric kernel catches a flipped or transposed layout.
    layer = Deconvolution2D(4, 5, 3, use_bias=True, kernel_initializer="random_normal")
    x = RNG.normal(size=(1, 4, 6, 2)).astype("float32")
    layer(x)
    kernel, bias = RNG.normal(size=(5, 5, 4, 2)), RNG.normal(size=4)
    layer.set_weights([kernel, bias])
    np.testing.assert_allclose(np.asarray(layer(x))[0], caffe_deconv_reference(x[0], kernel, 3) + bias, atol=1e-5)


def test_fixed_bilinear_is_frozen_and_unknown_sizes_work():
    inp = keras.Input((None, None, 3))
    layer = Deconvolution2D(3, 16, 8, fixed_bilinear=True)
    model = keras.Model([inp], layer(inp))
    assert layer.trainable_weights == [] and [w.shape for w in layer.non_trainable_weights] == [(16, 16, 3, 3)]
    layer.trainable = True  # a model-wide unfreeze must not make the analytic kernel trainable
    assert layer.trainable_weights == []
    x = RNG.normal(size=(1, 3, 4, 3)).astype("float32")
    want = Deconvolution2D(3, 16, 8)(x)
    np.testing.assert_allclose(traced_with_unknown_sizes(model, 3)([x]), want, atol=1e-5)


def test_fixed_bilinear_refuses_another_kernel():
    layer = Deconvolution2D(2, 4, 2, fixed_bilinear=True)
    layer.build((None, None, None, 2))
    layer.set_weights([upsample_filt(4)[:, :, None, None] * np.eye(2)])  # the bilinear kernel loads
    with pytest.raises(WeightsMismatchError, match="bilinear"):
        layer.set_weights([RNG.normal(size=(4, 4, 2, 2))])
    with pytest.raises(ConfigError, match="keeps the channels"):
        Deconvolution2D(3, 4, 2, fixed_bilinear=True).build((None, None, None, 2))


def test_layers_round_trip_through_keras_files(tmp_path):
    inp = keras.Input((None, None, 3))
    x = CaffeMaxPooling2D(3, 2, 1, name="pool")(inp)
    up = Deconvolution2D(3, 4, 2, fixed_bilinear=True, name="up")(x)
    learned = Deconvolution2D(3, 4, 2, name="learned")(x)
    out = CaffeCrop(1, name="crop")([keras.layers.Add()([up, learned]), inp])
    model = keras.Model(inp, out)
    model.get_layer("learned").set_weights([RNG.normal(size=(4, 4, 3, 3))])
    path = tmp_path / "layers.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = RNG.normal(size=(1, 9, 12, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict_on_batch(x), model.predict_on_batch(x), atol=1e-6)
    assert loaded.get_layer("up").fixed_bilinear and not loaded.get_layer("up").trainable_weights
