"""C3D compactness (Tran et al. 2015 §3.3): PCA to d dimensions then a linear SVM. The projection against a
NumPy SVD of the centred training descriptors, and accuracy growing with d on descriptors whose classes
live in a few directions."""

import numpy as np
import pytest

from zoo.errors import InputError
from zoo.experiments.c3d import compactness


def _descriptors(n, rng, classes=8, width=64):
    centres = rng.normal(0, 1, (classes, width)) * np.r_[np.full(6, 3.0), np.full(width - 6, 0.05)]
    y = rng.integers(0, classes, n)
    x = centres[y] + rng.normal(0, 0.5, (n, width))
    return x / np.linalg.norm(x, axis=1, keepdims=True), y


def test_projection_is_the_svd_of_the_centred_training_descriptors():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    x, _ = _descriptors(200, rng)
    u, s, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    ours = PCA(n_components=5).fit(x).transform(x)
    np.testing.assert_allclose(np.abs(ours), np.abs((x - x.mean(0)) @ vt[:5].T), atol=1e-8)


def test_accuracy_grows_with_the_dimensions_then_saturates():
    x, y = _descriptors(1200, np.random.default_rng(1))
    (tx, ty), (vx, vy) = (x[:800], y[:800]), (x[800:], y[800:])
    acc = compactness(tx, ty, vx, vy, dims=(1, 6, 40))
    assert acc[1] < acc[6] and acc[6] > 0.9 and abs(acc[40] - acc[6]) < 0.05
    with pytest.raises(InputError, match="outside"):
        compactness(tx, ty, vx, vy, dims=(100,))
