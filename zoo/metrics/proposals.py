"""Object-proposal recall on instance masks (Long thesis §4.4.5, Tables 4.2 and 4.3).

With I/U the mask intersection over union of a predicted and a ground-truth region, and each
ground-truth region's best overlap b = max over the predictions of I/U (0 without predictions):

- R@x: the fraction of ground-truth regions with b >= x;
- ABO: the mean of b over the ground-truth regions;
- AR: R@x averaged over x in [0.5, 1] (Hosang et al. [HBDS15]); with `ar="integral"` (default)
  the exact average 2 * ∫_{0.5}^{1} R@x dx = 2 * mean(max(b - 0.5, 0)); with `ar="steps"` the
  mean of R@x at x = 0.5, 0.55, ..., 0.95 (the COCO-style discretisation);
- AR@N: AR over each image's N best-scoring predictions (Table 4.3's AR@10/100/1000).

Matching is by best overlap per ground-truth region, as the thesis defines R@x (a prediction may
match several regions; there is no one-to-one assignment). `ProposalRecall` accumulates the best
overlaps image by image over a split.
"""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError
from zoo.ops.grid_nms import mask_iou

AR_MODES = ("integral", "steps")
STEPS = np.linspace(0.5, 0.95, 10)


def best_overlaps(gt_masks, pred_masks):
    """(G,) best I/U of each ground-truth mask (G, H, W) over the predicted masks (P, H, W)."""
    gt_masks = np.asarray(gt_masks, bool)
    pred_masks = np.asarray(pred_masks, bool)
    if len(pred_masks) == 0 or len(gt_masks) == 0:
        return np.zeros(len(gt_masks))
    if gt_masks.shape[1:] != pred_masks.shape[1:]:
        raise ConfigError(f"ground-truth masks {gt_masks.shape[1:]} and predicted masks {pred_masks.shape[1:]} "
                          "differ in size")
    return mask_iou(gt_masks, pred_masks).max(axis=1)


def recall_at(best, x):
    best = np.asarray(best, np.float64)
    return float(np.mean(best >= x)) if best.size else float("nan")


def average_recall(best, ar="integral"):
    best = np.asarray(best, np.float64)
    if ar not in AR_MODES:
        raise ConfigError(f"ar must be one of {AR_MODES}; got {ar!r}")
    if not best.size:
        return float("nan")
    if ar == "integral":
        return float(2.0 * np.mean(np.clip(best, 0.5, 1.0) - 0.5))
    return float(np.mean([np.mean(best >= x) for x in STEPS]))


class ProposalRecall:
    """R@x, ABO, AR over all predictions and AR@N, accumulated over images."""

    def __init__(self, thresholds=(0.5, 0.7), limits=(10, 100, 1000), ar="integral"):
        if ar not in AR_MODES:
            raise ConfigError(f"ar must be one of {AR_MODES}; got {ar!r}")
        self.thresholds, self.limits, self.ar = tuple(thresholds), tuple(int(n) for n in limits), ar
        self.best = []
        self.best_at = {n: [] for n in self.limits}

    def update(self, gt_masks, pred_masks, scores=None):
        """One image: ground-truth (G, H, W), predictions (P, H, W) and their scores (P,) (given
        in rank order when None)."""
        pred_masks = np.asarray(pred_masks, bool)
        order = np.arange(len(pred_masks)) if scores is None else np.argsort(-np.asarray(scores), kind="stable")
        if len(order) != len(pred_masks):
            raise ConfigError(f"{len(pred_masks)} predicted masks but {len(order)} scores")
        ranked = pred_masks[order]
        gt = np.asarray(gt_masks, bool)
        iou = mask_iou(gt, ranked) if len(gt) and len(ranked) else np.zeros((len(gt), len(ranked)))
        self.best.append(iou.max(1) if iou.shape[1] else np.zeros(len(gt)))
        for n in self.limits:
            self.best_at[n].append(iou[:, :n].max(1) if iou.shape[1] else np.zeros(len(gt)))

    def result(self) -> dict:
        best = np.concatenate(self.best) if self.best else np.zeros(0)
        out = {f"R@{x:g}": recall_at(best, x) for x in self.thresholds}
        out["ABO"] = float(best.mean()) if best.size else float("nan")
        out["AR"] = average_recall(best, self.ar)
        for n in self.limits:
            out[f"AR@{n}"] = average_recall(np.concatenate(self.best_at[n]) if self.best_at[n] else best[:0], self.ar)
        out["num_regions"] = int(best.size)
        return out
