"""Keypoint and surface-normal metrics.

PCK (Long thesis §2.2, Tables 2.2 and 2.4; [FMJZ08]): a predicted keypoint is correct when it lies
within alpha * max(box width, box height) of the ground truth. Accuracy is computed per keypoint
type and then averaged over the types, as the thesis does; keypoints not visible in the target
(NaN ground truth or visible = False) are not counted, and a missing prediction (NaN) for a
visible keypoint counts as wrong.

Angular errors of surface normals (C. Doersch's talk on Doersch et al. ICCV 2015, the surface-normal table):
mean and median angle in degrees between predicted and true normals, and the percentage of
pixels within 11.25, 22.5 and 30 degrees.
"""

from __future__ import annotations

import numpy as np

from zoo.errors import InputError

ALPHAS = (0.1, 0.05, 0.025)  # Long Table 2.2
NORMAL_THRESHOLDS = (11.25, 22.5, 30.0)  # degrees, the talk's table


def pck(pred, truth, boxes, alpha=0.1, visible=None):
    """(mean over keypoint types, per-type accuracy (K,)) as fractions in [0, 1].

    `pred`, `truth`: (N, K, 2) keypoint coordinates (any order of x / y, the same in both);
    `boxes`: (N, 4) [x1, y1, x2, y2] (or (N, 2) (width, height)); `visible`: (N, K) booleans
    (default: the ground truth is finite). A type no instance shows gets NaN and is left out of
    the mean.
    """
    pred, truth = np.asarray(pred, np.float64), np.asarray(truth, np.float64)
    if pred.shape != truth.shape or pred.ndim != 3 or pred.shape[-1] != 2:
        raise InputError(f"pred and truth must both be (N, K, 2) keypoints, got {pred.shape} and {truth.shape}")
    boxes = np.asarray(boxes, np.float64)
    if boxes.shape not in ((len(pred), 4), (len(pred), 2)):
        raise InputError(f"boxes must be (N, 4) [x1, y1, x2, y2] or (N, 2) (w, h) for N = {len(pred)}, got {boxes.shape}")
    sizes = boxes if boxes.shape[1] == 2 else boxes[:, 2:] - boxes[:, :2]
    scale = alpha * sizes.max(axis=1)
    seen = np.isfinite(truth).all(-1)
    if visible is not None:
        seen &= np.asarray(visible, bool)
    dist = np.linalg.norm(pred - truth, axis=-1)
    correct = np.where(np.isfinite(dist), dist <= scale[:, None], False)
    counts = seen.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_type = np.where(counts > 0, (correct & seen).sum(0) / np.maximum(counts, 1), np.nan)
    if not np.isfinite(per_type).any():
        raise InputError("no keypoint is visible in the ground truth; PCK is undefined")
    return float(np.nanmean(per_type)), per_type


def pck_table(pred, truth, boxes, alphas=ALPHAS, visible=None):
    """{alpha: mean PCK in %} for Table 2.2's tolerances."""
    return {a: 100.0 * pck(pred, truth, boxes, a, visible)[0] for a in alphas}


def angular_errors(pred, truth, mask=None):
    """Angles in degrees between predicted and true normals (..., 3) at the valid pixels.

    Both are normalised first; `mask` (...) selects valid pixels (default: truth non-zero)."""
    pred, truth = np.asarray(pred, np.float64), np.asarray(truth, np.float64)
    if pred.shape != truth.shape or pred.shape[-1] != 3:
        raise InputError(f"normals must be (..., 3) arrays of one shape, got {pred.shape} and {truth.shape}")
    pn, tn = np.linalg.norm(pred, axis=-1), np.linalg.norm(truth, axis=-1)
    valid = tn > 0 if mask is None else np.asarray(mask, bool) & (tn > 0)
    if not valid.any():
        raise InputError("no valid ground-truth normal (all zero or masked)")
    cos = (pred * truth).sum(-1)[valid] / (np.maximum(pn[valid], 1e-12) * tn[valid])
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def normal_metrics(pred, truth, mask=None, thresholds=NORMAL_THRESHOLDS):
    """{"mean", "median", "within_11.25", ...}: the talk's surface-normal table, degrees and %."""
    err = angular_errors(pred, truth, mask)
    out = {"mean": float(err.mean()), "median": float(np.median(err))}
    out.update({f"within_{t:g}": float(100.0 * (err < t).mean()) for t in thresholds})
    return out
