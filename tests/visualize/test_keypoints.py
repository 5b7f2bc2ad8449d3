"""Long thesis §2.3-2.4: keypoint features, classification and prediction on small synthetic cases."""

import numpy as np
import pytest

from zoo.analysis import ReceptiveField
from zoo.errors import ConfigError
from zoo.visualize import flow, keypoints as kp

RF = ReceptiveField("conv5", (163, 163), (16, 16), (6, 6, 4), offset=(8.0, 8.0))


def test_column_features_take_the_unit_nearest_the_point():
    feats = np.arange(6 * 6 * 4, dtype=float).reshape(6, 6, 4)
    # centres at 8 + 16 i: (30, 60) is nearest unit (1, 3) (centre (24, 56)); (500, -20) clips to (5, 0)
    cols = kp.column_features(feats, RF, [[30, 60], [500, -20]])
    np.testing.assert_array_equal(cols, [feats[1, 3], feats[5, 0]])


def test_concat_neighbours_is_the_3x3_neighbourhood_row_major():
    f = np.random.default_rng(0).normal(size=(4, 5, 3))
    c = kp.concat_neighbours(f)
    assert c.shape == (4, 5, 27)  # conv5: 9 x 256 = 2304
    np.testing.assert_array_equal(c[2, 2].reshape(9, 3), f[1:4, 1:4].reshape(9, 3))
    np.testing.assert_array_equal(c[0, 0].reshape(3, 3, 3)[0], 0)  # above the border: zeros
    np.testing.assert_array_equal(c[0, 0].reshape(3, 3, 3)[1:, 1:], f[:2, :2])


def test_training_examples_positives_nearest_negatives_outside_the_field():
    rf = ReceptiveField("c", (40, 40), (16, 16), (6, 6, 1), offset=(8.0, 8.0))
    pos, neg = kp.training_examples(np.zeros((6, 6, 1)), rf, (32.0, 32.0), positives=4)
    assert sorted(pos) == [1 * 6 + 1, 1 * 6 + 2, 2 * 6 + 1, 2 * 6 + 2]  # centres 24 / 40 on both axes
    centres = 8 + 16 * np.array(np.unravel_index(neg, (6, 6))).T
    assert np.all(np.abs(centres - 32).max(1) > 20)  # each negative's 40-px field misses the keypoint
    assert len(neg) == 36 - 4  # only the cells centred at 24 / 40 contain it (and they are the positives)


def test_prior_and_fusion_follow_the_formula():
    prior = kp.gaussian_prior(RF, (6, 6), (40.0, 40.0), std=22.0)
    assert prior[2, 2] == pytest.approx(1.0) and prior[2, 3] == pytest.approx(np.exp(-(16 ** 2) / (2 * 22 ** 2)))
    s = np.full((6, 6), 0.5)
    s[0, 5] = 0.6  # a slightly better detector score far from the prior's mean
    np.testing.assert_allclose(kp.fuse(s, prior, 0.1), s ** 0.9 * prior ** 0.1)
    assert tuple(kp.predict_location(s, RF)) == (8.0, 88.0)  # detector alone
    assert tuple(kp.predict_location(s, RF, (40.0, 40.0))) == (40.0, 40.0)  # the prior moves it


def test_prior_means_come_from_the_pool5_nearest_neighbour():
    train = np.eye(3)
    kps = np.arange(3 * 2 * 2, dtype=float).reshape(3, 2, 2)
    out = kp.prior_means(np.array([[0.1, 0.0, 2.0], [3.0, 0.2, 0.0]]), train, kps)
    np.testing.assert_array_equal(out, kps[[2, 0]])


def synthetic_maps(n, seed, d=8, size=6):
    """Feature maps whose keypoint cell carries a fixed signature; the keypoint placed at random."""
    rng = np.random.default_rng(seed)
    signature = np.ones(d) * 2.0
    maps, points = [], []
    for _ in range(n):
        m = rng.normal(size=(size, size, d))
        i, j = rng.integers(0, size, 2)
        m[i, j] += signature
        maps.append(m)
        points.append(RF.offset[0] + 16 * np.array([i, j], float))
    return maps, np.array(points)


def test_a_mined_keypoint_svm_finds_the_keypoint():
    rf = ReceptiveField("c", (20, 20), (16, 16), (6, 6, 8), offset=(8.0, 8.0))
    maps, points = synthetic_maps(30, 0)
    w, b = kp.train_keypoint_svm(maps[:20], rf, points[:20], C=1.0, rounds=2)
    hits = [np.allclose(kp.predict_location(kp.score_map(m, w, b), rf), p) for m, p in zip(maps[20:], points[20:])]
    assert np.mean(hits) >= 0.8
    with pytest.raises(ConfigError):
        kp.train_keypoint_svm(maps[:2], rf, np.full((2, 2), np.nan))


def test_keypoint_classification_chooses_c_by_cross_validation():
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.svm import LinearSVC

    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 10)) * 3
    y = np.repeat(np.arange(3), 30)
    x = centres[y] + rng.normal(size=(90, 10)) + 20.0  # far from the origin: a tiny C cannot fit the intercepts
    Cs = (1e-6, 1e-2, 1.0)
    out = kp.classify_keypoints(x[::2], y[::2], x[1::2], y[1::2], Cs=Cs)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    oracle = {c: cross_val_score(LinearSVC(C=c, loss="hinge", dual=True, max_iter=20000, random_state=0), x[::2],
                                 y[::2], cv=cv).mean() for c in Cs}
    assert out["cv_scores"] == pytest.approx(oracle)
    assert out["C"] == max(Cs, key=lambda c: (oracle[c], -Cs.index(c)))
    assert oracle[1e-6] < max(oracle.values()) and out["accuracy"] > 90


def test_sift_at_keypoints_changes_with_the_radius():
    from scipy.ndimage import gaussian_filter

    image = gaussian_filter(np.random.default_rng(2).uniform(size=(200, 200)), 2)
    d10 = flow.sift_descriptors(image, [[100, 100]], 10)
    d40 = flow.sift_descriptors(image, [[100, 100]], 40)
    assert d10.shape == (1, 128) and not np.allclose(d10, d40)
