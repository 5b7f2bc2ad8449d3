"""1-NN accuracy (Donahue thesis Table 5.1 protocol) against scikit-learn's 1-NN classifier."""

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from zoo.errors import InputError
from zoo.metrics.nearest_neighbour import one_nn_accuracy


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_one_nn_accuracy_equals_sklearn(metric):
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 8)) * 2
    ytr, yte = rng.integers(0, 5, 300), rng.integers(0, 5, 120)
    xtr, xte = centres[ytr] + rng.normal(size=(300, 8)), centres[yte] + rng.normal(size=(120, 8))
    want = 100 * KNeighborsClassifier(1, metric=metric, algorithm="brute").fit(xtr, ytr).score(xte, yte)
    got = one_nn_accuracy(xtr, ytr, xte, yte, metric=metric, chunk=50)
    assert got == pytest.approx(want) and 40 < got < 100
    with pytest.raises(InputError, match="dimension"):
        one_nn_accuracy(xtr, ytr, xte[:, :3], yte)
