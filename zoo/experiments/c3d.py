"""C3D features' compactness (Tran et al. 2015 §3.3, Fig. 5; the talk: "Obtains 52.8% using only 10-dim
(random chance is less than 0.96%)" on UCF101): video descriptors (fc6 averaged over a video's clips and
L2-normalised, as the c3d_fc6_svm card and the staged step make them) projected by PCA to a few dimensions,
then a linear SVM, accuracy against the number of dimensions.

PCA is fitted on the training descriptors only (scikit-learn's PCA, centred, no whitening); the SVM is
scikit-learn's LinearSVC with the given C on the projected descriptors (Tran et al. do not state C here).

    features = {"train": (X, y), "test": (X, y)}   # e.g. from a c3d_fc6_svm run's read_features
    compactness(*features["train"], *features["test"], dims=(10, 50, 100, 300, 500))
"""

from __future__ import annotations

import numpy as np

from zoo.errors import InputError

PAPER_DIMS = (10, 50, 100, 200, 300, 400, 500)


def compactness(train_x, train_y, test_x, test_y, dims=PAPER_DIMS, C: float = 1.0, seed: int = 0) -> dict:
    """{dims: test accuracy of a linear SVM on the descriptors' first `dims` principal components}."""
    from sklearn.decomposition import PCA
    from sklearn.svm import LinearSVC

    train_x, test_x = np.asarray(train_x, np.float64), np.asarray(test_x, np.float64)
    if train_x.ndim != 2 or test_x.ndim != 2 or train_x.shape[1] != test_x.shape[1]:
        raise InputError(f"need (n, d) train and test descriptors of one width; got {train_x.shape}, {test_x.shape}")
    largest = min(train_x.shape)
    too_big = [d for d in dims if not 1 <= d <= largest]
    if too_big:
        raise InputError(f"dims {too_big} are outside 1..{largest} (min of the training set's size and width)")
    pca = PCA(n_components=max(dims), random_state=seed).fit(train_x)
    train_p, test_p = pca.transform(train_x), pca.transform(test_x)
    out = {}
    for d in dims:
        svm = LinearSVC(C=C, max_iter=20000, random_state=seed).fit(train_p[:, :d], train_y)
        out[int(d)] = float(np.mean(svm.predict(test_p[:, :d]) == np.asarray(test_y)))
    return out
