"""Average precision of a ranking, as the PASCAL VOC devkit computes it (VOCevalcls.m /
VOCevaldet.m): precision made monotone (the maximum precision at any higher recall), then either
the area under that curve (VOC2010 and later, `definition="area"`) or the mean of its values at
the 11 recalls 0, 0.1, .., 1 (VOC2007, `definition="11point"`).
"""

from __future__ import annotations

import numpy as np

DEFINITIONS = ("area", "11point")
# The devkit's recall thresholds `0:0.1:1` as MATLAB's colon makes them: k * 0.1 up to the middle,
# 1 - (10 - k) * 0.1 after it, so 0.6 and 0.7 are the doubles nearest 0.6 and 0.7 (np.linspace and
# py-faster-rcnn's np.arange give 0.6000000000000001 and 0.7000000000000001, which miss a recall
# of exactly 3/5 or 7/10).
ELEVEN_RECALLS = tuple(k * 0.1 if k <= 5 else 1.0 - (10 - k) * 0.1 for k in range(11))


def ap_from_precision_recall(precision, recall, definition: str = "area") -> float:
    """AP of a precision/recall curve given at each rank (recall non-decreasing)."""
    if definition not in DEFINITIONS:
        raise ValueError(f"definition must be one of {DEFINITIONS}, got {definition!r}")
    precision, recall = np.asarray(precision, np.float64), np.asarray(recall, np.float64)
    if definition == "11point":
        return float(np.mean([precision[recall >= t].max() if (recall >= t).any() else 0.0
                              for t in ELEVEN_RECALLS]))
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    changed = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[changed + 1] - mrec[changed]) * mpre[changed + 1]))


def average_precision(scores, positive, *, difficult=None, definition: str = "area") -> float:
    """AP of ranking examples by `scores` for the `positive` ones; `difficult` examples are left
    out (neither positive nor negative). NaN when there is no positive example."""
    scores = np.asarray(scores, np.float64)
    positive = np.asarray(positive, bool)
    keep = np.ones_like(positive) if difficult is None else ~np.asarray(difficult, bool)
    scores, positive = scores[keep], positive[keep]
    if not positive.any():
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(positive[order])
    fp = np.cumsum(~positive[order])
    return ap_from_precision_recall(tp / np.maximum(tp + fp, np.finfo(float).eps), tp / positive.sum(), definition)


def multilabel_average_precision(scores, labels, *, definition: str = "area") -> dict:
    """Per-class AP over examples and their mean (VOC classification, Oquab thesis Tables 3.1-3.3): `scores`
    (N, C), `labels` (N, C) with 1 present, 0 absent, -1 difficult (left out, as the VOC devkit does).
    Returns {"mean_ap", "ap_<c>"}; classes without a positive example (AP NaN) stay out of the mean."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels)
    if scores.shape != labels.shape or scores.ndim != 2:
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} must both be (examples, classes)")
    aps = [average_precision(scores[:, c], labels[:, c] > 0, difficult=labels[:, c] < 0, definition=definition)
           for c in range(scores.shape[1])]
    defined = [ap for ap in aps if not np.isnan(ap)]
    out = {"mean_ap": float(np.mean(defined)) if defined else float("nan")}
    out.update({f"ap_{c}": float(ap) for c, ap in enumerate(aps)})
    return out
