"""`cause_effect_synthetic`: generated cause-effect pairs with a known direction, a stand-in for the
Tübingen pairs in tests and demonstrations (Oquab thesis §5.4.2 shows additive, multiplicative and
heteroscedastic noise models in Fig. 5-8; the generator's details here are OURS).

A pair: the cause x from a mixture of 1-3 Gaussians (random means, widths and weights), a smooth
random mechanism f (a cubic spline through 5 random knots over x's range), and the effect

- additive:        y = f(x) + 0.2 * n
- multiplicative:  y = f(x) * exp(0.2 * n)      (f shifted to be positive first)
- heteroscedastic: y = f(x) + s(x) * n,   s a second random spline in [0.05, 0.4]

with n ~ N(0, 1) independent of x; x and f(x) are standardised before the noise is added. Pair i of
a kind is a function of (seed, kind, i), and its cause is column a (direction +1).
"""

from __future__ import annotations

import numpy as np

from zoo.data.generative.tuebingen import CausePair, pairs_dataset
from zoo.data.registry import DatasetInfo, register_dataset
from zoo.errors import ConfigError, unknown_name

KINDS = ("additive", "multiplicative", "heteroscedastic")


def _standardise(v):
    return (v - v.mean()) / (v.std() + 1e-12)


def _random_spline(rng, x):
    from scipy.interpolate import CubicSpline

    knots = np.linspace(x.min() - 1e-6, x.max() + 1e-6, 5)
    return CubicSpline(knots, rng.standard_normal(5))(x)


def synthetic_pair(kind: str, index: int = 0, num_points: int = 500, seed: int = 0) -> CausePair:
    """Pair `index` of noise model `kind` (module docstring), a -> b."""
    if kind not in KINDS:
        raise unknown_name("kind", kind, KINDS)
    if num_points < 10:
        raise ConfigError(f"num_points must be at least 10, got {num_points}")
    rng = np.random.default_rng([seed, KINDS.index(kind), index])
    k = rng.integers(1, 4)
    component = rng.choice(k, num_points, p=rng.dirichlet(np.ones(k)))
    x = _standardise(rng.normal(rng.normal(0, 2, k)[component], rng.uniform(0.3, 1.0, k)[component]))
    fx = _standardise(_random_spline(rng, x))
    n = rng.standard_normal(num_points)
    if kind == "additive":
        y = fx + 0.2 * n
    elif kind == "multiplicative":
        y = (fx - fx.min() + 0.5) * np.exp(0.2 * n)
    else:
        s = _random_spline(rng, x)
        y = fx + (0.05 + 0.35 * (s - s.min()) / (np.ptp(s) + 1e-12)) * n
    return CausePair(f"{kind}{index}", x, y, +1)


def load(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, num_pairs=20,
         num_points=500):
    """tf.data of `num_pairs` pairs of noise model `split` (one of KINDS), as `tuebingen_pairs` gives them."""
    if split not in KINDS:
        raise unknown_name("split", split, KINDS)
    return pairs_dataset(lambda: (synthetic_pair(split, i, num_points, seed) for i in range(num_pairs)))


register_dataset("cause_effect_synthetic", DatasetInfo(
    name="cause_effect_synthetic", task="cause_effect",
    summary="generated cause-effect pairs (additive / multiplicative / heteroscedastic noise), a -> b",
    splits={kind: None for kind in KINDS},
    features={"pair_id": "string", "a": "float64 (n,) the cause", "b": "float64 (n,) the effect",
              "direction": "int32 () always +1", "weight": "float32 () 1.0"},
    is_standin=True, stands_in_for="tuebingen_pairs", options={"num_pairs": 20, "num_points": 500},
), load)
