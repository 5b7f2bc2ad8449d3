"""The false-positive breakdown of Hoiem, Chodpathumwan and Dai 2012 ("Diagnosing error in object
detectors"), as R-CNN's error analysis uses it (Donahue thesis §3.1.6.4, Figs. 3.5 and 3.6).

Each detection of class c, taken in descending score order over the split (MATLAB's stable sort),
is one of (the tool's `analyzeFalsePositives.m` / `matchDetectionsWithGroundTruth.m`):

- correct: the "strong" match of class c (IoU >= 0.5 with a not yet detected object of class c in
  its image, the undetected one of largest IoU; a difficult object makes it correct too, as the
  tool's label 0 >= 0);
- **Loc**: not correct, but IoU >= 0.1 with some object of class c (the "weak" criterion: poor
  localisation, or a duplicate of an already detected object);
- **Sim**: neither, and IoU >= 0.1 with an object of a class similar to c;
- **Oth**: none of those, and IoU >= 0.1 with an object of any other class;
- **BG**: every other false positive (fired on background).

Overlaps are the devkit's (inclusive pixel corners, `+ 1`; zoo.metrics.detection). The tool's
similar classes for VOC (its setDatasetParameters.m) are `VOC_SIMILAR` below; its summary
groups (animals, vehicles, furniture) `VOC_SUMMARY_SETS`.

The trend plot (the tool's displayFPTrend.m, the stacked areas of Figs. 3.5/3.6): the flags of a
group's classes are added rank by rank (rank k = the k-th detection of each class), accumulated,
and read where the cumulative number of false positives first reaches 25, 50, ..., 3200; each
type's share of those false positives is stacked (Loc, Sim, Oth, BG). The tool locates the
x positions with a total that counts BG twice (`nsim+nbg+nloc+nbg+noth`); here each false
positive counts once.
"""

from __future__ import annotations

import numpy as np

from zoo.metrics.detection import DetectionAccumulator, _overlaps

FP_TYPES = ("Loc", "Sim", "Oth", "BG")
STRONG_IOU, WEAK_IOU = 0.5, 0.1
TREND_POINTS = (25, 50, 100, 200, 400, 800, 1600, 3200)
# The tool's colours (displayFPTrend.m colormap), Loc / Sim / Oth / BG.
COLOURS = ((79 / 255, 129 / 255, 189 / 255), (192 / 255, 80 / 255, 77 / 255),
           (min(1.0, 77 / 255 * 1.2), min(1.0, 192 / 255 * 1.2), min(1.0, 80 / 255 * 1.2)),
           (128 / 255, 100 / 255, 162 / 255))

# VOC classes 1..20 in the devkit's order (aeroplane=1 .. tvmonitor=20). Hoiem's similar sets:
# animals + person, all vehicles, bicycle/motorbike, furniture (chair, table, sofa), bird/aeroplane.
VOC_SIMILAR = ((3, 8, 10, 12, 13, 15, 17), (1, 4, 6, 7, 19, 2, 14), (2, 14), (9, 11, 18), (1, 3))
VOC_SUMMARY_SETS = {"animals": (3, 8, 10, 12, 13, 17), "vehicles": (1, 4, 6, 7, 19, 2, 14),
                    "furniture": (9, 11, 18)}


def similar_to(cls, groups):
    """The classes similar to `cls`: the union of the groups holding it, without itself."""
    return sorted({c for g in groups if cls in g for c in g} - {cls})


def _weak_hit(box, gt, threshold=WEAK_IOU):
    return gt is not None and len(gt) and bool((_overlaps(box, gt) >= threshold).any())


def classify_detections(scores, boxes, image_ids, cls, gt, similar, iou_strong=STRONG_IOU, iou_weak=WEAK_IOU):
    """Hoiem's types of one class's detections -> {"correct", "Loc", "Sim", "Oth", "BG"}: bool (N,) in rank order.

    `gt`: {class: ({image id: (M, 4) boxes}, {image id: (M,) difficult flags})} over all classes;
    `cls` the detections' class, `similar` its similar classes. Also "order", the score ranking.
    """
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    n = len(order)
    out = {k: np.zeros(n, bool) for k in ("correct",) + FP_TYPES}
    own_boxes, own_difficult = gt.get(cls, ({}, {}))
    detected = {key: np.zeros(len(v), bool) for key, v in own_boxes.items()}
    for rank, i in enumerate(order):
        image, box = image_ids[i], np.asarray(boxes[i], np.float64)
        own = own_boxes.get(image)
        if own is not None and len(own):
            ov = np.where(detected[image], -np.inf, _overlaps(box, own))
            j = int(np.argmax(ov))  # the undetected object of largest IoU (the first of equal maxima)
            if ov[j] >= iou_strong:
                detected[image][j] = out["correct"][rank] = True
                continue
        if _weak_hit(box, own, iou_weak):
            out["Loc"][rank] = True
        elif any(_weak_hit(box, gt.get(s, ({}, {}))[0].get(image), iou_weak) for s in similar):
            out["Sim"][rank] = True
        elif any(_weak_hit(box, g[0].get(image), iou_weak) for c, g in gt.items() if c != cls and c not in similar):
            out["Oth"][rank] = True
        else:
            out["BG"][rank] = True
    out["order"] = order
    return out


class FalsePositiveAnalysis(DetectionAccumulator):
    """Hoiem's false-positive types over a split, fed one image at a time like `DetectionAP`.

    Args:
        num_classes: N (classes 1..N; 0, background, is never scored).
        similar_groups: sets of mutually similar classes (`VOC_SIMILAR` for VOC's 20 classes).
    """

    def __init__(self, num_classes, similar_groups=VOC_SIMILAR):
        super().__init__(num_classes)
        self.similar_groups = tuple(tuple(g) for g in similar_groups)

    def class_types(self, cls) -> dict:
        """`classify_detections` of class `cls`'s detections over the split."""
        scores, boxes, ids = self.detections[cls]
        return classify_detections(scores, boxes, ids, cls, self.gt, similar_to(cls, self.similar_groups))

    def counts(self, classes=None, top=None) -> dict:
        """{type: count} over the top `top` false positives of each class (all if None), summed over classes."""
        out = dict.fromkeys(FP_TYPES, 0)
        for c in classes or range(1, self.num_classes + 1):
            t = self.class_types(c)
            fp = np.flatnonzero(~t["correct"])
            fp = fp if top is None else fp[:top]
            for k in FP_TYPES:
                out[k] += int(t[k][fp].sum())
        return out

    def trend(self, classes=None, points=TREND_POINTS) -> dict:
        """The stacked-area data of a group of classes: {"points": the false-positive counts reached,
        "fractions": (4, P) share of Loc / Sim / Oth / BG among them} (displayFPTrend.m)."""
        types = [self.class_types(c) for c in (classes or range(1, self.num_classes + 1))]
        length = max((len(t["correct"]) for t in types), default=0)
        per_rank = np.zeros((len(FP_TYPES), length))
        for t in types:
            for k, name in enumerate(FP_TYPES):
                per_rank[k, :len(t[name])] += t[name]
        cumulative = np.cumsum(per_rank, axis=1)
        total = cumulative.sum(axis=0)
        reached, fractions = [], []
        for p in points:
            hit = np.flatnonzero(total >= p)
            if hit.size:
                reached.append(p)
                fractions.append(cumulative[:, hit[0]] / total[hit[0]])
        return {"points": np.asarray(reached), "fractions": np.asarray(fractions).T.reshape(len(FP_TYPES), -1)}


def plot_fp_trend(trend, ax=None, title=None, path=None):
    """The stacked-area plot of `FalsePositiveAnalysis.trend` (Figs. 3.5/3.6; the tool's style:
    x = total false positives on a log-spaced axis, y = percentage of each type). Returns the axes;
    with `path`, writes a PNG there (matplotlib's Agg backend)."""
    import matplotlib

    if path is not None and ax is None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points, fractions = np.asarray(trend["points"]), np.asarray(trend["fractions"])
    if not points.size:
        raise ValueError("plot_fp_trend: the trend reaches no point (fewer false positives than the first point)")
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 4))
    x = np.arange(1, len(points) + 1)
    ax.stackplot(x, fractions * 100, labels=FP_TYPES, colors=COLOURS)
    ax.set_xticks(x, [str(p) for p in points])
    ax.set_xlim(1, max(len(points), 2))
    ax.set_ylim(0, 100)
    ax.set_xlabel("total false positives")
    ax.set_ylabel("percentage of each type")
    if title:
        ax.set_title(title)
    ax.legend(loc="lower left", fontsize=8)
    if fig is not None and path is not None:
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return ax
