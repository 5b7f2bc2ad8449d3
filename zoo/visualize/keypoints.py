"""Keypoint classification and prediction with convnet features (Long thesis §2.3-2.4, Tables 2.3, 2.4).

Classification (§2.3): the feature of a keypoint is the activation column of conv1..conv5 whose
receptive-field centre is closest to it (or SIFT at radii 10-160); one-vs-all linear SVMs label
which keypoint it is. The thesis's C = 1e-6 was chosen by 5-fold cross-validation for its feature
scale; here C is chosen the same way (scikit-learn) for whatever features are given.

Prediction (§2.4): with the ground-truth box rescaled to 500x500, conv5's 3x3 neighbouring cells
are concatenated (256 x 9 = 2304-d, rf 195); one linear SVM per keypoint with hard-negative mining
(positives: the 10 features closest to the keypoint; negatives: features whose fields do not
contain it) scores every location; a spherical Gaussian prior (std 22 px) centred on the
keypoint of the training-set nearest neighbour (cosine similarity of pool5) is fused as
f = s^(1 - eta) p^eta, eta = 0.1, and the best-scoring location is the prediction.
"""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError

SIFT_RADII = (10, 20, 40, 80, 160)  # Table 2.3
BOX_SIZE = 500  # §2.4: each box rescaled to 500x500
PRIOR_STD = 22.0  # pixels, §2.4
ETA = 0.1  # §2.4, by cross-validation
POSITIVES = 10  # §2.4: the 10 closest features to each keypoint are positives
CV_FOLDS = 5


def nearest_units(rf, grid_shape, points):
    """(N, 2) grid indices (i, j) of the units whose field centres are closest to pixel `points` (y, x)."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if rf.offset is None:
        raise ConfigError(f"{rf.name}'s field offset is unknown: compute the field with the input's shape")
    idx = np.round((pts - np.asarray(rf.offset)) / np.asarray(rf.stride, np.float64)).astype(int)
    return np.clip(idx, 0, np.asarray(grid_shape[:2]) - 1)


def column_features(features, rf, points):
    """(N, D): the activation column of the (h, w, D) map nearest each point (§2.3)."""
    features = np.asarray(features)
    i, j = nearest_units(rf, features.shape, points).T
    return features[i, j]


def classify_keypoints(train_x, train_y, test_x, test_y, *, Cs=(1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0), folds=CV_FOLDS,
                       seed=0):
    """One-vs-all linear SVMs, C by `folds`-fold CV on the training set; returns
    {"accuracy": % on the test set, "C": the chosen C, "cv_scores": mean CV accuracy per C}."""
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.svm import LinearSVC

    train_x, test_x = np.asarray(train_x, np.float64), np.asarray(test_x, np.float64)
    if len(np.unique(train_y)) < 2:
        raise ConfigError("keypoint classification needs at least two keypoint types in the training set")
    # LinearSVC is one-vs-rest for several classes (the thesis's one-vs-all)
    search = GridSearchCV(LinearSVC(loss="hinge", dual=True, max_iter=20000, random_state=seed), {"C": list(Cs)},
                          cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
    search.fit(train_x, train_y)
    accuracy = 100.0 * float(np.mean(search.predict(test_x) == np.asarray(test_y)))
    return {"accuracy": accuracy, "C": float(search.best_params_["C"]),
            "cv_scores": dict(zip(map(float, Cs), search.cv_results_["mean_test_score"].tolist()))}


def concat_neighbours(features, size=3):
    """(h, w, size*size*D): each cell's size x size neighbourhood concatenated row-major, zeros beyond
    the border (§2.4: conv5 3x3 -> 2304-d)."""
    f = np.asarray(features)
    h, w, d = f.shape
    r = size // 2
    padded = np.zeros((h + 2 * r, w + 2 * r, d), f.dtype)
    padded[r:r + h, r:r + w] = f
    return np.concatenate([padded[dy:dy + h, dx:dx + w] for dy in range(size) for dx in range(size)], -1)


def _centres(rf, grid_shape):
    ys = rf.offset[0] + rf.stride[0] * np.arange(grid_shape[0])
    xs = rf.offset[1] + rf.stride[1] * np.arange(grid_shape[1])
    return np.stack(np.meshgrid(ys, xs, indexing="ij"), -1).astype(np.float64)


def training_examples(features, rf, keypoint, *, positives=POSITIVES, field=None):
    """(positive indices, negative indices) into the flattened (h*w) grid for one keypoint (§2.4):
    the `positives` cells with centres closest to it; negatives the cells whose field (of side
    `field`, default rf.size, the 3x3 concatenation's field when given) does not contain it."""
    h, w = np.shape(features)[:2]
    centres = _centres(rf, (h, w)).reshape(-1, 2)
    dist = np.linalg.norm(centres - np.asarray(keypoint, np.float64), axis=1)
    pos = np.argsort(dist, kind="stable")[:positives]
    half = np.asarray(field or rf.size, np.float64) / 2.0
    outside = np.any(np.abs(centres - np.asarray(keypoint, np.float64)) > half, axis=1)
    return pos, np.setdiff1d(np.flatnonzero(outside), pos)


def gaussian_prior(rf, grid_shape, mean, std=PRIOR_STD):
    """(h, w) spherical Gaussian over the cells' centres (peak 1; the constant does not move the argmax)."""
    d2 = ((_centres(rf, grid_shape) - np.asarray(mean, np.float64)) ** 2).sum(-1)
    return np.exp(-d2 / (2.0 * std * std))


def prior_means(query_pool5, train_pool5, train_keypoints):
    """(Q, K, 2): each query's keypoints taken from its nearest training example by pool5 cosine similarity."""
    from zoo.visualize.reconstruct import cosine_neighbours

    q = np.asarray(query_pool5).reshape(len(query_pool5), -1)
    t = np.asarray(train_pool5).reshape(len(train_pool5), -1)
    nn = cosine_neighbours(q, t, 1)[:, 0]
    return np.asarray(train_keypoints, np.float64)[nn]


def fuse(scores, prior, eta=ETA):
    """f = s^(1 - eta) p^eta (§2.4). The thesis does not say how SVM margins become non-negative: scores
    already in [0, 1] are used as they are, others (margins) go through a logistic first (our choice)."""
    s = np.asarray(scores, np.float64)
    if s.min() < 0 or s.max() > 1:
        s = 1.0 / (1.0 + np.exp(-s))
    return s ** (1.0 - eta) * np.asarray(prior, np.float64) ** eta


def predict_location(scores, rf, prior_mean=None, *, std=PRIOR_STD, eta=ETA):
    """(y, x) pixel centre of the best cell of an (h, w) score map, fused with the prior when given."""
    scores = np.asarray(scores, np.float64)
    fused = scores if prior_mean is None else fuse(scores, gaussian_prior(rf, scores.shape, prior_mean, std), eta)
    i, j = np.unravel_index(np.argmax(fused), fused.shape)
    return _centres(rf, scores.shape)[i, j]


def train_keypoint_svm(feature_maps, rf, keypoints, *, C=1.0, rounds=2, field=None, seed=0, initial_negatives=1000):
    """One keypoint's linear SVM over several images' feature maps (each (h, w, D)) with hard-negative
    mining (zoo.ops.svm); `keypoints` (N, 2), NaN where the keypoint is absent. Returns (w, b)."""
    from zoo.ops.svm import mined_linear_svm

    xs, labels = [], []
    for f, k in zip(feature_maps, np.asarray(keypoints, np.float64)):
        if not np.isfinite(k).all():
            continue
        pos, neg = training_examples(f, rf, k, field=field)
        flat = np.asarray(f).reshape(-1, np.shape(f)[-1])
        xs += [flat[pos], flat[neg]]
        labels += [np.ones(len(pos), bool), np.zeros(len(neg), bool)]
    if not xs:
        raise ConfigError("no training image shows this keypoint")
    x, y = np.concatenate(xs).astype(np.float64), np.concatenate(labels)
    w, b, _ = mined_linear_svm(x, y, np.random.default_rng(seed), C=C, rounds=rounds,
                               initial_negatives=initial_negatives, seed=seed)
    return w, b


def score_map(features, w, b):
    """(h, w) SVM margins of every cell."""
    return np.asarray(features, np.float64) @ w + b
