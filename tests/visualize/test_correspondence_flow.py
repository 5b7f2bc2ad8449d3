"""Long thesis §2.2: the flow MRF, BP with the squared-distance transform against brute force,
conv-feature and SIFT flow, spline warping and keypoint transfer."""

import keras
import numpy as np
import pytest

from zoo.errors import ConfigError
from zoo.visualize import flow, mrf


def test_distance_transform_equals_the_naive_minimum():
    rng = np.random.default_rng(0)
    for beta in (1e-3, 0.3, 2.0):
        f = rng.normal(size=(6, 11)) * 3
        f[0, 3] = mrf.OUTSIDE  # huge entries (labels off the target) do not break the envelope
        q = np.arange(11)
        naive = (f[:, None, :] + beta * (q[:, None] - q[None, :]) ** 2).min(-1)
        np.testing.assert_allclose(mrf.distance_transform_1d(f, beta), naive, rtol=1e-12)
    h = rng.normal(size=(2, 5, 7))
    ly, lx = np.meshgrid(np.arange(5), np.arange(7), indexing="ij")
    d2 = (ly.ravel()[:, None] - ly.ravel()[None]) ** 2 + (lx.ravel()[:, None] - lx.ravel()[None]) ** 2
    naive2 = (h.reshape(2, 1, -1) + 0.5 * d2[None]).min(-1).reshape(2, 5, 7)
    np.testing.assert_allclose(mrf.distance_transform_2d(h, 0.5), naive2, rtol=1e-12)


def numpy_energy(labels, cost, beta):
    """E(w) transcribed from §2.2 node by node and edge by edge."""
    h, w = cost.shape[:2]
    e = sum(cost[y, x, labels[y, x, 0], labels[y, x, 1]] for y in range(h) for x in range(w))
    for y in range(h):
        for x in range(w):
            for dy, dx in ((0, 1), (1, 0)):
                if y + dy < h and x + dx < w:
                    e += beta * np.sum((labels[y, x] - labels[y + dy, x + dx]) ** 2)
    return e


@pytest.mark.parametrize("shape", [(1, 4), (3, 1), (2, 2)])
def test_belief_propagation_reaches_the_brute_force_minimum(shape):
    for seed in range(3):
        cost = np.random.default_rng(seed).uniform(0, 1, size=shape + (3, 3))
        labels, _ = mrf.belief_propagation(cost, beta=0.2, iterations=40)
        best_labels, best = mrf.brute_force(cost, beta=0.2)
        assert mrf.energy(labels, cost, 0.2)[0] == pytest.approx(best, abs=1e-9)
        assert numpy_energy(labels, cost, 0.2) == pytest.approx(best, abs=1e-9)
        assert numpy_energy(best_labels, cost, 0.2) == pytest.approx(best, abs=1e-9)


def test_data_cost_is_the_l2_distance_and_marks_the_outside():
    rng = np.random.default_rng(1)
    s, t = rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 4, 5))
    cost = mrf.data_cost(s, t, 1, 2)
    assert cost.shape == (3, 4, 3, 5)
    assert cost[1, 1, 2, 4] == pytest.approx(np.linalg.norm(s[1, 1] - t[2, 3]))  # d = (+1, +2)
    assert cost[0, 0, 0, 2] == mrf.OUTSIDE  # (0, 0) + (-1, 0) leaves the target


def test_flow_recovers_a_translation_of_the_features():
    rng = np.random.default_rng(2)
    target = rng.normal(size=(9, 9, 16))
    source = np.roll(target, (-1, -2), axis=(0, 1))  # source(p) = target(p + (1, 2))
    result = flow.solve_flow(source, target, radius=(3, 3), stride=(8, 8), offset=(4, 4))
    interior = result.grid[:-1, :-2]
    np.testing.assert_array_equal(interior, np.broadcast_to([1.0, 2.0], interior.shape))
    np.testing.assert_array_equal(result.pixels[0, 0], [8.0, 16.0])
    assert result.energy == pytest.approx(result.data + result.deformation)


def texture(seed, size=96):
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(np.random.default_rng(seed).uniform(0, 1, (size, size)), 2.0)


def test_sift_flow_finds_a_shift_of_the_image():
    image = texture(3, 112)
    shifted = np.roll(image, (8, -8), axis=(0, 1))  # source(p) = shifted(p) = image(p - (8, -8))
    f = flow.sift_flow(shifted, image, (5, 5), offset=(24, 24), stride=(16, 16), radius=10, beta=1e-3)
    assert f.grid.shape == (5, 5, 2)
    # the source's content sits at p - (8, -8) in the target: half a grid step, rounded to 0 or -1 / 0 or 1
    assert np.all(np.abs(f.pixels[1:-1, 1:-1] - [-8, 8]) <= 8)


def test_conv_flow_on_a_tiny_model_aligns_an_image_with_itself():
    keras.utils.set_random_seed(0)
    x = inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 4, strides=4, name="c")(x)
    model = keras.Model(inputs, x)
    image = np.random.default_rng(4).uniform(-1, 1, (32, 32, 3)).astype("float32")
    f = flow.conv_flow(model, "c", image, image)
    np.testing.assert_array_equal(f.grid, 0)
    assert f.stride == (4, 4) and f.offset == (1.5, 1.5)


def constant_flow(d, energy, shape=(4, 4), stride=(10, 10)):
    grid = np.broadcast_to(np.asarray(d, float), shape + (2,)).copy()
    return flow.Flow(grid / stride[0], grid, (5.0, 5.0), stride, energy, 0.0, energy)


def test_warping_with_a_constant_flow_shifts_the_image():
    image = texture(5, 40)
    warped = flow.warp_image(image, constant_flow((2, 3), 0.0), (30, 30))
    np.testing.assert_allclose(warped[..., 0], image[2:32, 3:33], atol=1e-9)


def test_keypoint_transfer_takes_the_median_of_the_lowest_deformation_neighbours():
    # six neighbours: energies 5, 0, 4, 1, 3, 2; the most deformed (energy 5) is an outlier
    shifts = [(100, 100), (1, 0), (2, 0), (3, 0), (4, 0), (5, 0)]
    energies = [5.0, 0.0, 4.0, 1.0, 3.0, 2.0]
    flows = [constant_flow(s, e) for s, e in zip(shifts, energies)]
    kps = np.zeros((6, 2, 2))
    kps[:, 0] = [10.0, 10.0]
    kps[:, 1] = np.nan  # the second keypoint: only neighbour 4 has it
    kps[4, 1] = [20.0, 20.0]
    pred, rank = flow.transfer_keypoints(flows, kps, top=5)
    assert list(rank) == [1, 3, 5, 4, 2, 0]
    # top 5 transfers: y = 11, 13, 15, 14, 12 -> median 13; x stays 10
    np.testing.assert_allclose(pred[0], [13.0, 10.0])
    np.testing.assert_allclose(pred[1], [24.0, 20.0])
    with pytest.raises(ConfigError):
        flow.transfer_keypoints(flows, kps, order="energy")
