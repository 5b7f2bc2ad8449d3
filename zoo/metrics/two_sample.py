"""Two-sample tests for judging generative models (Oquab thesis §5.3, App. C; Lopez-Paz & Oquab 2017).

Classifier two-sample test (C2ST, §5.3.2, Eq. 5.3-5.4): pool S_P = {x_i} ~ P^n (label 0) and
S_Q = {y_i} ~ Q^n (label 1), split into train and test, fit a classifier f on the train part and
take its test accuracy

    t = (1 / n_te) * sum_{(z_i, l_i) in D_te} I[ I(f(z_i) > 1/2) = l_i ]

as the statistic. Under H0 (P = Q), n_te * t ~ Binomial(n_te, 1/2), approximately
N(1/2, 1/(4 n_te)); the p-value is P(T >= t | H0) under that normal law. Lower is better when
ranking GANs (0.5: indistinguishable).

- C2ST-KNN: K-nearest neighbours with K = floor(sqrt(n_te)), the thesis's rule of thumb (the
  authors' public Lua code uses sqrt(n_tr); with the default 50/50 split they coincide).
- C2ST-NN: the thesis's "two-layer fully-connected network with 20 hidden units and a ReLU
  non-linearity ... Adam ... 100 epochs", here scikit-learn's `MLPClassifier` (hidden (20,),
  relu, adam, 100 epochs with early stopping off; the public code runs 10,000 passes).
- Any other classifier: a scikit-learn-style estimator (fit / predict_proba or predict), cloned.

The split is stratified (half of each sample in the test part, by default), so the test labels
are balanced and, under H0, independent of the classifier's predictions: the mean of t is then
exactly 1/2 whatever the classifier. The thesis only says "shuffle and split".

Linear-time MMD (Gretton et al. 2012, JMLR, §6, Lemma 14), with an RBF kernel
k(a, b) = exp(-|a - b|^2 / (2 sigma^2)): with m2 = floor(n / 2) and the pairs
(x_{2i-1}, y_{2i-1}), (x_{2i}, y_{2i}),

    h_i = k(x_{2i-1}, x_{2i}) + k(y_{2i-1}, y_{2i}) - k(x_{2i-1}, y_{2i}) - k(x_{2i}, y_{2i-1})
    MMD_l^2 = (1 / m2) * sum_i h_i,

unbiased for MMD^2; under H0, sqrt(m2) * MMD_l^2 -> N(0, var(h)), so the p-value is
P(N(0, var(h) / m2) >= MMD_l^2) with var(h) estimated from the h_i. The thesis does not state
the bandwidth; the default is the median heuristic (median distance between pooled points).

`layer_features(model, layer, x)` gives the features of any Keras model at a named layer
(the thesis used a ResNet-34's 2048-d last features, §5.3.3), flattened to vectors.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np

from zoo.errors import InputError

CLASSIFIERS = ("knn", "nn")


@dataclasses.dataclass(frozen=True)
class TestResult:
    """A test's statistic, its p-value under H0 and the size of the sample it was computed on."""

    name: str
    statistic: float
    p_value: float
    n: int  # n_te for a C2ST, the number of h terms (m2) for the linear-time MMD

    def rejects(self, alpha: float = 0.05) -> bool:
        """Whether H0 (P = Q) is rejected at level `alpha`."""
        return self.p_value < alpha


def _samples(p, q):
    p = np.asarray(p, np.float64)
    q = np.asarray(q, np.float64)
    p = p.reshape(len(p), -1) if p.ndim > 1 else p[:, None]
    q = q.reshape(len(q), -1) if q.ndim > 1 else q[:, None]
    if p.shape[1] != q.shape[1]:
        raise InputError(f"the two samples must have the same dimension; got {p.shape[1]} and {q.shape[1]}")
    if len(p) != len(q):
        raise InputError(f"the tests take samples of equal size (n = m, Oquab thesis Eq. 5.3); got {len(p)} "
                         f"and {len(q)}: subsample the larger one")
    if len(p) < 4:
        raise InputError(f"a two-sample test needs at least 4 points per sample; got {len(p)}")
    return p, q


def c2st_null_p_value(statistic: float, n_test: int) -> float:
    """P(T >= statistic) for T ~ N(1/2, 1/(4 n_test)), the C2ST's null law (§5.3.2)."""
    from scipy.stats import norm

    return float(norm.sf(statistic, loc=0.5, scale=math.sqrt(1.0 / (4 * n_test))))


def default_classifier(name: str, n_test: int, seed: int = 0):
    """The thesis's C2ST classifiers: "knn" (K = floor(sqrt(n_te))) or "nn" (20 ReLU units, Adam, 100 epochs)."""
    if name == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        return KNeighborsClassifier(n_neighbors=max(1, int(math.isqrt(n_test))))
    if name == "nn":
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(hidden_layer_sizes=(20,), activation="relu", solver="adam", max_iter=100,
                             n_iter_no_change=100, tol=0.0, random_state=seed)
    raise InputError(f"unknown C2ST classifier {name!r}; use one of {CLASSIFIERS} or pass a scikit-learn estimator")


def c2st(p, q, classifier="knn", *, test_fraction: float = 0.5, seed: int = 0) -> TestResult:
    """The classifier two-sample test of samples `p` (n, ...) and `q` (n, ...) (Oquab thesis §5.3.2).

    `classifier` is "knn", "nn" or a scikit-learn-style estimator (cloned before fitting).
    Returns the test accuracy t (Eq. 5.4) and its p-value under N(1/2, 1/(4 n_te)).
    """
    p, q = _samples(p, q)
    if not 0 < test_fraction < 1:
        raise InputError(f"test_fraction must be in (0, 1); got {test_fraction}")
    n = len(p)
    n_te_each = int(round(test_fraction * n))
    if not 1 <= n_te_each < n:
        raise InputError(f"test_fraction {test_fraction} leaves no train or no test points of {n} per sample")
    rng = np.random.default_rng(seed)
    ip, iq = rng.permutation(n), rng.permutation(n)
    x_tr = np.concatenate([p[ip[n_te_each:]], q[iq[n_te_each:]]])
    y_tr = np.repeat([0, 1], n - n_te_each)
    x_te = np.concatenate([p[ip[:n_te_each]], q[iq[:n_te_each]]])
    y_te = np.repeat([0, 1], n_te_each)
    shuffle = rng.permutation(len(x_tr))
    x_tr, y_tr = x_tr[shuffle], y_tr[shuffle]
    n_test = len(y_te)
    if isinstance(classifier, str):
        name, model = f"c2st_{classifier}", default_classifier(classifier, n_test, seed)
    else:
        from sklearn.base import clone

        name, model = f"c2st_{type(classifier).__name__}", clone(classifier)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLPClassifier's ConvergenceWarning: the thesis fixes 100 epochs
        model.fit(x_tr, y_tr)
    if hasattr(model, "predict_proba"):
        predicted = (model.predict_proba(x_te)[:, list(model.classes_).index(1)] > 0.5).astype(int)
    else:
        predicted = np.asarray(model.predict(x_te)).astype(int)
    t = float(np.mean(predicted == y_te))
    return TestResult(name, t, c2st_null_p_value(t, n_test), n_test)


def median_bandwidth(p, q, max_points: int = 1000, seed: int = 0) -> float:
    """The median heuristic: the median distance between distinct points of the pooled sample
    (at most `max_points` of them, drawn at random, so it stays cheap)."""
    from scipy.spatial.distance import pdist

    p, q = _samples(p, q)
    pooled = np.concatenate([p, q])
    if len(pooled) > max_points:
        pooled = pooled[np.random.default_rng(seed).choice(len(pooled), max_points, replace=False)]
    d = pdist(pooled)
    d = d[d > 0]
    if d.size == 0:
        raise InputError("every point of the two samples is the same: no bandwidth can be chosen")
    return float(np.median(d))


def rbf_kernel_rows(a, b, bandwidth: float) -> np.ndarray:
    """k(a_i, b_i) = exp(-|a_i - b_i|^2 / (2 bandwidth^2)) row by row."""
    return np.exp(-np.sum((a - b) ** 2, axis=1) / (2.0 * bandwidth**2))


def linear_mmd_terms(p, q, bandwidth: float) -> np.ndarray:
    """The m2 terms h_i of Gretton et al.'s linear-time MMD^2 estimator (Lemma 14)."""
    m2 = len(p) // 2
    x1, x2 = p[0:2 * m2:2], p[1:2 * m2:2]
    y1, y2 = q[0:2 * m2:2], q[1:2 * m2:2]
    k = lambda a, b: rbf_kernel_rows(a, b, bandwidth)  # noqa: E731
    return k(x1, x2) + k(y1, y2) - k(x1, y2) - k(x2, y1)


def linear_mmd(p, q, bandwidth="median") -> TestResult:
    """The linear-time MMD^2 of samples `p` and `q` with an RBF kernel, and its p-value under
    the normal null N(0, var(h) / m2) (Gretton et al. 2012, §6; Oquab thesis §5.3.3).

    `bandwidth` is sigma of the kernel, or "median" for the median heuristic. The point order
    defines the pairs: pass samples in random order.
    """
    from scipy.stats import norm

    p, q = _samples(p, q)
    if bandwidth == "median":
        bandwidth = median_bandwidth(p, q)
    if not (isinstance(bandwidth, (int, float)) and bandwidth > 0):
        raise InputError(f"bandwidth must be a positive number or 'median'; got {bandwidth!r}")
    h = linear_mmd_terms(p, q, float(bandwidth))
    m2 = len(h)
    statistic = float(np.mean(h))
    std = math.sqrt(float(np.var(h, ddof=1)) / m2) if m2 > 1 else 0.0
    if std == 0.0:
        p_value = 0.0 if statistic > 0 else 1.0
    else:
        p_value = float(norm.sf(statistic / std))
    return TestResult("linear_mmd", statistic, p_value, m2)


def layer_features(model, layer: str, x, batch_size: int = 64) -> np.ndarray:
    """The outputs of `model`'s layer named `layer` on inputs `x`, one flattened vector per
    example: the feature space of a feature-space two-sample test (§5.3.3).

    `model` is any Keras model (e.g. `zoo.get(name)`), `x` what the model takes.
    """
    import keras

    names = [lay.name for lay in model.layers]
    if layer not in names:
        raise InputError(f"model {model.name!r} has no layer {layer!r}; its layers are: {', '.join(names)}")
    extractor = keras.Model(model.inputs, model.get_layer(layer).output, name=f"{model.name}_{layer}_features")
    out = extractor.predict(x, batch_size=batch_size, verbose=0)
    if isinstance(out, (list, tuple, dict)):
        raise InputError(f"layer {layer!r} has several outputs; name a layer with one output")
    out = np.asarray(out)
    return out.reshape(len(out), -1)
