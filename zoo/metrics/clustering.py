"""Agreement between cluster assignments and class labels: purity and normalised mutual information
(Donahue thesis ch. 6 measures whether a GAN's categorical code falls on digit identity).

purity = (1 / n) * sum over clusters of the count of its most frequent label (Manning et al., IR
book §16.3); NMI as scikit-learn's `normalized_mutual_info_score` (arithmetic normalisation).
"""

from __future__ import annotations

import numpy as np

from zoo.errors import InputError


def _check(assignments, labels):
    a, y = np.asarray(assignments).ravel(), np.asarray(labels).ravel()
    if a.shape != y.shape or not len(a):
        raise InputError(f"need as many cluster assignments as labels (and at least one); got {a.shape} and {y.shape}")
    return a, y


def purity(assignments, labels) -> float:
    a, y = _check(assignments, labels)
    _, clusters = np.unique(a, return_inverse=True)
    _, classes = np.unique(y, return_inverse=True)
    counts = np.zeros((clusters.max() + 1, classes.max() + 1), np.int64)
    np.add.at(counts, (clusters, classes), 1)
    return float(counts.max(axis=1).sum() / len(a))


def nmi(assignments, labels) -> float:
    from sklearn.metrics import normalized_mutual_info_score

    a, y = _check(assignments, labels)
    return float(normalized_mutual_info_score(y, a))
