"""Detection average precision as the PASCAL VOC devkit computes it (VOCevaldet.m), streaming.

For each class, every detection of the split is ranked by descending confidence (ties in the
order they were added, as MATLAB's stable `sort`), then in that order:

- its ground truth is the box of the same class in the same image with the largest overlap
  (`iw * ih / union` with inclusive pixel corners, the devkit's `+1`), difficult boxes included;
- overlap >= 0.5: a difficult ground truth makes the detection *ignored* (neither true nor false
  positive); otherwise a true positive if that box was not yet detected, a false positive (a
  duplicate) if it was;
- overlap < 0.5 (or no box of that class in the image): a false positive.

Recall is over the non-difficult ground truth only, precision `tp / (tp + fp)`, and the AP is
`zoo.metrics.ranking.ap_from_precision_recall` of that curve: the VOC2007 11-point mean
(`"11point"`) or the VOC2010+ area (`"area"`). R-CNN reports VOC2007 numbers with the 11-point
definition (Donahue thesis §3.1.4; the devkit of that year). Ignored detections are dropped from
the ranking: the devkit keeps them as rows that repeat the previous precision and recall, which
changes neither definition (checked against a literal transcription in the tests).
"""

from __future__ import annotations

import numpy as np

from zoo.metrics.ranking import DEFINITIONS, ap_from_precision_recall

IOU_THRESHOLD = 0.5


def _overlaps(box, gt):
    """The devkit's overlap of one box (4,) with boxes gt (M, 4), `[x1 y1 x2 y2]` inclusive corners."""
    iw = np.minimum(box[2], gt[:, 2]) - np.maximum(box[0], gt[:, 0]) + 1
    ih = np.minimum(box[3], gt[:, 3]) - np.maximum(box[1], gt[:, 1]) + 1
    ua = (box[2] - box[0] + 1) * (box[3] - box[1] + 1) + (gt[:, 2] - gt[:, 0] + 1) * (gt[:, 3] - gt[:, 1] + 1) - iw * ih
    return np.where((iw > 0) & (ih > 0), iw * ih / np.where(ua > 0, ua, 1), -np.inf)


def paired_overlaps(a, b):
    """The devkit's overlap of a[i] with b[i], (n,) for boxes (n, 4) each; 0 where they do not meet."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    return np.maximum(_overlaps(a.T, b), 0.0)


def match_detections(scores, boxes, image_ids, gt_boxes, gt_difficult, iou_threshold=IOU_THRESHOLD):
    """(tp, fp) flags (N,) of one class's detections in descending score order, and the order.

    `gt_boxes` / `gt_difficult`: {image id: (M, 4) boxes, (M,) flags} of this class. Ignored
    detections (best match difficult) have neither flag.
    """
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    tp = np.zeros(len(order), bool)
    fp = np.zeros(len(order), bool)
    detected = {key: np.zeros(len(v), bool) for key, v in gt_boxes.items()}
    for rank, i in enumerate(order):
        gt = gt_boxes.get(image_ids[i])
        if gt is None or not len(gt):
            fp[rank] = True
            continue
        ov = _overlaps(np.asarray(boxes[i], np.float64), gt)
        j = int(np.argmax(ov))  # the first of equal maxima, as the devkit's `ov > ovmax` scan
        if ov[j] >= iou_threshold:
            if gt_difficult[image_ids[i]][j]:
                continue
            if detected[image_ids[i]][j]:
                fp[rank] = True
            else:
                tp[rank] = detected[image_ids[i]][j] = True
        else:
            fp[rank] = True
    return tp, fp, order


def class_ap(tp, fp, num_positives, definition="area"):
    """AP from matched flags: ignored detections (neither flag) are left out; NaN without positives."""
    if num_positives == 0:
        return float("nan")
    kept = tp | fp
    ctp, cfp = np.cumsum(tp[kept]), np.cumsum(fp[kept])
    if not len(ctp):
        return 0.0
    return ap_from_precision_recall(ctp / (ctp + cfp), ctp / num_positives, definition)


class DetectionAccumulator:
    """Detections and ground truth of each class over a split, fed one image at a time (classes 1..N;
    0, background, is never scored): what AP and the false-positive analysis both read."""

    def __init__(self, num_classes):
        self.num_classes = int(num_classes)
        self.images = 0
        self.detections = {c: ([], [], []) for c in range(1, self.num_classes + 1)}  # scores, boxes, image ids
        self.gt = {c: ({}, {}) for c in range(1, self.num_classes + 1)}  # {image: boxes}, {image: difficult}

    def add_image(self, boxes, scores, classes, gt_boxes, gt_classes, gt_difficult=None, image_id=None):
        """One image: detections (N, 4) / (N,) / (N,) and ground truth (M, 4) / (M,) / (M,) flags."""
        image = self.images if image_id is None else image_id
        self.images += 1
        boxes, gt_boxes = np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(gt_boxes, np.float64).reshape(-1, 4)
        scores, classes = np.asarray(scores, np.float64).reshape(-1), np.asarray(classes).reshape(-1)
        gt_classes = np.asarray(gt_classes).reshape(-1)
        difficult = np.zeros(len(gt_classes), bool) if gt_difficult is None else np.asarray(gt_difficult, bool).reshape(-1)
        if not len(boxes) == len(scores) == len(classes) or not len(gt_boxes) == len(gt_classes) == len(difficult):
            raise ValueError("add_image: detections and ground truth need one box, score/class, difficult flag each")
        for c in range(1, self.num_classes + 1):
            mine = classes == c
            s, b, ids = self.detections[c]
            s.extend(scores[mine]), b.extend(boxes[mine]), ids.extend([image] * int(mine.sum()))
            members = gt_classes == c
            if members.any():
                self.gt[c][0][image] = gt_boxes[members]
                self.gt[c][1][image] = difficult[members]


class DetectionAP(DetectionAccumulator):
    """Per-class VOC AP and mAP over a split, fed one image at a time (`add_image`).

    Classes are 1..num_classes (0 is the background of an (N+1)-way detector and is never
    scored); `class_names` labels the per-class results. Detections and ground truth are kept on
    the host (a VOC 2007 test run is ~5k images x a few hundred detections after NMS).
    """

    def __init__(self, num_classes, class_names=None, iou_threshold=IOU_THRESHOLD):
        super().__init__(num_classes)
        self.class_names = list(class_names) if class_names is not None else [str(c) for c in range(1, num_classes + 1)]
        if len(self.class_names) != self.num_classes:
            raise ValueError(f"{len(self.class_names)} class names for {self.num_classes} classes")
        self.iou_threshold = iou_threshold

    def class_aps(self, definition="area") -> np.ndarray:
        """(num_classes,) AP of each class (NaN for a class without non-difficult ground truth)."""
        if definition not in DEFINITIONS:
            raise ValueError(f"definition must be one of {DEFINITIONS}, got {definition!r}")
        aps = []
        for c in range(1, self.num_classes + 1):
            scores, boxes, ids = self.detections[c]
            gt_boxes, gt_difficult = self.gt[c]
            tp, fp, _ = match_detections(scores, boxes, ids, gt_boxes, gt_difficult, self.iou_threshold)
            positives = int(sum((~d).sum() for d in gt_difficult.values()))
            aps.append(class_ap(tp, fp, positives, definition))
        return np.asarray(aps)

    def result(self) -> dict:
        """{"map_area", "map_11point", "ap_area/<class>", "ap_11point/<class>"}; means over defined classes."""
        out = {}
        for definition in DEFINITIONS:
            aps = self.class_aps(definition)
            defined = aps[~np.isnan(aps)]
            out[f"map_{definition}"] = float(defined.mean()) if defined.size else float("nan")
            out.update({f"ap_{definition}/{name}": float(ap) for name, ap in zip(self.class_names, aps)})
        return out
