"""R-CNN's class-specific bounding-box regression (Donahue thesis §3.1.6.5, App. 3.4.3).

rbgirshick/rcnn `bbox_regression/rcnn_train_bbox_regressor.m`: for each
class, the proposals whose max-overlap object is of that class with IoU > 0.6
are paired with it; the targets t = (t_x, t_y, t_w, t_h) (zoo.ops.boxes.encode_deltas, with the
release's widths x2 - x1, no +1: `pixel_offset=0`) are centred on their mean μ and whitened by
T = V diag(1 / sqrt(λ_i + 0.001)) Vᵀ (eigen-decomposition of their covariance); each whitened
coordinate is a ridge regression on the pool5 features (scaled to mean norm 20) plus a constant
column, w = (XᵀX + λI)⁻¹ Xᵀy with λ = 1000, solved in closed form. Predictions are un-whitened
(·T⁻¹ + μ). Everything folds into one Dense layer (`bbox_pred`, 4 outputs per class), so the
model predicts the deltas directly; it is applied once at test time.

The task `detection_bbox` (card rcnn_caffenet_bbox / rcnn_vgg16_bbox) runs this as a recipe: the
staged step's `box_ridge` learner fits `bbox_pred` on the frozen pool5 features of the "bbox"
windows (zoo.data.detection.windows), whose targets are [box, object, IoU, class] rows; its
evaluation is the mean IoU of those windows with their objects before and after regression.
`zoo.tasks.detection.rcnn_detect` applies the regressors of a model with a `bbox_pred` output.
"""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError
from zoo.metrics.detection import paired_overlaps
from zoo.ops.boxes import decode_deltas, encode_deltas
from zoo.tasks.base import Evaluator, Task, first_output, model_input

REGRESSION_COLUMNS = 10  # a window's target row: box (4), its object (4), their IoU, the class

MIN_OVERLAP = 0.6
LAMBDA = 1000.0


def ridge(x, y, lam):
    """Closed-form ridge with a constant column (regularised too, as the release's solve): (d+1, k)."""
    x1 = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    return np.linalg.solve(x1.T @ x1 + lam * np.eye(x1.shape[1]), x1.T @ y)


def has_area(boxes):
    """Boxes with positive width and height in the release's convention (x2 - x1 > 0, y2 - y1 > 0).

    The release adds MATLAB's eps to the widths instead; a 1-pixel-wide box (x1 = x2: the stand-in's
    lines and dots; VOC has none) would then give log-size targets near ±36, so such pairs are left out.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])


def fit_box_regressors(features, proposals, gt_boxes, max_iou, classes, num_classes, *, lam=LAMBDA,
                       min_overlap=MIN_OVERLAP, feature_scale=1.0):
    """(kernel (d, 4 * num_classes), bias (4 * num_classes,)) of `bbox_pred` predicting deltas.

    `features` (n, d) pool5 of the proposals, `proposals` (n, 4), `gt_boxes` (n, 4) each proposal's
    max-overlap object, `max_iou` (n,) that overlap, `classes` (n,) its class. `feature_scale`
    multiplies the features first (R-CNN: to mean norm 20) and is folded into the kernel. Classes
    without a training pair predict zero deltas (the box unchanged); pairs with a zero-width or
    zero-height box are left out (`has_area`).
    """
    features = np.asarray(features, np.float64) * feature_scale
    d = features.shape[1]
    kernel, bias = np.zeros((d, 4 * num_classes)), np.zeros(4 * num_classes)
    proposals, gt_boxes = np.asarray(proposals, np.float64), np.asarray(gt_boxes, np.float64)
    use = (np.asarray(max_iou) > min_overlap) & has_area(proposals) & has_area(gt_boxes)
    with np.errstate(divide="ignore", invalid="ignore"):
        targets = np.asarray(encode_deltas(proposals, gt_boxes, pixel_offset=0.0))
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
        raise ConfigError(f"no proposal (with positive width and height) overlaps its object by more than "
                          f"{min_overlap}: nothing to regress")
    return kernel.astype(np.float32), bias.astype(np.float32)


def split_regression_targets(targets):
    """(boxes (n, 4), objects (n, 4), IoU (n,), classes (n,)) of [box, object, IoU, class] rows."""
    t = np.asarray(targets, np.float64)
    if t.ndim != 2 or t.shape[1] != REGRESSION_COLUMNS:
        raise ConfigError(f"box regression targets are (n, {REGRESSION_COLUMNS}) rows [box, object, IoU, class] (the "
                          f"detection windows' \"regression\", mode 'bbox'); got shape {t.shape}")
    return t[:, :4], t[:, 4:8], t[:, 8], t[:, 9].astype(np.int64)


def regressed_boxes(deltas, boxes, classes):
    """Each box moved by its class's 4 deltas of `deltas` (n, 4K) (R-CNN's widths x2 - x1), NumPy."""
    deltas = np.asarray(deltas, np.float64).reshape(len(boxes), -1, 4)[np.arange(len(boxes)), classes]
    return np.asarray(decode_deltas(np.asarray(boxes, np.float64), deltas, pixel_offset=0.0))


class BoxRegressionEvaluator(Evaluator):
    """Mean IoU of the split's regression windows with their objects, as proposed and as regressed."""

    def __init__(self):
        self.before, self.after = [], []

    def update(self, outputs, targets):
        boxes, objects, _, classes = split_regression_targets(targets)
        self.before.append(paired_overlaps(boxes, objects))
        self.after.append(paired_overlaps(regressed_boxes(first_output(outputs), boxes, classes), objects))

    def result(self) -> dict:
        before, after = np.concatenate(self.before), np.concatenate(self.after)
        return {"mean_iou_before": float(before.mean()), "mean_iou_after": float(after.mean()), "windows": len(before)}


class DetectionBoxRegression(Task):
    """R-CNN's box regressors as a staged recipe: windows -> pool5 -> `bbox_pred`, fitted by the staged
    step's `box_ridge` learner (fit_box_regressors), never by gradients."""

    name = "detection_bbox"
    step = "staged"
    metrics = ("mean_iou_before", "mean_iou_after")

    def example_to_xy(self, contract):
        import tensorflow as tf

        make_input = model_input(contract)
        return lambda ex: (make_input(ex), tf.cast(ex["regression"], tf.float32))

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        raise ConfigError("detection_bbox is fitted in closed form by the staged step (step.learner = 'box_ridge')")

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return BoxRegressionEvaluator()


TASKS = (DetectionBoxRegression(),)
