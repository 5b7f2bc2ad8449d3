"""The context-prediction patch sampler (zoo.data.context_pairs) and the texture_pairs stand-in."""

import numpy as np
import pytest

from zoo.data import context_pairs as cp
from zoo.errors import ConfigError


def coordinate_image(size):
    """image[y, x] = (y, x, 0): a patch's first pixel names its corner."""
    yy, xx = np.mgrid[0:size, 0:size]
    return np.stack([yy, xx, np.zeros_like(yy)], axis=-1).astype(np.float64)


@pytest.mark.parametrize("jitter", [0, 7])
def test_patch_b_sits_one_grid_step_from_a_at_the_labelled_position(jitter):
    image = coordinate_image(cp.min_image_size(96, 48, jitter) + 5)
    rng = np.random.default_rng(0)
    for label, (dy, dx) in enumerate(cp.OFFSETS):
        for _ in range(5):
            a, b, got = cp.sample_pair(image, rng, jitter=jitter, label=label)
            assert got == label and a.shape == b.shape == (96, 96, 3)
            (ya, xa), (yb, xb) = a[0, 0, :2], b[0, 0, :2]
            assert abs(yb - ya - dy * 144) <= 2 * jitter and abs(xb - xa - dx * 144) <= 2 * jitter
            if jitter == 0:
                assert (yb - ya, xb - xa) == (dy * 144, dx * 144)
    labels = [cp.sample_pair(image, rng, jitter=jitter)[2] for _ in range(400)]
    assert set(labels) == set(range(8))


def test_corners_fill_the_image_without_leaving_it():
    rng = np.random.default_rng(1)
    size = cp.min_image_size(20, 10, 3)
    assert size == 3 * 20 + 2 * 10 + 2 * 3
    corners = [cp.pair_corners((size, size), label, rng, patch=20, gap=10, jitter=3) for label in range(8) for _ in
               range(50)]
    flat = np.array(corners).reshape(-1, 2)
    assert flat.min() == 0 and flat.max() == size - 20  # both extremes reached, never beyond
    with pytest.raises(ConfigError, match="too small"):
        cp.pair_corners((size - 1, size), 0, rng, patch=20, gap=10, jitter=3)
    with pytest.raises(ConfigError, match="8 relative positions"):
        cp.pair_corners((size, size), 8, rng, patch=20, gap=10, jitter=3)


def test_colour_projection_removes_the_green_magenta_axis_only():
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 255, (5, 5, 3))
    p = cp.project_colour(x)
    u = np.array([-1.0, 2.0, -1.0]) / np.sqrt(6)
    np.testing.assert_allclose(p @ u, 0, atol=1e-9)
    # what is removed lies along u; grey (and the red-blue axis) is untouched
    removed = x - p
    np.testing.assert_allclose(np.cross(removed.reshape(-1, 3), u), 0, atol=1e-9)
    grey_rb = np.array([[10.0, 10.0, 10.0], [200.0, 0.0, -200.0]])
    np.testing.assert_allclose(cp.project_colour(grey_rb), grey_rb, atol=1e-9)
    np.testing.assert_allclose(cp.project_colour(p), p)


def test_colour_dropping_keeps_one_channel_and_noises_the_others():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 255, (64, 64, 3))
    out = cp.drop_colour(x, rng)
    kept = [c for c in range(3) if np.array_equal(out[..., c], x[..., c])]
    assert len(kept) == 1
    for c in set(range(3)) - set(kept):
        assert out[..., c].std() == pytest.approx(0.01 * x[..., kept[0]].std(), rel=0.1)
    a, b, _ = cp.sample_pair(coordinate_image(400).astype(np.uint8) * 0 + 100, rng, colour="drop")
    assert a.min() >= 0 and a.max() <= 255
    with pytest.raises(ConfigError, match="colour must be"):
        cp.sample_pair(coordinate_image(400), rng, colour="grey")


def test_texture_pairs_standin_loads_deterministic_examples():
    from zoo import data

    info = data.info("texture_pairs")
    assert info.is_standin and info.num_classes == 8
    ds = data.load("texture_pairs", "train", num_examples=3, patch_size=32, gap=16, jitter=2)
    first = [(e["patch_a"].numpy(), e["label"].numpy()) for e in ds]
    again = [(e["patch_a"].numpy(), e["label"].numpy()) for e in ds]
    assert all(np.array_equal(a, b) and la == lb for (a, la), (b, lb) in zip(first, again))
    assert first[0][0].shape == (32, 32, 3) and first[0][0].dtype == np.uint8
    with pytest.raises(ConfigError, match="does not take 'patch'"):
        data.load("texture_pairs", "train", patch=3)
