"""The toy of distances between distributions (Oquab thesis §5.5.2, App. D): fit a uniform
rectangle to 2-D data under maximum likelihood, KL, JS and the earth mover's distance.

- Data density (App. D.1): p(x, y) = (9/16) (1 - x^2)+ (1 - y^2)+, an ICA-like product whose
  axes are the coordinate axes, so the "right" rotation is theta* = 0 (mod pi/2).
- Density estimate: a Parzen window with the Epanechnikov kernel, "a finite circular
  parabola-shaped blob of density with radius 0.3": K(u) = 2 / (pi r^2) (1 - |u|^2 / r^2)+
  (a Gaussian kernel would make KL demand that the model cover the whole plane).
- Model q_{theta,a,b}: the uniform density on an a x b rectangle centred at 0, rotated by theta.
- Computations on a 128 x 128 grid over [-2, 2]^2; KL (Eq. 5.9) and JS (Eq. 5.10) by Simpson
  integration (scipy.integrate.simpson along each axis). Both densities are renormalised so that
  their Simpson integral on the grid is 1 (the rectangle's edges fall between grid points).
- EMD (Eq. 5.11 with p = 1, Euclidean ground metric) by the Sinkhorn algorithm (the thesis
  ported POT's Sinkhorn to Torch; this is a NumPy transcription, in the log domain where the
  kernel would underflow, checked against POT's exact `ot.emd2` and POT's `sinkhorn_log` in the
  tests), or exactly by POT's network simplex
  (`method="exact"`). A 128^2 x 128^2 cost matrix is 2 GB in float64, so the density EMD uses a
  coarser grid (default 32 x 32, the grid of the thesis's transport-plan figure 5-17) and only
  its cells with mass. The thesis states neither the sample count, nor epsilon, nor the grids of
  the search: the defaults here are ours.
- Fitting (App. D.2): grid search over (theta, a, b) for each criterion. Expected (qualitative,
  Fig. 5-20/5-21): ML and KL stretch the rectangle to cover all data, JS shrinks it, EMD gets
  theta closest to 0.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np

from zoo.errors import InputError

GRID_SIZE = 128
EXTENT = 2.0
PARZEN_RADIUS = 0.3
CRITERIA = ("ml", "kl", "js", "emd", "emd_samples")


def data_density(x, y) -> np.ndarray:
    """p(x, y) = (9/16) (1 - x^2)+ (1 - y^2)+ (App. D.1), normalised on R^2."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return 9.0 / 16.0 * np.clip(1 - x**2, 0, None) * np.clip(1 - y**2, 0, None)


def sample_data(n: int, seed: int = 0) -> np.ndarray:
    """n points of `data_density`: each coordinate independently from (3/4)(1 - t^2) on [-1, 1],
    drawn as U2 if |U3| is the largest of three uniforms |U1|, |U2|, |U3|, else U3 (Devroye 1986)."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(-1, 1, (3, n, 2))
    pick_u2 = (np.abs(u[2]) >= np.abs(u[1])) & (np.abs(u[2]) >= np.abs(u[0]))
    return np.where(pick_u2, u[1], u[2])


def grid(size: int = GRID_SIZE, extent: float = EXTENT):
    """(axis, X, Y): `size` points per axis over [-extent, extent], and the mesh (X[i, j] = axis[j])."""
    axis = np.linspace(-extent, extent, size)
    xx, yy = np.meshgrid(axis, axis)
    return axis, xx, yy


def parzen_epanechnikov(samples, xx, yy, radius: float = PARZEN_RADIUS, chunk: int = 256) -> np.ndarray:
    """The Parzen estimate with the 2-D Epanechnikov kernel of `radius` at the mesh points."""
    samples = np.asarray(samples, np.float64)
    points = np.stack([xx.ravel(), yy.ravel()], axis=1)
    out = np.zeros(len(points))
    norm = 2.0 / (math.pi * radius**2)
    for start in range(0, len(samples), chunk):
        s = samples[start:start + chunk]
        d2 = ((points[:, None, :] - s[None]) ** 2).sum(-1) / radius**2
        out += np.clip(1 - d2, 0, None).sum(axis=1)
    return (norm * out / len(samples)).reshape(xx.shape)


def rectangle_density(xx, yy, theta: float, a: float, b: float) -> np.ndarray:
    """q_{theta,a,b}: 1 / (a b) inside the a x b rectangle centred at 0 and rotated by theta, else 0."""
    if a <= 0 or b <= 0:
        raise InputError(f"the rectangle's sides must be positive; got a={a}, b={b}")
    c, s = math.cos(theta), math.sin(theta)
    u, v = c * xx + s * yy, -s * xx + c * yy  # coordinates in the rectangle's frame
    return ((np.abs(u) <= a / 2) & (np.abs(v) <= b / 2)) / (a * b)


def rectangle_samples(n: int, theta: float, a: float, b: float, seed: int = 0) -> np.ndarray:
    """n points of q_{theta,a,b}, from fixed uniforms (the same base points for every parameter)."""
    base = np.random.default_rng(seed).uniform(-0.5, 0.5, (n, 2)) * np.array([a, b])
    c, s = math.cos(theta), math.sin(theta)
    return base @ np.array([[c, s], [-s, c]])


def integrate(values, axis) -> float:
    """Simpson's rule over both axes of a mesh."""
    from scipy.integrate import simpson

    return float(simpson(simpson(values, x=axis, axis=1), x=axis))


def _normalised(density, axis):
    mass = integrate(density, axis)
    if mass <= 0:
        raise InputError("a density has no mass on the grid: widen the grid or the rectangle")
    return density / mass


def kl_divergence(p, q, axis) -> float:
    """KL(P || Q) = integral of P log(P / Q) (Eq. 5.9); inf where Q = 0 < P somewhere."""
    p, q = _normalised(p, axis), _normalised(q, axis)
    if np.any((p > 0) & (q <= 0)):
        return math.inf
    ratio = np.where(p > 0, p / np.where(q > 0, q, 1.0), 1.0)
    return integrate(np.where(p > 0, p * np.log(ratio), 0.0), axis)


def js_divergence(p, q, axis) -> float:
    """JS(P, Q) = (KL(P || M) + KL(Q || M)) / 2 with M = (P + Q) / 2 (Eq. 5.10); at most log 2."""
    p, q = _normalised(p, axis), _normalised(q, axis)
    m = (p + q) / 2
    return 0.5 * (kl_divergence(p, m, axis) + kl_divergence(q, m, axis))


def sinkhorn(a, b, cost, epsilon: float, max_iterations: int = 20000, tol: float = 1e-7, log_domain=None):
    """Entropy-regularised optimal transport (Cuturi 2013): (transport cost <P, C> of the
    regularised plan, plan P), iterating until the row marginals of P match `a` to `tol` (L1).

    Scaling form u = a / (K v), v = b / (K^T u) with K = exp(-C / eps) where K cannot underflow
    (max C / eps < 700, float64); otherwise the log domain (POT's `sinkhorn_log`):
    f = eps (log a - logsumexp((g - C) / eps)), g likewise, P = exp((f + g - C) / eps).
    `log_domain` True / False forces one form."""
    a, b, cost = (np.asarray(v, np.float64) for v in (a, b, cost))
    if cost.shape != (len(a), len(b)):
        raise InputError(f"the cost matrix must be ({len(a)}, {len(b)}); got {cost.shape}")
    if not (np.isclose(a.sum(), 1) and np.isclose(b.sum(), 1)) or (a < 0).any() or (b < 0).any():
        raise InputError("the two histograms must be non-negative and sum to 1")
    if epsilon <= 0:
        raise InputError(f"epsilon must be positive; got {epsilon}")
    if log_domain is None:
        log_domain = cost.max() / epsilon >= 700
    if not log_domain:
        plan = _sinkhorn_scaling(a, b, cost, epsilon, max_iterations, tol)
    else:
        plan = _sinkhorn_log(a, b, cost, epsilon, max_iterations, tol)
    return float((plan * cost).sum()), plan


def _sinkhorn_scaling(a, b, cost, epsilon, max_iterations, tol):
    kernel = np.exp(-cost / epsilon)
    u, v = np.ones(len(a)), np.ones(len(b))
    for it in range(max_iterations):
        u = a / (kernel @ v)
        v = b / (kernel.T @ u)
        if it % 10 == 9 and np.abs(u * (kernel @ v) - a).sum() < tol:
            break
    return u[:, None] * kernel * v[None, :]


def _sinkhorn_log(a, b, cost, epsilon, max_iterations, tol):
    from scipy.special import logsumexp

    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(a), np.log(b)
    f, g = np.zeros(len(a)), np.zeros(len(b))
    for it in range(max_iterations):
        f = epsilon * (log_a - logsumexp((g[None, :] - cost) / epsilon, axis=1))
        g = epsilon * (log_b - logsumexp((f[:, None] - cost) / epsilon, axis=0))
        if it % 10 == 9 and np.abs(np.exp((f[:, None] + g[None, :] - cost) / epsilon).sum(axis=1) - a).sum() < tol:
            break
    return np.exp((f[:, None] + g[None, :] - cost) / epsilon)


def emd(a_points, a_weights, b_points, b_weights, *, method: str = "sinkhorn", epsilon: float = 0.02) -> float:
    """W_1 between two weighted point sets with the Euclidean ground metric (Eq. 5.11, p = 1)."""
    from scipy.spatial.distance import cdist

    cost = cdist(np.asarray(a_points, np.float64), np.asarray(b_points, np.float64))
    a = np.asarray(a_weights, np.float64) / np.sum(a_weights)
    b = np.asarray(b_weights, np.float64) / np.sum(b_weights)
    if method == "sinkhorn":
        return sinkhorn(a, b, cost, epsilon)[0]
    if method == "exact":
        return float(_import_ot().emd2(a, b, cost))
    raise InputError(f"unknown EMD method {method!r}; use 'sinkhorn' or 'exact'")


def _import_ot():
    """POT, without its optional deep-learning backends (their imports take a minute on these CPUs)."""
    import os

    for name in ("TENSORFLOW", "JAX", "PYTORCH", "CUPY"):
        os.environ.setdefault(f"POT_BACKEND_DISABLE_{name}", "1")
    import ot

    return ot


def _grid_histogram(density, xx, yy):
    """The mesh points with mass and their weights (summing to 1)."""
    keep = density.ravel() > 0
    points = np.stack([xx.ravel(), yy.ravel()], axis=1)[keep]
    w = density.ravel()[keep]
    return points, w / w.sum()


@dataclasses.dataclass
class Toy:
    """One draw of the App. D experiment: the samples, the fine grid with the Parzen estimate for
    KL/JS, and the coarse grid with its Parzen estimate for the density EMD."""

    samples: np.ndarray
    grid_size: int = GRID_SIZE
    emd_grid_size: int = 32
    radius: float = PARZEN_RADIUS
    epsilon: float = 0.02
    emd_method: str = "sinkhorn"

    def __post_init__(self):
        self.axis, self.xx, self.yy = grid(self.grid_size)
        self.estimate = parzen_epanechnikov(self.samples, self.xx, self.yy, self.radius)
        _, cx, cy = grid(self.emd_grid_size)
        self.coarse = (cx, cy)
        self.coarse_histogram = _grid_histogram(parzen_epanechnikov(self.samples, cx, cy, self.radius), cx, cy)

    def loss(self, criterion: str, theta: float, a: float, b: float) -> float:
        """The criterion's value for q_{theta,a,b} (lower is better; ML gives minus the mean log-likelihood)."""
        if criterion == "ml":
            inside = rectangle_density(self.samples[:, 0], self.samples[:, 1], theta, a, b)
            return math.inf if np.any(inside == 0) else math.log(a * b)
        if criterion in ("kl", "js"):
            q = rectangle_density(self.xx, self.yy, theta, a, b)
            if not q.any():
                return math.inf
            f = kl_divergence if criterion == "kl" else js_divergence
            return f(self.estimate, q, self.axis)
        if criterion == "emd":
            q = rectangle_density(*self.coarse, theta, a, b)
            if not q.any():
                return math.inf
            points, weights = _grid_histogram(q, *self.coarse)
            return emd(*self.coarse_histogram, points, weights, method=self.emd_method, epsilon=self.epsilon)
        if criterion == "emd_samples":
            model = rectangle_samples(len(self.samples), theta, a, b)
            w = np.full(len(self.samples), 1.0 / len(self.samples))
            return emd(self.samples, w, model, w, method=self.emd_method, epsilon=self.epsilon)
        raise InputError(f"unknown criterion {criterion!r}; use one of {CRITERIA}")


@dataclasses.dataclass(frozen=True)
class Fit:
    criterion: str
    theta: float
    a: float
    b: float
    loss: float
    table: dict  # {(theta, a, b): loss} over the whole search grid


def fit_rectangle(toy: Toy, criterion: str, thetas, sides_a, sides_b) -> Fit:
    """Grid search over (theta, a, b) minimising `criterion` (App. D.2); ties go to the first
    candidate in (theta, a, b) order."""
    if criterion not in CRITERIA:
        raise InputError(f"unknown criterion {criterion!r}; use one of {CRITERIA}")
    table = {(float(t), float(a), float(b)): toy.loss(criterion, t, a, b)
             for t, a, b in itertools.product(thetas, sides_a, sides_b)}
    best = min(table, key=table.get)
    return Fit(criterion, *best, table[best], table)


def angle_from_axes(theta: float) -> float:
    """|theta| folded to [0, pi/4]: a rectangle looks the same after a quarter turn (with sides swapped)."""
    t = math.fmod(abs(theta), math.pi / 2)
    return min(t, math.pi / 2 - t)
