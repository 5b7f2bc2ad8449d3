"""The distances toy (Oquab thesis App. D): sampler, Parzen estimate, KL/JS by Simpson integration,
Sinkhorn against POT's exact EMD and POT's log-domain Sinkhorn, and the rectangle fits."""

import math
import os

import numpy as np
import pytest

from zoo.errors import InputError
from zoo.metrics import distances as D

for _name in ("TENSORFLOW", "JAX", "PYTORCH", "CUPY"):  # POT's optional backends: slow imports, unused
    os.environ.setdefault(f"POT_BACKEND_DISABLE_{_name}", "1")
ot = pytest.importorskip("ot")


def test_sampler_has_the_data_densitys_moments():
    x = D.sample_data(200_000, seed=1)
    assert np.abs(x).max() <= 1
    # coordinate density (3/4)(1 - t^2) on [-1, 1]: E t^2 = 1/5, E t^4 = 3/35, coordinates independent
    np.testing.assert_allclose((x**2).mean(axis=0), 0.2, atol=3e-3)
    np.testing.assert_allclose((x**4).mean(axis=0), 3 / 35, atol=2e-3)
    assert abs(np.corrcoef(x[:, 0] ** 2, x[:, 1] ** 2)[0, 1]) < 0.01


def test_data_density_and_parzen_estimate_integrate_to_one_and_agree_with_a_loop():
    axis, xx, yy = D.grid()
    assert xx.shape == (128, 128) and axis[0] == -2 and axis[-1] == 2
    assert D.integrate(D.data_density(xx, yy), axis) == pytest.approx(1, abs=1e-3)
    samples = D.sample_data(50, seed=2)
    est = D.parzen_epanechnikov(samples, xx, yy, radius=0.3)
    assert D.integrate(est, axis) == pytest.approx(1, abs=2e-3)
    for i, j in [(64, 64), (40, 70), (90, 30)]:  # the estimate at a point, written out
        px, py = xx[i, j], yy[i, j]
        want = sum(max(0.0, 1 - ((px - sx) ** 2 + (py - sy) ** 2) / 0.09) for sx, sy in samples)
        assert est[i, j] == pytest.approx(want * 2 / (math.pi * 0.09) / 50, rel=1e-10)
    assert np.all(est[np.hypot(xx, yy) > 1.3 * math.sqrt(2) + 1e-9] == 0)  # finite support, radius 0.3


def _gaussian(xx, yy, mu, s):
    return np.exp(-((xx - mu[0]) ** 2 + (yy - mu[1]) ** 2) / (2 * s**2)) / (2 * math.pi * s**2)


def test_kl_by_simpson_equals_the_closed_form_for_gaussians():
    axis, xx, yy = D.grid()
    p, q = _gaussian(xx, yy, (0.2, -0.1), 0.3), _gaussian(xx, yy, (-0.1, 0.1), 0.4)
    # KL(N(m1, s1^2 I_2) || N(m2, s2^2 I_2)) = 2 log(s2/s1) + (2 s1^2 + |m1 - m2|^2) / (2 s2^2) - 1
    exact = 2 * math.log(0.4 / 0.3) + (2 * 0.09 + 0.13) / (2 * 0.16) - 1
    assert D.kl_divergence(p, q, axis) == pytest.approx(exact, rel=1e-4)
    assert D.kl_divergence(p, p, axis) == pytest.approx(0, abs=1e-12)


def test_js_by_simpson_equals_a_fine_riemann_sum_and_is_bounded_by_log2():
    axis, xx, yy = D.grid()
    p, q = _gaussian(xx, yy, (0.3, 0.0), 0.25), _gaussian(xx, yy, (-0.2, 0.2), 0.35)
    fine = np.linspace(-2, 2, 1201)
    fx, fy = np.meshgrid(fine, fine)
    fp, fq = _gaussian(fx, fy, (0.3, 0.0), 0.25), _gaussian(fx, fy, (-0.2, 0.2), 0.35)
    m = (fp + fq) / 2
    want = 0.5 * np.sum(fp * np.log(fp / m) + fq * np.log(fq / m)) * (fine[1] - fine[0]) ** 2
    assert D.js_divergence(p, q, axis) == pytest.approx(want, rel=1e-3)
    disjoint = D.js_divergence(D.rectangle_density(xx, yy, 0, 1, 1) * (xx < -0.1),
                               D.rectangle_density(xx, yy, 0, 1, 1) * (xx > 0.1), axis)
    assert disjoint == pytest.approx(math.log(2), rel=1e-9)
    assert D.kl_divergence(D.data_density(xx, yy), D.rectangle_density(xx, yy, 0, 1, 1), axis) == math.inf


@pytest.mark.parametrize("n,m,seed", [(12, 15, 0), (30, 30, 1), (40, 25, 2)])
def test_sinkhorn_approaches_pots_exact_emd(n, m, seed):
    rng = np.random.default_rng(seed)
    xa, xb = rng.uniform(-1, 1, (n, 2)), rng.uniform(-1, 1, (m, 2)) + 0.3
    a, b = rng.uniform(0.5, 1.5, n), rng.uniform(0.5, 1.5, m)
    from scipy.spatial.distance import cdist

    exact = ot.emd2(a / a.sum(), b / b.sum(), cdist(xa, xb))
    for eps in (0.05, 0.02, 0.005):
        got = D.emd(xa, a, xb, b, epsilon=eps)
        # the regularised plan is feasible, so its cost is at least the optimum, and entropic OT
        # is within eps * (H(a) + H(b)) <= eps * log(n m) of it
        assert exact - 1e-6 <= got <= exact + eps * math.log(n * m), (eps, got, exact)
    assert abs(D.emd(xa, a, xb, b, epsilon=0.005) - exact) < 0.01 * exact
    assert D.emd(xa, a, xb, b, method="exact") == pytest.approx(exact, rel=1e-12)


def test_log_domain_sinkhorn_equals_pots_sinkhorn_log():
    rng = np.random.default_rng(3)
    a, b = rng.dirichlet(np.ones(20)), rng.dirichlet(np.ones(25))
    cost = rng.uniform(0, 2, (20, 25))
    eps = 0.05
    value, plan = D.sinkhorn(a, b, cost, eps, tol=1e-10, log_domain=True)
    want = ot.sinkhorn(a, b, cost, eps, method="sinkhorn_log", numItermax=20000, stopThr=1e-12)
    np.testing.assert_allclose(plan, want, atol=1e-7)
    np.testing.assert_allclose(plan.sum(axis=1), a, atol=1e-9)
    # the scaling form agrees with POT where it is the one that runs
    value, plan = D.sinkhorn(a, b, cost, eps, tol=1e-10, log_domain=False)
    np.testing.assert_allclose(plan, want, atol=1e-7)
    assert value == pytest.approx(float((want * cost).sum()), rel=1e-7)
    # a cost at which exp(-C / eps) underflows: the automatic choice is the log domain, which stays finite
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        assert np.isfinite(D.sinkhorn(a, b, 800 * eps * cost, eps, max_iterations=30)[1]).all()


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(InputError, match="sum to 1"):
        D.sinkhorn(np.array([0.5, 0.6]), np.array([1.0]), np.zeros((2, 1)), 0.1)
    with pytest.raises(InputError, match="unknown criterion"):
        D.fit_rectangle(D.Toy(D.sample_data(20), grid_size=16, emd_grid_size=8), "tv", [0], [1], [1])
    with pytest.raises(InputError, match="positive"):
        D.rectangle_density(np.zeros(1), np.zeros(1), 0, -1, 1)


@pytest.fixture(scope="module")
def toy():
    return D.Toy(D.sample_data(300, seed=0))


def test_ml_fits_the_smallest_rectangle_covering_the_samples(toy):
    sides = np.arange(1.5, 3.01, 0.25)
    fit = D.fit_rectangle(toy, "ml", [0, math.pi / 8, math.pi / 4], sides, sides)
    # the oracle: the samples' bounding box, rounded up to the search grid
    need = np.abs(toy.samples).max(axis=0) * 2
    assert (fit.theta, fit.a, fit.b) == (0.0, sides[sides >= need[0]][0], sides[sides >= need[1]][0])
    assert fit.loss == pytest.approx(math.log(fit.a * fit.b))


def test_kl_stretches_js_shrinks_and_emd_keeps_the_axes(toy):
    """Fig. 5-20 / 5-21 on a coarse search grid: KL covers the Parzen estimate's support (about
    [-1.3, 1.3]^2), JS drops mass and shrinks the rectangle, EMD finds theta = 0."""
    sides = np.arange(1.5, 3.01, 0.25)
    thetas = [0, math.pi / 8, math.pi / 4]
    kl = D.fit_rectangle(toy, "kl", thetas, sides, sides)
    js = D.fit_rectangle(toy, "js", thetas, sides, sides)
    assert kl.loss < math.inf and kl.a * kl.b >= 2.5**2 - 1e-9
    assert js.a * js.b < kl.a * kl.b and js.a * js.b < 2.0**2
    small = [1.5, 2.0, 2.5]
    for criterion in ("emd", "emd_samples"):
        fit = D.fit_rectangle(toy, criterion, thetas, small, small)
        assert D.angle_from_axes(fit.theta) == 0.0, fit
        assert fit.table[(fit.theta, fit.a, fit.b)] == min(fit.table.values())
