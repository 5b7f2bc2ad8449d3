"""Location prediction AP (Oquab thesis §4.6.1, Tables 4.2-4.3): one predicted point per class and image.

For each class, every image gives one prediction: a confidence and a point (x, y) in the
original image's pixels. "If the maximal response across scales falls within the ground truth
bounding box of an object of the same class within 18 pixels tolerance (which corresponds to
the pooling ratio of the network), we label the predicted location as correct. If not, then we
count the response as a false positive (it hit the background), and we also increment the false
negative count (no object was found). Finally, we use the confidence values of the responses to
generate precision-recall curves."

So, ranked by confidence, a prediction is a true positive when the image contains the class
and the point hits one of its boxes; every other prediction is a false positive; recall is over
the images that contain the class (a wrong point is never recovered: that is the false
negative). AP is the VOC area under the monotone precision/recall curve
(zoo.metrics.detection.class_ap, as the classification AP). Images where the class is only
"difficult" (VOC) are left out, as in VOC classification.

Points are continuous pixel coordinates (pixel k spans [k, k + 1)); boxes are the zoo's
0-based inclusive corners `[x1, y1, x2, y2]`, so a box covers [x1, x2 + 1) x [y1, y2 + 1) and the
tolerance widens it by `tolerance` pixels on each side.
"""

from __future__ import annotations

import numpy as np

from zoo.metrics.detection import class_ap

TOLERANCE = 18  # pixels, "the pooling ratio of the network" (§4.6.1; the stated stride is 32)


def point_hits(point, boxes, tolerance=TOLERANCE) -> bool:
    """Whether `point` (x, y) lies in one of `boxes` (M, 4) widened by `tolerance` pixels."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    x, y = float(point[0]), float(point[1])
    inside = ((boxes[:, 0] - tolerance <= x) & (x <= boxes[:, 2] + 1 + tolerance)
              & (boxes[:, 1] - tolerance <= y) & (y <= boxes[:, 3] + 1 + tolerance))
    return bool(inside.any())


def location_ap(confidences, hits, present, difficult=None) -> float:
    """AP of one class: `confidences` (N,) one per image, `hits` (N,) whether its point hit a box of
    the class, `present` (N,) whether the image contains the class, `difficult` (N,) images left
    out. NaN when no image contains the class."""
    confidences = np.asarray(confidences, np.float64).reshape(-1)
    hits, present = np.asarray(hits, bool).reshape(-1), np.asarray(present, bool).reshape(-1)
    keep = np.ones(len(confidences), bool) if difficult is None else ~np.asarray(difficult, bool).reshape(-1)
    confidences, hits, present = confidences[keep], hits[keep], present[keep]
    order = np.argsort(-confidences, kind="stable")
    tp = (hits & present)[order]
    return class_ap(tp, ~tp, int(present.sum()))


class LocationAP:
    """Per-class location AP and its mean over a split, fed one image at a time (`add_image`)."""

    def __init__(self, num_classes, tolerance=TOLERANCE):
        self.num_classes, self.tolerance = int(num_classes), float(tolerance)
        self.confidences, self.hits, self.present, self.difficult = [], [], [], []

    def add_image(self, confidences, points, labels, boxes, box_labels):
        """One image: `confidences` (K,), `points` (K, 2) (x, y) per class, `labels` (K,) 1 present,
        0 absent, -1 difficult only, ground-truth `boxes` (M, 4) with classes `box_labels` (M,) 0..K-1."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        box_labels = np.asarray(box_labels).reshape(-1)
        labels = np.asarray(labels).reshape(-1)
        self.confidences.append(np.asarray(confidences, np.float64).reshape(-1))
        self.hits.append([point_hits(points[k], boxes[box_labels == k], self.tolerance)
                          for k in range(self.num_classes)])
        self.present.append(labels > 0)
        self.difficult.append(labels < 0)

    def class_aps(self) -> np.ndarray:
        if not self.confidences:
            return np.full(self.num_classes, np.nan)
        c, h, p, d = (np.asarray(v) for v in (self.confidences, self.hits, self.present, self.difficult))
        return np.asarray([location_ap(c[:, k], h[:, k], p[:, k], d[:, k]) for k in range(self.num_classes)])


def center_points(image_sizes) -> np.ndarray:
    """K. CENTER PRED. (§4.6.1): the image centre (x, y) = (W / 2, H / 2) of each (H, W) in `image_sizes`."""
    sizes = np.asarray(image_sizes, np.float64).reshape(-1, 2)
    return np.stack([sizes[:, 1] / 2, sizes[:, 0] / 2], axis=1)


def best_box_points(boxes, scores, classes, num_classes):
    """L. R-CNN* (Table 4.2): of one image's detections (boxes (D, 4), scores (D,), classes (D,)
    0..K-1), the best-scoring box per class -> (confidences (K,), its centre (K, 2) (x, y));
    a class without detections gets confidence -inf (ranked last) and the point (nan, nan)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    scores, classes = np.asarray(scores, np.float64).reshape(-1), np.asarray(classes).reshape(-1)
    confidences, points = np.full(num_classes, -np.inf), np.full((num_classes, 2), np.nan)
    for k in range(num_classes):
        members = np.flatnonzero(classes == k)
        if members.size:
            best = members[np.argmax(scores[members])]
            confidences[k] = scores[best]
            # centre of the inclusive-corner box in continuous coordinates
            points[k] = [(boxes[best, 0] + boxes[best, 2] + 1) / 2, (boxes[best, 1] + boxes[best, 3] + 1) / 2]
    return confidences, points


def rcnn_star_location_aps(detections, examples, num_classes, tolerance=TOLERANCE) -> np.ndarray:
    """L. R-CNN* (Table 4.2-4.3): location AP per class of detections scored by the §4.6.1 metric.

    `detections`: per image (boxes (D, 4), scores (D,), classes (D,) 1..K), e.g. from
    `zoo.tasks.detection.rcnn_detect` (background is class 0 there); `examples`: per image the weak
    supervision example ("labels" (K,), "boxes", "box_labels" 0..K-1). Each class keeps its most
    confident box and the box's centre is the predicted location (§4.6.1: "keeping for each class and
    image only the best-scoring bounding box proposal and using the center of the bounding box").
    """
    metric = LocationAP(num_classes, tolerance)
    for (boxes, scores, classes), ex in zip(detections, examples):
        confidences, points = best_box_points(boxes, scores, np.asarray(classes) - 1, num_classes)
        metric.add_image(confidences, points, ex["labels"], ex["boxes"], ex["box_labels"])
    return metric.class_aps()
