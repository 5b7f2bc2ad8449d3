"""The flow MRF of Long thesis §2.2 and its solver: loopy min-sum belief propagation with the
squared-distance transform (Felzenszwalb & Huttenlocher 2004, 2006).

Energy over a 4-connected grid of source positions p, each labelled with a displacement w(p):

    E(w) = sum_p ||f_s(p) - f_t(p + w(p))||_2  +  beta * sum_(p,q) ||w(p) - w(q)||_2^2

(L2 data term, *squared* L2 smoothness, beta = 3e-3 in the thesis for conv4 and SIFT alike).
Labels are the displacements (dy, dx) in [-ry, ry] x [-rx, rx] on the feature grid, so the
pairwise term is separable and each message is two 1-D squared-distance transforms
(O(labels) instead of O(labels^2), FH06 §2.1). Pure NumPy.
"""

from __future__ import annotations

import itertools

import numpy as np

from zoo.errors import ConfigError

BETA = 3e-3  # Long §2.2, set by validation for conv4 and SIFT (features of a similar scale)
OUTSIDE = 1e6  # data cost of a displacement that leaves the target grid


def distance_transform_1d(f, beta=1.0):
    """d(p) = min_q f(q) + beta (p - q)^2 along the last axis, by the lower envelope of parabolas
    (Felzenszwalb & Huttenlocher 2004, Algorithm DT(f)), vectorised over the leading axes."""
    f = np.asarray(f, np.float64)
    if beta <= 0:
        raise ConfigError(f"the distance transform needs beta > 0, got {beta}")
    shape, n = f.shape, f.shape[-1]
    f = f.reshape(-1, n)
    rows = np.arange(len(f))
    v = np.zeros((len(f), n), np.int64)  # parabola locations of the envelope
    z = np.full((len(f), n + 1), np.inf)  # boundaries between them
    z[:, 0] = -np.inf
    k = np.zeros(len(f), np.int64)
    for q in range(1, n):
        fq = f[:, q] + beta * q * q
        active = np.ones(len(f), bool)
        while True:
            vk = v[rows, k]
            s = (fq - (f[rows, vk] + beta * vk * vk)) / (2.0 * beta * (q - vk))
            pop = active & (s <= z[rows, k])
            if not pop.any():
                break
            k = np.where(pop, k - 1, k)
            active = pop  # rows that popped test again against the new top
        k = k + 1
        v[rows, k] = q
        z[rows, k] = s
        z[rows, k + 1] = np.inf
    d = np.empty_like(f)
    j = np.zeros(len(f), np.int64)
    for p in range(n):
        while True:
            step = z[rows, j + 1] < p
            if not step.any():
                break
            j = j + step
        vj = v[rows, j]
        d[:, p] = beta * (p - vj) ** 2 + f[rows, vj]
    return d.reshape(shape)


def distance_transform_2d(h, beta=1.0):
    """min_l' h(l') + beta ||l - l'||^2 over a (..., Ly, Lx) label grid: two separable 1-D passes."""
    d = distance_transform_1d(np.asarray(h, np.float64), beta)  # along dx
    return np.swapaxes(distance_transform_1d(np.swapaxes(d, -1, -2), beta), -1, -2)  # along dy


def displacements(ry, rx):
    """(Ly, Lx, 2) array of the displacements (dy, dx) the labels stand for."""
    dy, dx = np.meshgrid(np.arange(-ry, ry + 1), np.arange(-rx, rx + 1), indexing="ij")
    return np.stack([dy, dx], -1)


def data_cost(source, target, ry, rx):
    """(H, W, Ly, Lx) L2 distances ||f_s(p) - f_t(p + d)||; OUTSIDE where p + d leaves the target.

    `source` (H, W, D) and `target` (Ht, Wt, D) are feature grids."""
    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    if source.ndim != 3 or target.ndim != 3 or source.shape[-1] != target.shape[-1]:
        raise ConfigError(f"data_cost takes (H, W, D) feature grids of one depth, got {source.shape} and {target.shape}")
    h, w, _ = source.shape
    ht, wt, _ = target.shape
    cost = np.full((h, w, 2 * ry + 1, 2 * rx + 1), OUTSIDE)
    for iy, dy in enumerate(range(-ry, ry + 1)):
        for ix, dx in enumerate(range(-rx, rx + 1)):
            y0, y1 = max(0, -dy), min(h, ht - dy)
            x0, x1 = max(0, -dx), min(w, wt - dx)
            if y0 >= y1 or x0 >= x1:
                continue
            diff = source[y0:y1, x0:x1] - target[y0 + dy:y1 + dy, x0 + dx:x1 + dx]
            cost[y0:y1, x0:x1, iy, ix] = np.sqrt((diff * diff).sum(-1))
    return cost


def energy(labels, cost, beta=BETA):
    """E(w) of a labelling `labels` (H, W, 2) of label indices (iy, ix) under `cost` (H, W, Ly, Lx).

    Returns (total, data term, smoothness term); the smoothness term is the deformation energy."""
    labels = np.asarray(labels)
    h, w = cost.shape[:2]
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    data = float(cost[ys, xs, labels[..., 0], labels[..., 1]].sum())
    smooth = float(((labels[1:] - labels[:-1]) ** 2).sum() + ((labels[:, 1:] - labels[:, :-1]) ** 2).sum())
    return data + beta * smooth, data, beta * smooth


# message directions: (name, shift of the receiver relative to the sender)
_DIRS = (("down", (1, 0)), ("up", (-1, 0)), ("right", (0, 1)), ("left", (0, -1)))
_OPPOSITE = {"down": "up", "up": "down", "right": "left", "left": "right"}


def _shift(m, dy, dx):
    """Messages sent by p to p + (dy, dx), moved onto their receivers (zeros where none is sent)."""
    out = np.zeros_like(m)
    h, w = m.shape[:2]
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = m[max(-dy, 0):h + min(-dy, 0),
                                                                  max(-dx, 0):w + min(-dx, 0)]
    return out


def belief_propagation(cost, beta=BETA, iterations=30):
    """Loopy min-sum BP on the 4-connected grid (FH06), messages by the squared-distance transform.

    `cost` is (H, W, Ly, Lx). Returns (labels (H, W, 2) as label indices (iy, ix), beliefs).
    Synchronous updates; messages are normalised to minimum 0. Exact on trees (1-row or
    1-column grids); on loopy grids a local optimum, as in the thesis.
    """
    cost = np.asarray(cost, np.float64)
    if cost.ndim != 4:
        raise ConfigError(f"cost must be (H, W, Ly, Lx), got shape {cost.shape}")
    # incoming[d]: at each receiver, the message sent to it by the neighbour that sends in direction d
    incoming = {name: np.zeros_like(cost) for name, _ in _DIRS}
    for _ in range(iterations):
        total = cost + sum(incoming.values())
        new = {}
        for name, (dy, dx) in _DIRS:
            # p sends to q = p + (dy, dx) everything but what q sent to p (which arrived travelling the other way)
            h = total - incoming[_OPPOSITE[name]]
            m = distance_transform_2d(h, beta)
            m -= m.min(axis=(-2, -1), keepdims=True)
            new[name] = _shift(m, dy, dx)
        incoming = new
    beliefs = cost + sum(incoming.values())
    flat = beliefs.reshape(*cost.shape[:2], -1).argmin(-1)
    labels = np.stack(np.unravel_index(flat, cost.shape[2:]), -1)
    return labels, beliefs


def brute_force(cost, beta=BETA):
    """The exact minimiser of E by enumeration (tiny grids only: Ly*Lx to the power H*W labellings)."""
    h, w, ly, lx = cost.shape
    if (ly * lx) ** (h * w) > 2_000_000:
        raise ConfigError(f"brute force over {(ly * lx) ** (h * w)} labellings is too many; use a smaller grid")
    choices = [np.unravel_index(i, (ly, lx)) for i in range(ly * lx)]
    best, best_labels = np.inf, None
    for combo in itertools.product(range(ly * lx), repeat=h * w):
        labels = np.array([choices[c] for c in combo]).reshape(h, w, 2)
        e = energy(labels, cost, beta)[0]
        if e < best:
            best, best_labels = e, labels
    return best_labels, best
