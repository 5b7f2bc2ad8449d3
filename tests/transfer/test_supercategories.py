"""DeCAF's t-SNE supercategory analysis (Donahue thesis §2.2.1, Fig. 2.1; footnotes 2 and 3)."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.visualize import embed


def test_random_projection_to_512_keeps_pairwise_distances_and_leaves_narrow_features():
    x = np.random.default_rng(0).normal(size=(20, 4000))
    p = embed.random_projection(x, 512, seed=1)
    assert p.shape == (20, 512)
    np.testing.assert_array_equal(p, embed.random_projection(x, 512, seed=1))
    d = lambda a: np.sqrt(((a[:, None] - a[None]) ** 2).sum(-1))[np.triu_indices(20, 1)]  # noqa: E731
    ratio = d(p) / d(x)
    assert 0.85 < ratio.min() and ratio.max() < 1.15  # Johnson-Lindenstrauss at 512 dims
    narrow = np.ones((3, 100))
    np.testing.assert_array_equal(embed.random_projection(narrow, 512), narrow)


def test_nearest_neighbour_agreement_by_hand():
    points = np.array([[0.0], [0.1], [5.0], [5.2], [9.0]])
    # neighbours: 1, 0, 3, 2, 3 -> labels a, a, b, b, b against a, a, b, b, a: 4 of 5
    assert embed.nearest_neighbour_agreement(points, np.array([0, 0, 1, 1, 0])) == pytest.approx(0.8)


def test_supercategory_tsne_separates_grouped_features_not_noise():
    rng = np.random.default_rng(0)
    superlabels = np.repeat([0, 1], 20)
    grouped = rng.normal(0, 1, (40, 30)) + 6.0 * superlabels[:, None]
    noise = rng.normal(0, 1, (40, 30))
    r = embed.supercategory_tsne({"grouped": grouped, "noise": noise}, superlabels, perplexity=8)
    assert r["grouped"]["points"].shape == (40, 2)
    assert r["grouped"]["tsne_1nn"] > 0.95 and r["noise"]["tsne_1nn"] < 0.8


def test_decaf_supercategories_compares_decaf1_decaf6_and_the_random_weights_control(tmp_path):
    import keras

    from zoo.models.alexnet.decaf import decaf

    keras.utils.set_random_seed(0)
    trained = decaf(layer=6, num_classes=3, width=16, input_shape=(67, 67, 3))
    control = decaf(layer=6, num_classes=3, width=16, input_shape=(67, 67, 3))
    images = np.random.default_rng(0).normal(0, 50, (12, 67, 67, 3)).astype(np.float32)
    superlabels = np.repeat([0, 1], 6)
    r = embed.decaf_supercategories(trained, control, images, superlabels)
    assert list(r) == ["DeCAF1", "DeCAF6", "DeCAF6, random weights"]
    assert all(v["points"].shape == (12, 2) and 0 <= v["tsne_1nn"] <= 1 for v in r.values())
    path = embed.plot_supercategories(r, superlabels, tmp_path / "tsne.png", label_names=["indoor", "outdoor"])
    assert path.stat().st_size > 1000
