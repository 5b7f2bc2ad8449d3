"""R-CNN's class-specific bounding-box regression (Donahue thesis §3.1.6.5, App. 3.4.3).

rbgirshick/rcnn `bbox_regression/rcnn_train_bbox_regressor.m` (reference/original_reference_code.md
§4.4): for each class, the proposals whose max-overlap object is of that class with IoU > 0.6
are paired with it; the targets t = (t_x, t_y, t_w, t_h) (zoo.ops.boxes.encode_deltas, with the
release's widths x2 - x1, no +1: `pixel_offset=0`) are centred on their mean μ and whitened by
T = V diag(1 / sqrt(λ_i + 0.001)) Vᵀ (eigen-decomposition of their covariance); each whitened
coordinate is a ridge regression on the pool5 features (scaled to mean norm 20) plus a constant
column, w = (XᵀX + λI)⁻¹ Xᵀy with λ = 1000, solved in closed form. Predictions are un-whitened
(·T⁻¹ + μ). Everything folds into one Dense layer (`bbox_pred`, 4 outputs per class), so the
model predicts the deltas directly; it is applied once at test time.
"""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError
from zoo.ops.boxes import encode_deltas

MIN_OVERLAP = 0.6
LAMBDA = 1000.0


def ridge(x, y, lam):
    """Closed-form ridge with a constant column (regularised too, as the release's solve): (d+1, k)."""
    x1 = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    return np.linalg.solve(x1.T @ x1 + lam * np.eye(x1.shape[1]), x1.T @ y)


def fit_box_regressors(features, proposals, gt_boxes, max_iou, classes, num_classes, *, lam=LAMBDA,
                       min_overlap=MIN_OVERLAP, feature_scale=1.0):
    """(kernel (d, 4 * num_classes), bias (4 * num_classes,)) of `bbox_pred` predicting deltas.

    `features` (n, d) pool5 of the proposals, `proposals` (n, 4), `gt_boxes` (n, 4) each proposal's
    max-overlap object, `max_iou` (n,) that overlap, `classes` (n,) its class. `feature_scale`
    multiplies the features first (R-CNN: to mean norm 20) and is folded into the kernel. Classes
    without a training pair predict zero deltas (the box unchanged).
    """
    features = np.asarray(features, np.float64) * feature_scale
    d = features.shape[1]
    kernel, bias = np.zeros((d, 4 * num_classes)), np.zeros(4 * num_classes)
    use = np.asarray(max_iou) > min_overlap
    targets = np.asarray(encode_deltas(np.asarray(proposals, np.float64), np.asarray(gt_boxes, np.float64),
                                       pixel_offset=0.0))
    for c in range(1, num_classes):
        mine = use & (np.asarray(classes) == c)
        if not mine.any():
            continue
        t = targets[mine]
        mu = t.mean(axis=0)
        eigvals, eigvecs = np.linalg.eigh(np.cov((t - mu).T, bias=False).reshape(4, 4) if mine.sum() > 1 else np.eye(4))
        whiten = eigvecs @ np.diag(1.0 / np.sqrt(np.maximum(eigvals, 0) + 0.001)) @ eigvecs.T
        w = ridge(features[mine], (t - mu) @ whiten, lam)
        unwhiten = np.linalg.inv(whiten)
        kernel[:, 4 * c:4 * c + 4] = (w[:d] @ unwhiten) * feature_scale
        bias[4 * c:4 * c + 4] = w[d] @ unwhiten + mu
    if not use.any():
        raise ConfigError(f"no proposal overlaps its object by more than {min_overlap}: nothing to regress")
    return kernel.astype(np.float32), bias.astype(np.float32)
