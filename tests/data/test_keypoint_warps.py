"""The warped-template stand-in for PASCAL keypoints: keypoints follow the image's deformation."""

import numpy as np

from zoo.data import keypoint_warps as kw


def test_warped_keypoints_land_where_the_image_content_moved():
    rng = np.random.default_rng(0)
    image, kps = kw.template(rng, 96, 5)
    # a marker image: a bright dot at the first keypoint, then warped with the same draw
    dot = np.zeros((96, 96))
    y, x = np.round(kps[0]).astype(int)
    dot[y - 1:y + 2, x - 1:x + 2] = 1.0
    from scipy.ndimage import gaussian_filter

    dot = gaussian_filter(dot, 1.0)
    warped_dot, moved = kw.warp(dot, kps, np.random.default_rng(5), strength=6.0)
    peak = np.array(np.unravel_index(np.argmax(warped_dot), warped_dot.shape), float)
    assert np.linalg.norm(peak - moved[0]) <= 1.5  # where the dot went is where the keypoint went
    assert np.linalg.norm(moved[0] - np.round(kps[0])) > 1.0  # and it did move


def test_instances_are_reproducible_and_shaped():
    a = kw.instances(4, seed=3, size=64, corners=4, templates=2)
    b = kw.instances(4, seed=3, size=64, corners=4, templates=2)
    images, kps, boxes, which = a
    assert images.shape == (4, 64, 64) and kps.shape == (4, 4, 2) and boxes.shape == (4, 4)
    np.testing.assert_array_equal(images, b[0])
    assert 0 <= images.min() and images.max() <= 1 and set(which) <= {0, 1}
