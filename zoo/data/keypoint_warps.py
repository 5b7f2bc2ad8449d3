"""Warped templates with known keypoints: a generated STAND-IN for PASCAL VOC 2011 with the Bourdev &
Malik keypoints (Long thesis §2.2-2.4), never reported as the paper's data.

Each template is a textured polygon on a textured background whose corners are its keypoints
(one keypoint type per corner). An instance is the template under a smooth random deformation
T(p) = p + u(p), u Gaussian-smoothed noise of amplitude `strength` pixels plus a random affine
part: keypoints move exactly to T(k); the image is out(q) = template(T^-1(q)), the inverse found by
fixed-point iteration p <- q - u(p) (a contraction while |grad u| < 1). So the true correspondence
between any two instances is known, and PCK measures an alignment method.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates

from zoo.errors import ConfigError


def template(rng, size=96, corners=5):
    """(image (size, size) float in [0, 1], keypoints (corners, 2) (y, x)): a star-like polygon."""
    c = size / 2.0
    angles = np.sort(rng.uniform(0, 2 * np.pi, corners)) if corners > 2 else None
    if angles is None:
        raise ConfigError(f"a template needs at least 3 corners, got {corners}")
    radii = rng.uniform(0.25, 0.42, corners) * size
    kps = np.stack([c + radii * np.sin(angles), c + radii * np.cos(angles)], -1)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    from matplotlib.path import Path

    inside = Path(kps[:, ::-1]).contains_points(np.stack([xx.ravel(), yy.ravel()], -1)).reshape(size, size)
    texture = gaussian_filter(rng.uniform(size=(size, size)), 1.5)
    background = gaussian_filter(rng.uniform(size=(size, size)), 4.0)
    image = np.where(inside, 0.55 + 0.45 * (texture - texture.min()) / np.ptp(texture), 0.4 * background / background.max())
    return image, kps


def smooth_field(rng, shape, strength, smoothness):
    """(H, W, 2) smooth displacement: Gaussian-filtered noise scaled to max |u| = strength."""
    u = np.stack([gaussian_filter(rng.normal(size=shape), smoothness) for _ in range(2)], -1)
    return u * (strength / (np.abs(u).max() + 1e-12))


def warp(image, keypoints, rng, *, strength=6.0, smoothness=12.0, affine=0.08, iterations=8):
    """(warped image, warped keypoints) under a random smooth deformation (see the module docstring)."""
    h, w = image.shape[:2]
    u = smooth_field(rng, (h, w), strength, smoothness)
    a = np.eye(2) + rng.uniform(-affine, affine, (2, 2))
    centre = np.array([h, w], np.float64) / 2 - 0.5
    grid = np.stack(np.mgrid[0:h, 0:w], -1).astype(np.float64)

    def disp(points):  # u(p) + the affine part about the centre, at any points (..., 2)
        flat = points.reshape(-1, 2)
        local = np.stack([map_coordinates(u[..., i], flat.T, order=1, mode="nearest") for i in range(2)], -1)
        return (local + (flat - centre) @ (a - np.eye(2)).T).reshape(points.shape)

    p = grid.copy()
    for _ in range(iterations):
        p = grid - disp(p)
    out = map_coordinates(image, p.reshape(-1, 2).T, order=1, mode="nearest").reshape(h, w)
    return out, keypoints + disp(np.asarray(keypoints, np.float64))


def instances(n, *, seed=0, size=96, corners=5, templates=1, **warp_options):
    """(images (n, size, size), keypoints (n, corners, 2), boxes (n, 4) [x1, y1, x2, y2] = the whole
    image, template index (n,)): `n` warped instances of `templates` random templates."""
    rng = np.random.default_rng(seed)
    bank = [template(rng, size, corners) for _ in range(templates)]
    images, kps, which = [], [], rng.integers(0, templates, n)
    for t in which:
        im, k = warp(*bank[t], rng, **warp_options)
        images.append(im)
        kps.append(k)
    boxes = np.tile([0.0, 0.0, float(size), float(size)], (n, 1))
    return np.stack(images), np.stack(kps), boxes, which
