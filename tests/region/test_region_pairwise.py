"""The pairwise operations of Long thesis §4.3.2 against NumPy transcriptions of the definitions
(loops over grid points x and offsets Δ), and the mask upsampling against tf.image.resize."""

import numpy as np
import pytest
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.ops.pairwise import bilinear_matrix, pairwise_matmul, pairwise_transpose, upsample_regions


def _as_dict(p, k, c):
    """{(y, x, dy, dx): value} of a (H, W, k*k) map: the 4-index function p(x, Δ)."""
    h, w, _ = p.shape
    return {(y, x, i - c, j - c): p[y, x, i * k + j]
            for y in range(h) for x in range(w) for i in range(k) for j in range(k)}


def _transpose_reference(p, k, c):
    """p^T(x, Δ) = p(x + Δ, -Δ), 0 where (x + Δ, -Δ) is not in G x R."""
    h, w, _ = p.shape
    f = _as_dict(p, k, c)
    out = np.zeros_like(p)
    for y in range(h):
        for x in range(w):
            for i in range(k):
                for j in range(k):
                    dy, dx = i - c, j - c
                    out[y, x, i * k + j] = f.get((y + dy, x + dx, -dy, -dx), 0.0)
    return out


def _matmul_reference(p1, k1, c1, p2, k2, c2, semiring):
    """p12(x, Δ) = Σ_{δ ∈ R1, Δ-δ ∈ R2} p1(x, δ) × p2(x + δ, Δ - δ), literally."""
    h, w, _ = p1.shape
    f1, f2 = _as_dict(p1, k1, c1), _as_dict(p2, k2, c2)
    k, c = k1 + k2 - 1, c1 + c2
    zero = 0.0 if semiring == "sum_product" else np.inf
    out = np.full((h, w, k * k), zero)
    for y in range(h):
        for x in range(w):
            for i in range(k):
                for j in range(k):
                    D = (i - c, j - c)
                    acc = zero
                    for a in range(k1):
                        for b in range(k1):
                            d = (a - c1, b - c1)
                            rest = (D[0] - d[0], D[1] - d[1])
                            if not (-c2 <= rest[0] < k2 - c2 and -c2 <= rest[1] < k2 - c2):
                                continue  # Δ - δ not in R2
                            v1 = f1[(y, x, *d)]
                            v2 = f2.get((y + d[0], x + d[1], *rest), zero)  # x + δ outside G: zero
                            acc = acc + v1 * v2 if semiring == "sum_product" else min(acc, v1 + v2)
                    out[y, x, i * k + j] = acc
    return out


@pytest.mark.parametrize("k, h, w", [(3, 4, 5), (4, 5, 3), (14, 3, 16), (5, 1, 1)])
def test_transpose_matches_the_definition(k, h, w):
    rng = np.random.default_rng(k)
    p = rng.standard_normal((2, h, w, k * k)).astype(np.float32)
    got = np.asarray(pairwise_transpose(p, k))
    for b in range(2):
        np.testing.assert_array_equal(got[b], _transpose_reference(p[b], k, k // 2))


def test_transpose_of_transpose_is_the_map_where_defined():
    # (p^T)^T = p on the entries whose partner (x + Δ, -Δ) exists (odd k: every -Δ is in R).
    rng = np.random.default_rng(1)
    k, p = 5, rng.standard_normal((1, 7, 6, 25)).astype(np.float32)
    twice = np.asarray(pairwise_transpose(pairwise_transpose(p, k), k))
    defined = np.asarray(pairwise_transpose(np.ones_like(p), k)) > 0
    np.testing.assert_array_equal(twice[defined], p[defined])
    assert not twice[~defined].any()


@pytest.mark.parametrize("semiring", ["sum_product", "min_plus"])
@pytest.mark.parametrize("k1, k2", [(3, 3), (2, 3), (3, 1)])
def test_matmul_matches_the_definition(k1, k2, semiring):
    rng = np.random.default_rng(k1 * 10 + k2)
    p1 = rng.uniform(0, 1, (1, 4, 5, k1 * k1))
    p2 = rng.uniform(0, 1, (1, 4, 5, k2 * k2))
    got = np.asarray(pairwise_matmul(p1, k1, p2, k2, semiring=semiring))
    want = _matmul_reference(p1[0], k1, k1 // 2, p2[0], k2, k2 // 2, semiring)
    np.testing.assert_allclose(got[0], want, rtol=1e-12)


def test_matmul_with_the_identity_is_the_map():
    # p_i(x, 0) = 1 and 0 elsewhere is the identity of the product (thesis §4.3.2's reflexive case).
    rng = np.random.default_rng(2)
    p = rng.standard_normal((1, 4, 4, 9))
    eye = np.zeros((1, 4, 4, 1)) + 1.0
    np.testing.assert_allclose(np.asarray(pairwise_matmul(eye, 1, p, 3)), p)
    # on the right, p(x, Δ) * 1(x + Δ): zero where x + Δ leaves the grid
    inside = np.asarray(pairwise_transpose(np.ones_like(p), 3)) > 0
    np.testing.assert_allclose(np.asarray(pairwise_matmul(p, 3, eye, 1)), np.where(inside, p, 0.0))


def test_bilinear_matrix_is_tf_image_resize():
    rng = np.random.default_rng(3)
    for k, s in [(14, 2), (18, 8), (3, 5)]:
        m = rng.standard_normal((k, k)).astype(np.float32)
        want = tf.image.resize(m[None, :, :, None], (k * s, k * s), method="bilinear", antialias=False)[0, ..., 0]
        u = bilinear_matrix(k, s)
        np.testing.assert_allclose(u @ m @ u.T, want.numpy(), atol=1e-5)


def test_upsample_regions_upsamples_every_region():
    rng = np.random.default_rng(4)
    p = rng.standard_normal((2, 3, 4, 16)).astype(np.float32)
    up = np.asarray(upsample_regions(p, 4, 2))
    assert up.shape == (2, 3, 4, 8, 8)
    u = bilinear_matrix(4, 2)
    np.testing.assert_allclose(up[1, 2, 3], u @ p[1, 2, 3].reshape(4, 4) @ u.T, atol=1e-5)


def test_bad_channel_counts_are_refused():
    with pytest.raises(ConfigError, match="k\\*k"):
        pairwise_transpose(np.zeros((1, 2, 2, 8), np.float32), 3)
    with pytest.raises(ConfigError, match="semiring"):
        pairwise_matmul(np.zeros((1, 2, 2, 9)), 3, np.zeros((1, 2, 2, 9)), 3, semiring="max")
