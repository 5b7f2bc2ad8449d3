"""Long thesis §2.1: nonparametric reconstruction on tiny models with known answers."""

import keras
import numpy as np

from zoo.visualize import reconstruct


def strided_model():
    """conv 4x4 stride 2 ('valid'): units at field centres 1.5 + 2c, stride 2, field 4."""
    keras.utils.set_random_seed(0)
    x = inputs = keras.Input((10, 10, 3))
    x = keras.layers.Conv2D(16, 4, strides=2, name="c")(x)
    return keras.Model(inputs, x)


def test_cosine_neighbours_match_a_brute_force_sort():
    rng = np.random.default_rng(0)
    q, d = rng.standard_normal((7, 5)), rng.standard_normal((30, 5))
    nn = reconstruct.cosine_neighbours(q, d, 4, chunk=3)
    sim = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (d / np.linalg.norm(d, axis=1, keepdims=True)).T
    assert (nn == np.argsort(-sim, axis=1)[:, :4]).all()


def test_reconstruction_from_a_database_holding_the_query_is_the_query():
    model = strided_model()
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, (4, 10, 10, 3)).astype("float32")
    rec, own = reconstruct.reconstruct(model, "c", images[2], images, k=1)
    assert rec.shape == own.shape == (8, 8, 3)  # 4x4 units, 2x2 patches
    np.testing.assert_array_equal(rec, own)
    # the own patches tile the image from the first unit's centre: offset 1.5 - (2-1)/2 -> pixel 1
    np.testing.assert_array_equal(own, images[2, 1:9, 1:9])
    rec5, _ = reconstruct.reconstruct(model, "c", images[2], images, k=3)
    assert not np.allclose(rec5, own)


def test_uniform_rf_draws_from_the_units_neighbourhood():
    model = strided_model()
    image = np.arange(300, dtype="float32").reshape(10, 10, 3)
    feats, rf = reconstruct.dense_features(model, "c", image[None])
    out = reconstruct.uniform_rf(image, rf, feats.shape[1:3], k=1, seed=0)
    assert out.shape == (8, 8, 3)
    # each 2x2 patch is a crop of the image whose top-left lies within +-1 pixel of the unit's own
    for y in range(4):
        for x in range(4):
            patch = out[2 * y:2 * y + 2, 2 * x:2 * x + 2]
            top = int(patch[0, 0, 0]) // 3
            py, px = divmod(top, 10)
            assert abs(py - (1 + 2 * y)) <= 1 and abs(px - (1 + 2 * x)) <= 1


def test_feature_centric_average_of_one_neighbour_is_its_own_field():
    model = strided_model()
    images = np.random.default_rng(2).uniform(0, 1, (3, 10, 10, 3)).astype("float32")
    mean, nn = reconstruct.feature_centric(model, "c", images, (1, 2, 3), k=1)
    assert nn[0] == 1 * 16 + 2 * 4 + 3
    own = images[1, 4:8, 6:10]  # unit (2, 3): centre (1.5 + 4, 1.5 + 6), field 4 starts at (4, 6)
    np.testing.assert_allclose(mean, (own - own.min()) / (own.max() - own.min()), rtol=1e-5)
