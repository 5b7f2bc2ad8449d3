"""Intraclass alignment with convnet features: conv-feature flow vs SIFT flow, spline warping and
keypoint transfer (Long thesis §2.2, Fig. 2.3, Table 2.2).

Both feature types are computed at the same locations, the grid of the layer's receptive-field
centres; the same MRF and solver (`zoo.visualize.mrf`, beta = 3e-3) align them. The target is
warped to the source with bivariate splines (scipy). Keypoint transfer: align each of the 25
nearest neighbours (fc7 retrieval) to the query, order them by deformation energy (smallest
first; it beat ordering by the data term), and predict each keypoint as the coordinate-wise
median of its transfers from the top 5.

Coordinates are (y, x) in pixels throughout; a grid unit (i, j) sits at offset + (i, j) * stride.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from zoo.errors import ConfigError
from zoo.visualize import mrf

SIFT_RADIUS = 20  # Long §2.2 (a VLFeat radius; OpenCV's keypoint size is a diameter, so size = 2 * radius)
NEIGHBOURS, TOP = 25, 5  # Long §2.2: 25 nearest neighbours warped, median of the top 5 by deformation energy


@dataclasses.dataclass
class Flow:
    """A solved alignment: `grid` (H, W, 2) displacements in grid units, `pixels` the same in pixels,
    the grid's `offset` and `stride` (pixels), and the energy split (deformation = smoothness term)."""

    grid: np.ndarray
    pixels: np.ndarray
    offset: tuple
    stride: tuple
    energy: float
    data: float
    deformation: float


def solve_flow(source_features, target_features, *, radius=None, beta=mrf.BETA, iterations=30, offset=(0.0, 0.0),
               stride=(1, 1)):
    """The MRF flow from a source feature grid (H, W, D) to a target one: `Flow`.

    `radius` (ry, rx) bounds the displacements in grid units (default: the whole target grid).
    """
    ht, wt = np.shape(target_features)[:2]
    ry, rx = radius if radius is not None else (ht - 1, wt - 1)
    cost = mrf.data_cost(source_features, target_features, ry, rx)
    labels, _ = mrf.belief_propagation(cost, beta, iterations)
    total, data, smooth = mrf.energy(labels, cost, beta)
    grid = (labels - np.array([ry, rx])).astype(np.float64)
    return Flow(grid, grid * np.asarray(stride, np.float64), tuple(offset), tuple(stride), total, data, smooth)


def grid_centres(shape, offset, stride):
    """(H, W, 2) pixel coordinates (y, x) of a feature grid's receptive-field centres."""
    ys = offset[0] + stride[0] * np.arange(shape[0])
    xs = offset[1] + stride[1] * np.arange(shape[1])
    return np.stack(np.meshgrid(ys, xs, indexing="ij"), -1).astype(np.float64)


def sift_descriptors(image, points, radius=SIFT_RADIUS):
    """(N, 128) upright OpenCV SIFT descriptors at pixel `points` (N, 2) (y, x), keypoint size 2 * radius.

    `image` is (H, W) or (H, W, C) (channels averaged), any range (rescaled to 0-255 uint8)."""
    import cv2

    img = np.asarray(image, np.float64)
    img = img.mean(-1) if img.ndim == 3 else img
    lo, hi = img.min(), img.max()
    img = np.uint8(np.round(255 * (img - lo) / (hi - lo + 1e-12)))
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    kps = [cv2.KeyPoint(float(x), float(y), 2.0 * radius, 0.0) for y, x in pts]  # upright: angle 0
    out, desc = cv2.SIFT_create().compute(img, kps)
    if desc is None or len(out) != len(kps):
        raise ConfigError(f"OpenCV dropped SIFT keypoints ({0 if desc is None else len(out)} of {len(kps)} kept); "
                          "keep the points inside the image")
    return desc.astype(np.float64)


def sift_grid(image, shape, offset, stride, radius=SIFT_RADIUS):
    """(H, W, 128) SIFT descriptors at the grid's centres (the conv features' locations)."""
    return sift_descriptors(image, grid_centres(shape, offset, stride).reshape(-1, 2), radius).reshape(*shape, 128)


def sift_flow(source_image, target_image, shape, offset, stride, *, radius=SIFT_RADIUS, **solver):
    """SIFT flow (the baseline of Table 2.2): SIFT at the grid centres of both images, same solver."""
    fs = sift_grid(source_image, shape, offset, stride, radius)
    ft = sift_grid(target_image, shape, offset, stride, radius)
    return solve_flow(fs, ft, offset=offset, stride=stride, **solver)


def conv_flow(model, layer, source_image, target_image, **solver):
    """Conv-feature flow (conv4 in the thesis): `layer`'s dense features of two network inputs, aligned."""
    from zoo.visualize.reconstruct import dense_features

    feats, rf = dense_features(model, layer, np.stack([source_image, target_image]))
    offset = rf.offset if rf.offset is not None else (0.0, 0.0)
    return solve_flow(feats[0], feats[1], offset=offset, stride=rf.stride, **solver)


def _spline(values, flow, k):
    from scipy.interpolate import RectBivariateSpline

    h, w = values.shape
    ys = flow.offset[0] + flow.stride[0] * np.arange(h)
    xs = flow.offset[1] + flow.stride[1] * np.arange(w)
    return RectBivariateSpline(ys, xs, values, kx=min(k, h - 1), ky=min(k, w - 1))


def flow_at(flow, points, k=3):
    """The pixel displacement (N, 2) at pixel points (N, 2) (y, x), the grid's flow interpolated by
    bivariate splines (constant on a 1-unit axis)."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    h, w = flow.pixels.shape[:2]
    if h < 2 or w < 2:
        raise ConfigError(f"spline interpolation needs a flow grid of at least 2x2, got {h}x{w}")
    return np.stack([_spline(flow.pixels[..., a], flow, k).ev(pts[:, 0], pts[:, 1]) for a in range(2)], -1)


def warp_image(target_image, flow, shape, k=3):
    """The target warped to the source: out(p) = target(p + w(p)) for the pixels p of `shape` (H, W),
    w interpolated from the grid and the target sampled by bivariate splines (Long §2.2)."""
    from scipy.interpolate import RectBivariateSpline

    target = np.asarray(target_image, np.float64)
    target = target[..., None] if target.ndim == 2 else target
    ys, xs = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    pts = np.stack([ys.ravel(), xs.ravel()], -1).astype(np.float64)
    where = pts + flow_at(flow, pts, k)
    th, tw = target.shape[:2]
    out = np.empty((len(pts), target.shape[-1]))
    for c in range(target.shape[-1]):
        spline = RectBivariateSpline(np.arange(th), np.arange(tw), target[..., c], kx=k, ky=k)
        out[:, c] = spline.ev(np.clip(where[:, 0], 0, th - 1), np.clip(where[:, 1], 0, tw - 1))
    return out.reshape(*shape, target.shape[-1])


def transfer_keypoints(flows, keypoints, *, top=TOP, order="deformation"):
    """Predicted query keypoints (K, 2) from neighbours aligned to the query.

    `flows[i]` maps neighbour i (the source) onto the query (the target); `keypoints[i]` is
    neighbour i's (K, 2) keypoints (y, x), NaN where absent. Neighbours are ordered by
    `order` ("deformation", the thesis's choice, or "data"); each keypoint is the coordinate-wise
    median of its transfers k + w(k) from the `top` first neighbours that have it (NaN if none).
    Returns (predictions, the neighbour order used).
    """
    if order not in ("deformation", "data"):
        raise ConfigError(f"order must be 'deformation' or 'data', got {order!r}")
    if len(flows) != len(keypoints) or not flows:
        raise ConfigError(f"transfer_keypoints needs one flow per neighbour, got {len(flows)} flows and "
                          f"{len(keypoints)} keypoint sets")
    rank = np.argsort([getattr(f, order) for f in flows], kind="stable")
    kps = np.asarray(keypoints, np.float64)
    preds = np.full(kps.shape[1:], np.nan)
    for j in range(kps.shape[1]):
        moved = [kps[i, j] + flow_at(flows[i], kps[i, j][None])[0] for i in rank if np.isfinite(kps[i, j]).all()]
        if moved:
            preds[j] = np.median(np.asarray(moved[:top]), axis=0)
    return preds, rank
