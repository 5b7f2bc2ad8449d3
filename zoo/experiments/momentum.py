"""Momentum and batch size (Long thesis §1.1.1-1.1.2, Fig. 1.1).

SGD with momentum, g_t = -eta * sum_{i<k} grad l(example kt+i; theta_{t-1}) + p g_{t-1}, unrolled:
example j (0 = the most recent) carries weight p^floor(j / k) in the current update. Dropping the
floor, momentum p with batch k matches momentum p' with batch k' when p^(1/k) = p'^(1/k'); the
figure compares (0.9, batch 20) with (0.9^(1/20) = 0.99475, batch 1). The thesis adds that the
learning rate "may need to be adjusted accordingly": `matched_learning_rate` is our choice of
adjustment (equal total weight per example, eta / (1 - p) summed over all later updates), not the thesis's.
"""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError


def example_weights(momentum, batch_size, n):
    """The weight p^floor(j / k) of each of the last `n` examples (j = 0 the most recent) in one update."""
    if not 0.0 <= momentum < 1.0 or batch_size < 1:
        raise ConfigError(f"momentum must be in [0, 1) and batch_size >= 1, got {momentum}, {batch_size}")
    return momentum ** (np.arange(n) // batch_size)


def equivalent_momentum(momentum, batch_size, new_batch_size=1):
    """p' with p^(1/k) = p'^(1/k'): the momentum at `new_batch_size` that weighs examples alike."""
    return momentum ** (new_batch_size / batch_size)


def matched_learning_rate(lr, momentum, new_momentum):
    """A learning rate for `new_momentum` giving each example the same total weight lr / (1 - p)."""
    return lr * (1.0 - new_momentum) / (1.0 - momentum)


def sgd_momentum(grad, theta, examples, *, lr, momentum, batch_size):
    """Run the thesis's update over `examples` in order; returns the parameter after every update.

    `grad(theta, example)` is one example's gradient (summed over the batch, as §1.1.1 writes it).
    """
    theta = np.asarray(theta, np.float64).copy()
    g = np.zeros_like(theta)
    path = []
    for start in range(0, len(examples) - batch_size + 1, batch_size):
        step = sum(grad(theta, e) for e in examples[start:start + batch_size])
        g = -lr * step + momentum * g
        theta = theta + g
        path.append(theta.copy())
    return np.asarray(path)


def toy_run(*, n_examples=4000, dim=5, lr=1e-3, seed=0, noise=0.1):
    """Least squares on a random linear problem, (0.9, batch 20) vs (0.9^(1/20), batch 1) on the same
    stream of examples; returns {name: {"final_loss", "distance_to_optimum", "path"}} and the optimum."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_examples, dim))
    w_true = rng.normal(size=dim)
    y = x @ w_true + noise * rng.normal(size=n_examples)
    examples = list(zip(x, y))
    optimum = np.linalg.lstsq(x, y, rcond=None)[0]

    def grad(theta, ex):
        xi, yi = ex
        return (xi @ theta - yi) * xi

    def loss(theta):
        return float(np.mean((x @ theta - y) ** 2) / 2)

    p1 = equivalent_momentum(0.9, 20)
    configs = {"momentum 0.9, batch 20": (lr, 0.9, 20),
               "momentum 0.9^(1/20), batch 1": (matched_learning_rate(lr, 0.9, p1), p1, 1)}
    out = {}
    for name, (rate, p, k) in configs.items():
        path = sgd_momentum(grad, np.zeros(dim), examples, lr=rate, momentum=p, batch_size=k)
        out[name] = {"final_loss": loss(path[-1]), "distance_to_optimum": float(np.linalg.norm(path[-1] - optimum)),
                     "path": path, "learning_rate": rate, "momentum": p, "batch_size": k}
    return out, optimum
