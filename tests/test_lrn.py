"""LocalResponseNormalization against a NumPy loop of Caffe's LRN (ACROSS_CHANNELS).

Oracle: the equation of Caffe's `LRNLayer` (reference/original_reference_code.md §8, item 2):
b_c = a_c / (k + alpha/n * sum_{c'=max(0,c-n//2)}^{min(C-1,c+n//2)} a_{c'}^2)^beta.
"""

import keras
import numpy as np
import pytest

from zoo.errors import ConfigError
from zoo.layers.lrn import LocalResponseNormalization


def caffe_lrn(a, size, alpha, beta, k):
    out = np.empty_like(a, dtype=np.float64)
    channels = a.shape[-1]
    for c in range(channels):
        lo, hi = max(0, c - size // 2), min(channels - 1, c + size // 2)
        window = np.sum(a[..., lo : hi + 1].astype(np.float64) ** 2, axis=-1)
        out[..., c] = a[..., c] / (k + alpha / size * window) ** beta
    return out


@pytest.mark.parametrize(
    "size,alpha,beta,k,channels",
    [
        (5, 1e-4, 0.75, 1.0, 96),  # AlexNet/CaffeNet norm1
        (5, 1e-4, 0.75, 1.0, 3),  # fewer channels than the window: every channel is an edge
        (3, 0.5, 0.9, 2.0, 7),  # large alpha so that the window sum matters
        (1, 2.0, 0.5, 1.0, 4),  # window of one channel
    ],
)
def test_matches_numpy_caffe_reference(size, alpha, beta, k, channels):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((2, 5, 4, channels)) * 20).astype("float32")
    got = keras.ops.convert_to_numpy(LocalResponseNormalization(size, alpha, beta, k)(a))
    np.testing.assert_allclose(got, caffe_lrn(a, size, alpha, beta, k), rtol=2e-5, atol=1e-6)


def test_alpha_is_divided_by_window_size():
    # One channel of value 10 with n=5: Caffe scale = 1 + alpha/5 * 100; the paper's equation
    # (no division) would give 1 + alpha * 100.
    a = np.zeros((1, 1, 1, 5), "float32")
    a[..., 2] = 10.0
    got = keras.ops.convert_to_numpy(LocalResponseNormalization(5, alpha=0.05, beta=1.0)(a))
    assert got[0, 0, 0, 2] == pytest.approx(10.0 / (1 + 0.05 / 5 * 100))


def test_edge_channels_see_a_clipped_window():
    # The first channel's window is channels 0..2, so a change in channel 3 must not reach it.
    rng = np.random.default_rng(1)
    a = rng.standard_normal((1, 2, 2, 8)).astype("float32") * 30
    b = a.copy()
    b[..., 3] *= 5
    layer = LocalResponseNormalization(5, alpha=1.0, beta=0.75)
    ya, yb = (keras.ops.convert_to_numpy(layer(x)) for x in (a, b))
    np.testing.assert_array_equal(ya[..., :1], yb[..., :1])
    assert not np.allclose(ya[..., 1], yb[..., 1])


def test_serialization_round_trip(tmp_path):
    inputs = keras.Input((None, None, 6))
    model = keras.Model(inputs, LocalResponseNormalization(3, 2e-3, 0.6, 1.5, name="norm1")(inputs))
    path = tmp_path / "lrn.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    layer = loaded.get_layer("norm1")
    assert (layer.size, layer.alpha, layer.beta, layer.k) == (3, 2e-3, 0.6, 1.5)
    x = np.random.default_rng(2).standard_normal((1, 3, 3, 6)).astype("float32")
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-6)


@pytest.mark.parametrize("size", [0, 4, 2.5])
def test_rejects_even_or_invalid_window(size):
    with pytest.raises(ConfigError, match="odd"):
        LocalResponseNormalization(size)
