"""Grid NMS (Long thesis §4.3.5) equals brute-force greedy mask NMS on random grids."""

import numpy as np
import pytest

from zoo.errors import ConfigError
from zoo.ops.grid_nms import RegionGrid, clip_to_image, grid_nms, mask_iou, mask_nms, render_regions


def _random_grids(rng, size, pathways):
    """Pathways (stride, k) of random rectangle-ish masks cut to the image (as a decoder would)."""
    grids = []
    for stride, k in pathways:
        n = -(-size // stride)
        masks = np.zeros((n, n, k, k), bool)
        for y, x in np.ndindex(n, n):
            r0, c0 = rng.integers(0, k, 2)
            r1, c1 = r0 + rng.integers(1, k - r0 + 1), c0 + rng.integers(1, k - c0 + 1)
            masks[y, x, r0:r1, c0:c1] = True
            masks[y, x] &= rng.uniform(size=(k, k)) < 0.9  # a few holes
        grids.append(RegionGrid(masks, rng.uniform(size=(n, n)), stride))
    clipped = clip_to_image(grids, size, size)
    for g, h in zip(grids, clipped):  # the loop transcription of clip_to_image
        c = g.k // 2
        for y, x in np.ndindex(g.scores.shape):
            rows = (y - c + np.arange(g.k)) * g.stride
            cols = (x - c + np.arange(g.k)) * g.stride
            inside = ((rows >= 0) & (rows < size))[:, None] & ((cols >= 0) & (cols < size))[None, :]
            np.testing.assert_array_equal(h.masks[y, x], g.masks[y, x] & inside)
    return clipped


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("threshold", [0.3, 0.6])
def test_grid_nms_equals_brute_force_mask_nms(seed, threshold):
    rng = np.random.default_rng(seed)
    size = 32
    grids = _random_grids(rng, size, [(2, 4), (4, 6), (8, 3)])
    masks, rows = render_regions(grids, size, size)
    scores = np.concatenate([g.scores.reshape(-1) for g in grids])
    want = rows[mask_nms(masks, scores, threshold)]
    got = grid_nms(grids, threshold)
    assert len(want) > 5
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(grid_nms(grids, threshold, max_output=3), want[:3])


def test_mask_iou_by_hand():
    a = np.zeros((1, 4, 4), bool)
    a[0, :2, :2] = True
    b = np.zeros((2, 4, 4), bool)
    b[0, :2, :] = True
    np.testing.assert_allclose(mask_iou(a, b), [[0.5, 0.0]])


def test_grids_need_dividing_strides():
    rng = np.random.default_rng(0)
    grids = _random_grids(rng, 12, [(2, 2), (3, 2)])
    with pytest.raises(ConfigError, match="divide"):
        grid_nms(grids, 0.0)


def test_mask_iou_in_chunks_is_the_loop():
    rng = np.random.default_rng(5)
    a, b = rng.uniform(size=(3, 9, 7)) < 0.4, rng.uniform(size=(10, 9, 7)) < 0.4
    want = [[(x & y).sum() / (x | y).sum() for y in b] for x in a]
    np.testing.assert_allclose(mask_iou(a, b, chunk=3), want, rtol=1e-12)
