"""Pairwise (doubly spatially indexed) arrays of Long's region networks (thesis §4.3.2-4.3.3).

A pairwise map p(x, Δ) says how likely the grid points x and x + Δ are to belong to one object.
Layout used throughout the zoo: a channels-last tensor `(B, H, W, k*k)`; the grid point x is the
spatial index (y, x), the offset Δ = (i - c, j - c) is channel `i * k + j`, with `c` the window's
centre index (`k // 2` by default; a k = 14 window holds the offsets -7 .. 6). Offsets are in
grid units: with the region stride equal to the upsampling factor (thesis §4.4.1) a mask cell of
a region is exactly one grid cell, which is what makes the transpose a pure re-indexing. Values
at points outside the grid (x + Δ not in G, or -Δ not in R) are the semiring's zero (0, or +inf
for (min, +)).

- `pairwise_transpose`: p^T(x, Δ) = p(x + Δ, -Δ) (§4.3.2): 2k strided slices, TFLite builtins.
- `pairwise_matmul`: p12(x, Δ) = Σ_{δ ∈ R, Δ-δ ∈ R'} p1(x, δ) × p2(x + δ, Δ - δ) (§4.3.2), with
  (Σ, ×) = (+, *) or (min, +).
- `bilinear_matrix` / `upsample_regions`: each region's k x k coarse mask bilinearly to
  (k*s) x (k*s) pixels (§4.3.6: the loss is taken on the upsampled predictions).

Everything is `keras.ops` (any backend, inside models and tf.function) except the NumPy
`bilinear_matrix`.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from zoo.errors import ConfigError

SEMIRINGS = ("sum_product", "min_plus")


def _center(k, center):
    c = k // 2 if center is None else int(center)
    if not 0 <= c < k:
        raise ConfigError(f"a pairwise window of {k} offsets has its centre index in [0, {k}); got {center}")
    return c


def _check_channels(p, k, what="p"):
    if int(k) < 1 or p.shape[-1] != k * k:
        raise ConfigError(f"{what} must have k*k = {k * k} channels (offsets of a {k}x{k} window); "
                          f"got shape {tuple(p.shape)}")


def _slice_axis(x, axis, start, size_cut):
    """x[start : len - size_cut] along `axis` (static bounds, so free spatial sizes stay free)."""
    index = [slice(None)] * len(x.shape)
    index[axis] = slice(start, -size_cut if size_cut > 0 else None)
    return x[tuple(index)]


def pairwise_transpose(p, k, center=None):
    """p^T(x, Δ) = p(x + Δ, -Δ) (thesis §4.3.2) on a `(B, H, W, k*k)` pairwise map.

    Separable: the y-part re-indexes rows and the i offset, then the x-part columns and j, each
    as k shifted slices of the zero-padded map. Entries whose source lies outside the grid or the
    window are 0. No parameters (§4.3.3: it only re-indexes).
    """
    _check_channels(p, k)
    c = _center(k, center)
    # y: r[b, y, x, i*k + j] = p[b, y + i - c, x, (2c - i)*k + j]
    q = ops.pad(p, [[0, 0], [c, k - 1 - c], [0, 0], [0, 0]])
    rows = []
    for i in range(k):
        src, shifted = 2 * c - i, _slice_axis(q, 1, i, k - 1 - i)
        part = shifted[..., src * k:(src + 1) * k] if 0 <= src < k else ops.zeros_like(shifted[..., :k])
        rows.append(part)
    r = ops.concatenate(rows, axis=-1)
    # x: out[b, y, x, i*k + j] = r[b, y, x + j - c, i*k + (2c - j)]
    q = ops.pad(r, [[0, 0], [0, 0], [c, k - 1 - c], [0, 0]])
    cols = []
    for j in range(k):
        src, shifted = 2 * c - j, _slice_axis(q, 2, j, k - 1 - j)
        cols.append(shifted[..., src::k] if 0 <= src < k else ops.zeros_like(shifted[..., ::k]))
    out = ops.stack(cols, axis=-1)  # (B, H, W, k [i], k [j])
    shape = ops.shape(out)
    return ops.reshape(out, (-1, shape[1], shape[2], k * k))


def _shift(p, dy, dx, fill):
    """out[:, y, x] = p[:, y + dy, x + dx], `fill` outside the grid."""
    pad = [[0, 0], [max(-dy, 0), max(dy, 0)], [max(-dx, 0), max(dx, 0)], [0, 0]]
    q = ops.pad(p, pad, constant_values=fill)
    q = _slice_axis(q, 1, max(dy, 0), max(-dy, 0))
    return _slice_axis(q, 2, max(dx, 0), max(-dx, 0))


def pairwise_matmul(p1, k1, p2, k2, *, centers=(None, None), semiring="sum_product"):
    """The pairwise matrix product of §4.3.2 on one grid G (p2's points outside G count as zero):

        p12(x, Δ) = Σ_{δ ∈ R1, Δ - δ ∈ R2} p1(x, δ) × p2(x + δ, Δ - δ)

    p1 `(B, H, W, k1*k1)`, p2 `(B, H, W, k2*k2)`; returns `(B, H, W, k*k)` with k = k1 + k2 - 1,
    whose centre index is c1 + c2 (= k // 2 for odd k1, k2; pass it as `center` to the other ops
    otherwise). `semiring` "sum_product" is the ordinary product; "min_plus" takes (min, +), the
    shortest-path reduction the thesis mentions (p >= 0; +inf where nothing is defined).
    """
    if semiring not in SEMIRINGS:
        raise ConfigError(f"semiring must be one of {SEMIRINGS}; got {semiring!r}")
    _check_channels(p1, k1, "p1")
    _check_channels(p2, k2, "p2")
    c1 = _center(k1, centers[0])
    zero = 0.0 if semiring == "sum_product" else float("inf")
    k = k1 + k2 - 1
    total = None
    for a in range(k1):
        for b in range(k1):
            shifted = _shift(p2, a - c1, b - c1, zero)  # p2(x + δ, ·)
            left = p1[..., a * k1 + b:a * k1 + b + 1]
            term = left * shifted if semiring == "sum_product" else left + shifted
            shape = ops.shape(term)
            term = ops.reshape(term, (-1, shape[1], shape[2], k2, k2))
            # place Δ - δ's window at δ: out index (a + i2, b + j2)
            term = ops.pad(term, [[0, 0], [0, 0], [0, 0], [a, k1 - 1 - a], [b, k1 - 1 - b]], constant_values=zero)
            total = term if total is None else (total + term if semiring == "sum_product" else ops.minimum(total, term))
    shape = ops.shape(total)
    return ops.reshape(total, (-1, shape[1], shape[2], k * k))


def bilinear_matrix(k: int, s: int) -> np.ndarray:
    """The (k*s, k) matrix of bilinear interpolation from k cells to k*s pixels, half-pixel centres
    with clamped edges (tf.image.resize's "bilinear" without antialiasing)."""
    if k < 1 or s < 1:
        raise ConfigError(f"bilinear_matrix needs k >= 1 cells and a factor s >= 1; got k={k}, s={s}")
    src = np.clip((np.arange(k * s) + 0.5) / s - 0.5, 0.0, k - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, k - 1)
    frac = src - lo
    m = np.zeros((k * s, k), np.float32)
    m[np.arange(k * s), lo] += 1.0 - frac
    m[np.arange(k * s), hi] += frac
    return m


def upsample_regions(p, k, s):
    """Every region's k x k coarse mask of a `(B, H, W, k*k)` map bilinearly upsampled by `s`:
    `(B, H, W, k*s, k*s)`, as U M U^T with U = bilinear_matrix(k, s) (differentiable, §4.3.6)."""
    _check_channels(p, k)
    u = ops.convert_to_tensor(bilinear_matrix(k, s), dtype=p.dtype)
    shape = ops.shape(p)
    m = ops.reshape(p, (-1, k, k))
    up = ops.matmul(ops.matmul(u, m), ops.transpose(u))
    return ops.reshape(up, (-1, shape[1], shape[2], k * s, k * s))
