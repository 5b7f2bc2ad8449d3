"""C2ST and linear-time MMD (Oquab thesis §5.3): calibration under H0, power under shifts, and the
MMD against a loop-by-loop NumPy transcription of Gretton et al. (2012) Lemma 14 and against the
closed-form population MMD of two Gaussians."""

import math

import numpy as np
import pytest
from scipy.stats import binom

from zoo.errors import InputError
from zoo.metrics import two_sample

ALPHA = 0.05


def _rate_bounds(draws, alpha=ALPHA, coverage=0.999):
    """The two-sided `coverage` interval of the rejection count of a level-alpha test over `draws`
    independent draws (Binomial(draws, alpha)), as rates: a calibrated test falls outside it with
    probability 1 - coverage."""
    lo, hi = binom.ppf((1 - coverage) / 2, draws, alpha), binom.ppf(1 - (1 - coverage) / 2, draws, alpha)
    return lo / draws, hi / draws


def _gaussians(rng, n, d, shift=0.0):
    p = rng.standard_normal((n, d))
    q = rng.standard_normal((n, d))
    q[:, 0] += shift
    return p, q


def test_c2st_knn_rejects_about_alpha_under_h0():
    # n_te = 100: the normal null rejects when t >= 0.59, P(Bin(100, 1/2) >= 59) = 0.044.
    draws, rng = 400, np.random.default_rng(0)
    stats, rejections = [], 0
    for i in range(draws):
        r = two_sample.c2st(*_gaussians(rng, 100, 5), "knn", seed=i)
        assert r.n == 100
        stats.append(r.statistic)
        rejections += r.rejects(ALPHA)
    lo, hi = _rate_bounds(draws)
    assert lo <= rejections / draws <= hi, (rejections, lo, hi)
    # the null law itself: mean 1/2 (exact with the balanced split) and variance <= 1/(4 n_te)
    se = math.sqrt(0.25 / 100 / draws)
    assert abs(np.mean(stats) - 0.5) < 4 * se
    assert 0.5 * 0.0025 < np.var(stats) < 1.5 * 0.0025


def test_c2st_nn_rejects_about_alpha_under_h0():
    draws, rng = 120, np.random.default_rng(1)
    rejections = sum(two_sample.c2st(*_gaussians(rng, 60, 3), "nn", seed=i).rejects(ALPHA) for i in range(draws))
    lo, hi = _rate_bounds(draws)
    assert lo <= rejections / draws <= hi, (rejections, lo, hi)


def test_linear_mmd_rejects_about_alpha_under_h0():
    draws, rng = 1000, np.random.default_rng(2)
    rejections = sum(two_sample.linear_mmd(*_gaussians(rng, 400, 4), bandwidth=2.0).rejects(ALPHA)
                     for _ in range(draws))
    lo, hi = _rate_bounds(draws)
    assert lo <= rejections / draws <= hi, (rejections, lo, hi)


@pytest.mark.parametrize("test", ["knn", "nn", "mmd"])
def test_power_grows_with_the_shift(test):
    # the linear-time MMD uses n/2 terms only: it needs more points for the same power
    shifts, draws, n = (0.0, 0.3, 0.6, 1.2), 20 if test == "nn" else 30, 400 if test == "mmd" else 100
    powers, statistics = [], []
    for shift in shifts:
        rng = np.random.default_rng(3)
        results = []
        for i in range(draws):
            p, q = _gaussians(rng, n, 3, shift)
            results.append(two_sample.linear_mmd(p, q) if test == "mmd" else two_sample.c2st(p, q, test, seed=i))
        powers.append(np.mean([r.rejects(ALPHA) for r in results]))
        statistics.append(np.mean([r.statistic for r in results]))
    assert all(a < b for a, b in zip(statistics, statistics[1:])), statistics
    assert powers[0] <= 0.2 and powers[-1] >= 0.9, powers
    assert all(a <= b + 0.1 for a, b in zip(powers, powers[1:])), powers


def _mmd_transcription(x, y, sigma):
    """Gretton et al. (2012) Lemma 14, written out term by term."""
    k = lambda a, b: math.exp(-sum((ai - bi) ** 2 for ai, bi in zip(a, b)) / (2 * sigma**2))  # noqa: E731
    m2 = len(x) // 2
    hs = []
    for i in range(m2):
        x1, y1, x2, y2 = x[2 * i], y[2 * i], x[2 * i + 1], y[2 * i + 1]
        hs.append(k(x1, x2) + k(y1, y2) - k(x1, y2) - k(x2, y1))
    mean = sum(hs) / m2
    var = sum((h - mean) ** 2 for h in hs) / (m2 - 1)
    return mean, var / m2


def test_linear_mmd_equals_a_numpy_transcription():
    rng = np.random.default_rng(4)
    p, q = _gaussians(rng, 51, 3, shift=0.7)  # odd n: the last point is unused
    mean, var = _mmd_transcription(p.tolist(), q.tolist(), 1.3)
    r = two_sample.linear_mmd(p, q, bandwidth=1.3)
    assert r.n == 25
    np.testing.assert_allclose(r.statistic, mean, rtol=1e-12)
    from scipy.stats import norm

    np.testing.assert_allclose(r.p_value, norm.sf(mean / math.sqrt(var)), rtol=1e-10)


def test_linear_mmd_estimates_the_population_mmd_of_two_gaussians():
    # N(0, I_d) vs N(mu, I_d) with an RBF kernel of width s: MMD^2 = 2 (s^2/(s^2+2))^(d/2) (1 - exp(-|mu|^2 / (2 (s^2+2))))
    d, s, shift, n = 3, 1.5, 1.0, 200_000
    exact = 2 * (s**2 / (s**2 + 2)) ** (d / 2) * (1 - math.exp(-shift**2 / (2 * (s**2 + 2))))
    p, q = _gaussians(np.random.default_rng(5), n, d, shift)
    r = two_sample.linear_mmd(p, q, bandwidth=s)
    h = two_sample.linear_mmd_terms(p, q, s)
    assert abs(r.statistic - exact) < 4 * h.std() / math.sqrt(len(h)), (r.statistic, exact)


def test_c2st_p_value_is_the_normal_null_tail():
    assert two_sample.c2st_null_p_value(0.5, 100) == pytest.approx(0.5)
    # t = 0.6 with n_te = 100 is two standard deviations (0.05) above 1/2
    assert two_sample.c2st_null_p_value(0.6, 100) == pytest.approx(0.0227501, rel=1e-5)


def test_c2st_with_any_classifier_and_knn_k():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(6)
    p, q = _gaussians(rng, 200, 2, shift=3.0)
    r = two_sample.c2st(p, q, LogisticRegression())
    assert r.name == "c2st_LogisticRegression" and r.statistic > 0.9 and r.rejects()
    assert two_sample.default_classifier("knn", 200).n_neighbors == 14  # floor(sqrt(200))


def test_bad_inputs_raise_clear_errors():
    rng = np.random.default_rng(7)
    with pytest.raises(InputError, match="equal size"):
        two_sample.c2st(rng.standard_normal((10, 2)), rng.standard_normal((12, 2)))
    with pytest.raises(InputError, match="same dimension"):
        two_sample.linear_mmd(rng.standard_normal((10, 2)), rng.standard_normal((10, 3)))
    with pytest.raises(InputError, match="unknown C2ST classifier"):
        two_sample.c2st(rng.standard_normal((10, 2)), rng.standard_normal((10, 2)), "svm")


def test_layer_features_from_a_named_layer():
    import keras

    x = keras.Input((6,))
    h = keras.layers.Dense(5, activation="relu", name="hidden")(x)
    model = keras.Model(x, keras.layers.Dense(2, name="out")(h))
    data = np.random.default_rng(8).standard_normal((7, 6)).astype("float32")
    feats = two_sample.layer_features(model, "hidden", data)
    w, b = model.get_layer("hidden").get_weights()
    np.testing.assert_allclose(feats, np.maximum(data @ w + b, 0), rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError, match="no layer 'fc9'"):
        two_sample.layer_features(model, "fc9", data)
