"""HHA: the three-channel encoding of a depth image of Gupta et al. (ECCV 2014), in NumPy.

The FCN NYUDv2 nets "HHA" and "RGB-HHA" (Long thesis §3.4.2, Table 3.5) take HHA images: per
pixel, the horizontal disparity, the height above the ground and the angle of the surface
normal with the inferred gravity direction. The released nets were trained on the HHA PNGs of
Gupta et al. (reference nyud_layers.py reads data/hha/img_<id>.png, citing rcnn-depth's
saveHHA.m). This module follows that code (github.com/s-gupta/rcnn-depth, saveHHA.m and
processDepthImage.m; RGBD Utils getYDir.m, computeNormalsSquareSupport.m,
getPointCloudFromZ.m), with its constants:

- Points: p = ((u - cx) Z / fx, (v - cy) Z / fy, Z) in centimetres, (u, v) 1-based pixel
  coordinates (MATLAB's meshgrid(1:W, 1:H)); y points down in the image.
- Normals: at each pixel a plane fitted by least squares to the valid points of the
  (2r+1) x (2r+1) window around it (pixels outside the image and `missing` ones left out),
  oriented away from the camera (n . p >= 0). r = 3 for the angle channel, r = 10 for the
  normals gravity is fitted to.
- Gravity: start from the camera's y axis; five times with a 45° threshold, then five with
  15°, call normals within the threshold of the current estimate "horizontal surfaces" and
  those within the threshold of its orthogonal plane "walls", and take the direction most
  parallel to the first and perpendicular to the second (the eigenvector of
  sum(walls walls^T) - sum(horizontal horizontal^T) with the smallest eigenvalue).
  `gravity="camera_y"` skips this and takes the camera's y axis (a level camera).
- Channel 1, horizontal disparity: 31000 / max(Z, 100), Z in cm (saturates at 255 below
  121.6 cm).
- Channel 2, height: h = -g . p in cm, minus its minimum over the image; when that lowest
  point is less than 90 cm below the camera (the floor is out of view) the floor is put
  130 cm below the camera instead.
- Channel 3, angle: the angle in degrees between the normal and g, plus 38 (the reference
  writes angle + 128 - 90); 38 on floors and table tops, 128 on walls, 218 on ceilings.
  Where no normal could be fitted (the whole window missing) the reference's
  max(-1, NaN) = -1 gives 180°, i.e. 218: kept, since the released PNGs have it.
- Each channel is rounded and saturated to uint8 as MATLAB's uint8() does.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from zoo.errors import ConfigError, InputError


@dataclasses.dataclass(frozen=True)
class Intrinsics:
    """Pinhole camera in pixels; (cx, cy) in 1-based pixel coordinates, as MATLAB calibrations give them."""

    fx: float
    fy: float
    cx: float
    cy: float


# The NYUDv2 colour camera (640x480; NYU toolbox camera_params.m, Gupta's getCameraParam('color')).
NYUD_INTRINSICS = Intrinsics(fx=518.857901, fy=519.469611, cx=325.582449, cy=253.736166)

NORMAL_RADIUS = 3  # window 7x7 for the angle channel
GRAVITY_NORMAL_RADIUS = 10  # window 21x21 for the normals gravity is fitted to
GRAVITY_THRESHOLDS_DEG = (45.0, 15.0)
GRAVITY_ITERATIONS = (5, 5)
CAMERA_Y = np.array([0.0, 1.0, 0.0])
DISPARITY_SCALE = 31000.0  # channel 1 = 31000 / depth in cm ...
MIN_DEPTH_CM = 100.0  # ... with depth clamped to at least 1 m
FLOOR_IF_UNSEEN_CM = -130.0  # height origin when the lowest point is above ...
LOWEST_POINT_SEEN_CM = -90.0  # ... 90 cm below the camera
ANGLE_OFFSET_DEG = 38.0  # angle + 128 - 90


def point_cloud(depth_cm: np.ndarray, intrinsics: Intrinsics = NYUD_INTRINSICS) -> np.ndarray:
    """(H, W, 3) camera coordinates in cm of a depth map in cm (x right, y down, z forward)."""
    h, w = depth_cm.shape
    u, v = np.meshgrid(np.arange(1, w + 1), np.arange(1, h + 1))
    return np.stack(
        [(u - intrinsics.cx) * depth_cm / intrinsics.fx, (v - intrinsics.cy) * depth_cm / intrinsics.fy, depth_cm],
        axis=-1,
    )


def _box_sum(f: np.ndarray, r: int) -> np.ndarray:
    """Sum of f (H, W, C) over the (2r+1)^2 window around each pixel, zeros outside the image.

    Direct sums (not running ones), so a window without valid points sums to exactly 0 and
    gets no normal, as with the reference's filter2.
    """
    from scipy.ndimage import correlate1d

    ones = np.ones(2 * r + 1)
    return correlate1d(correlate1d(f, ones, axis=0, mode="constant"), ones, axis=1, mode="constant")


def _plane_moments(points: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Per pixel, the terms of the least-squares plane fit (0 where missing), (H, W, 9)."""
    x, y, z = (np.where(missing, np.nan, points[..., i]) for i in range(3))
    with np.errstate(divide="ignore", invalid="ignore"):
        xz, yz, iz = x / z, y / z, 1.0 / z
        raw = np.stack([xz * xz, xz * yz, xz, yz * yz, yz, np.ones_like(xz), xz * iz, yz * iz, iz], axis=-1)
    raw[~np.isfinite(iz)] = 0.0
    return raw


def _sign_or_one(x):
    s = np.sign(x)
    return np.where((s == 0) | np.isnan(s), 1.0, s)


def _normals_from_sums(s: np.ndarray, points: np.ndarray) -> np.ndarray:
    a1, a2, a3, a4, a5, a6, b1, b2, b3 = np.moveaxis(s, -1, 0)
    # adj(AtA) Atb for the symmetric AtA = [[a1 a2 a3] [a2 a4 a5] [a3 a5 a6]]: the solution up to
    # a scale, which is normalised away.
    c11, c12, c13 = a4 * a6 - a5 * a5, a3 * a5 - a2 * a6, a2 * a5 - a3 * a4
    c22, c23, c33 = a1 * a6 - a3 * a3, a2 * a3 - a1 * a5, a1 * a4 - a2 * a2
    n = np.stack([c11 * b1 + c12 * b2 + c13 * b3, c12 * b1 + c22 * b2 + c23 * b3, c13 * b1 + c23 * b2 + c33 * b3], -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        n = n / np.linalg.norm(n, axis=-1, keepdims=True)
        n = n * _sign_or_one(n[..., 2])[..., None]
        return n * _sign_or_one(np.sum(n * points, axis=-1))[..., None]  # away from the camera


def surface_normals(points: np.ndarray, missing: np.ndarray, radius: int) -> np.ndarray:
    """(H, W, 3) unit normals fitted to the valid points of each window; NaN where none fits.

    The plane a . (x/z, y/z, 1) = 1/z is fitted by least squares (Gupta's formulation: a is
    the normal over the plane's offset), solved with the adjugate of the 3x3 normal matrix,
    so a singular window gives NaN rather than an error.
    """
    return _normals_from_sums(_box_sum(_plane_moments(points, missing), radius), points)


def estimate_gravity(
    normals: np.ndarray,
    thresholds_deg=GRAVITY_THRESHOLDS_DEG,
    iterations=GRAVITY_ITERATIONS,
    initial=CAMERA_Y,
) -> np.ndarray:
    """Unit gravity direction (pointing down) in camera coordinates, by Gupta's iterative alignment."""
    n = normals.reshape(-1, 3)
    n = np.ascontiguousarray(n[~np.isnan(n[:, 0])].T)  # (3, N)
    # einsum, not matmul: these skinny products ran 10-50x slower through threaded BLAS on a busy CPU.
    outer = np.einsum("in,jn->ijn", n, n).reshape(9, -1)
    g = np.asarray(initial, dtype=np.float64)
    for threshold, steps in zip(thresholds_deg, iterations):
        cos_t, sin_t = np.cos(np.deg2rad(threshold)), np.sin(np.deg2rad(threshold))
        for _ in range(steps):
            similarity = np.abs(np.einsum("in,i->n", n, g))
            # sum(walls walls^T) - sum(horizontal horizontal^T), as one weighted sum of outer products
            weight = (similarity < sin_t).astype(np.float64) - (similarity > cos_t)
            _, vectors = np.linalg.eigh(np.einsum("kn,n->k", outer, weight).reshape(3, 3))
            new = vectors[:, 0]  # smallest eigenvalue
            g = -new if g @ new < 0 else new
    return g


def _matlab_uint8(x: np.ndarray) -> np.ndarray:
    """MATLAB's uint8(): round half away from zero, saturate, NaN -> 0."""
    return np.clip(np.floor(np.nan_to_num(x, nan=0.0) + 0.5), 0, 255).astype(np.uint8)


def hha(
    depth_mm: np.ndarray,
    *,
    missing: np.ndarray | None = None,
    intrinsics: Intrinsics = NYUD_INTRINSICS,
    gravity: str = "estimate",
) -> np.ndarray:
    """The uint8 (H, W, 3) HHA image (disparity, height, angle) of a depth map in millimetres.

    Args:
        depth_mm: (H, W) or (H, W, 1) depth in mm, e.g. the NYUDv2 in-painted depth.
        missing: (H, W) bool, pixels without a depth measurement (left out of normal
            fitting); default `depth_mm == 0`. For NYUDv2 the reference passes the raw
            depth's zeros while the depth itself is the in-painted map.
        intrinsics: the camera; default NYUDv2's colour camera at 640x480.
        gravity: "estimate" (Gupta's iterative alignment) or "camera_y" (a level camera).
    """
    depth = np.asarray(depth_mm, dtype=np.float64)
    if depth.ndim == 3 and depth.shape[-1] == 1:
        depth = depth[..., 0]
    if depth.ndim != 2:
        raise InputError(f"hha expects an (H, W) depth map in millimetres; got shape {np.shape(depth_mm)}")
    if gravity not in ("estimate", "camera_y"):
        raise ConfigError(f"gravity must be 'estimate' or 'camera_y'; got {gravity!r}")
    missing = depth == 0 if missing is None else np.asarray(missing, dtype=bool).reshape(depth.shape)
    depth_cm = depth / 10.0
    points = point_cloud(depth_cm, intrinsics)
    moments = _plane_moments(points, missing)
    normals = _normals_from_sums(_box_sum(moments, NORMAL_RADIUS), points)
    if gravity == "estimate":
        g = estimate_gravity(_normals_from_sums(_box_sum(moments, GRAVITY_NORMAL_RADIUS), points))
    else:
        g = CAMERA_Y
    # processDepthImage rotates the points by gravity (getRMatrix: no rotation under 0.1°); the
    # rotated y is then -(g . p).
    g_height = CAMERA_Y if np.degrees(np.arccos(np.clip(g @ CAMERA_Y, -1, 1))) <= 0.1 else g
    height = -(points @ g_height)
    lowest = np.nanmin(height)
    height -= FLOOR_IF_UNSEEN_CM if lowest > LOWEST_POINT_SEEN_CM else lowest
    cos = np.nan_to_num(normals @ g, nan=-1.0)  # MATLAB's max(-1, NaN) is -1
    angle = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    disparity = DISPARITY_SCALE / np.maximum(depth_cm, MIN_DEPTH_CM)
    return _matlab_uint8(np.stack([disparity, height, angle + ANGLE_OFFSET_DEG], axis=-1))
