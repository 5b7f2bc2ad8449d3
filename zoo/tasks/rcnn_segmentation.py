"""R-CNN for semantic segmentation (Donahue thesis §3.2, Tables 3.5-3.7) inside the O2P pipeline.

Region proposals are masks (CPMC's 150 per image in the paper; `read_cpmc_masks` reads them when the
user has them; `offline_regions` is an offline region generator, Felzenszwalb superpixels and the
unions of adjacent pairs, named as such: not CPMC). For each region (§3.2):

- **full**: the CNN on the region's bounding box warped to the network input, as in detection;
- **fg**: the same window with the pixels outside the region's mask set to the mean (0 after mean
  subtraction), so only the foreground shape is seen;
- **full+fg**: the two feature vectors concatenated.

Per class, a support vector regressor (scikit-learn, `SVR` with a linear kernel by default) predicts
the region's quality, its overlap (IoU) with the ground truth of that class (O2P's target), and a
segmentation is read out by pasting the regions whose best class score passes a threshold, in
ascending score order so that better regions end on top (O2P's simple sequential pasting; the O2P
release's exact inference is not reproduced). The metric is VOC 2011's segmentation accuracy: the
mean over the 21 classes of the intersection over union (zoo.metrics.segmentation.mean_iu).
"""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError, CorruptRecordError

FEATURE_MODES = ("full", "fg", "full+fg")


def read_cpmc_masks(source, name=None) -> np.ndarray:
    """(N, H, W) bool region masks from a CPMC output .mat (variable `masks`, H x W x N logical)."""
    from zoo.data import matfiles  # tasks may read data infos and readers

    mat = matfiles.load(source, name or str(source))
    if "masks" not in mat:
        raise CorruptRecordError(f"{name or source} should hold CPMC's variable masks (H x W x N)")
    masks = np.asarray(mat["masks"]).astype(bool)
    return np.moveaxis(masks if masks.ndim == 3 else masks[..., None], -1, 0)


def offline_regions(image_rgb, scale=100.0, sigma=0.8, min_size=20, max_regions=150):
    """An offline region generator (NOT CPMC): Felzenszwalb's superpixels (skimage) and the unions of
    adjacent pairs (superpixels first, each group largest first), at most `max_regions` (N, H, W) bool masks."""
    from skimage.segmentation import felzenszwalb

    labels = felzenszwalb(np.asarray(image_rgb), scale=scale, sigma=sigma, min_size=min_size)
    n = int(labels.max()) + 1
    pairs = set()
    for a, b in ((labels[:, 1:], labels[:, :-1]), (labels[1:], labels[:-1])):
        touching = a != b
        pairs |= {tuple(sorted(p)) for p in zip(a[touching].tolist(), b[touching].tolist())}
    singles = sorted((labels == i for i in range(n)), key=lambda m: -int(m.sum()))
    unions = sorted(((labels == i) | (labels == j) for i, j in sorted(pairs)), key=lambda m: -int(m.sum()))
    return np.stack((singles + unions)[:max_regions])


def mask_boxes(masks) -> np.ndarray:
    """Tight boxes [x1, y1, x2, y2] (inclusive pixels) of (N, H, W) masks; an empty mask raises."""
    boxes = []
    for i, m in enumerate(np.asarray(masks, bool)):
        ys, xs = np.nonzero(m)
        if not len(ys):
            raise ConfigError(f"region {i} is empty")
        boxes.append([xs.min(), ys.min(), xs.max(), ys.max()])
    return np.asarray(boxes, np.float32)


def region_windows(image_bgr, masks, crop_size=227, padding=16):
    """(full, fg) windows (N, S, S, 3) of each region: its box warped with context (zoo.ops.warp); in fg
    the pixels outside the warped mask are 0 (the mean, after mean subtraction)."""
    from zoo.ops.warp import warp_regions

    masks = np.asarray(masks, bool)
    boxes = mask_boxes(masks)
    full = np.asarray(warp_regions(np.asarray(image_bgr, np.float32), boxes, crop_size, padding))
    warped = [np.asarray(warp_regions(m[..., None].astype(np.float32), boxes[i:i + 1], crop_size, padding))[0]
              for i, m in enumerate(masks)]
    return full, full * (np.stack(warped) >= 0.5)


def region_features(extract, image_bgr, masks, mode="full+fg", crop_size=227, padding=16):
    """(N, d) features of the regions: `extract(windows) -> (N, d)` (e.g. fc6 of a CaffeNet) on the full
    windows, the fg windows, or both concatenated (§3.2)."""
    if mode not in FEATURE_MODES:
        raise ConfigError(f"mode must be one of {FEATURE_MODES}, got {mode!r}")
    full, fg = region_windows(image_bgr, masks, crop_size, padding)
    parts = {"full": [full], "fg": [fg], "full+fg": [full, fg]}[mode]
    return np.concatenate([np.asarray(extract(w), np.float64).reshape(len(w), -1) for w in parts], axis=1)


def region_qualities(masks, label_map, num_classes, ignore_label=255):
    """(N, num_classes) IoU of each region with each class's ground-truth pixels (0 where a class is absent);
    pixels labelled `ignore_label` count in neither."""
    masks = np.asarray(masks, bool)
    label_map = np.asarray(label_map)
    valid = label_map != ignore_label
    out = np.zeros((len(masks), num_classes))
    for c in np.unique(label_map[valid]):
        gt = label_map == c
        inter = (masks & gt).sum(axis=(1, 2))
        union = ((masks | gt) & valid).sum(axis=(1, 2))
        out[:, int(c)] = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    return out


def fit_region_svrs(features, qualities, C=1.0, epsilon=0.1, kernel="linear"):
    """One scikit-learn SVR per class predicting the region quality -> (kernel (d, C), bias (C,)) for the
    linear kernel (an ordinary Dense layer can hold them), or the list of fitted regressors otherwise."""
    from sklearn.svm import SVR

    features, qualities = np.asarray(features, np.float64), np.asarray(qualities, np.float64)
    models = [SVR(kernel=kernel, C=C, epsilon=epsilon).fit(features, qualities[:, c])
              for c in range(qualities.shape[1])]
    if kernel != "linear":
        return models
    return (np.stack([m.coef_.ravel() for m in models], axis=1), np.asarray([m.intercept_[0] for m in models]))


def paste_regions(masks, scores, threshold=0.0, background=0):
    """A label map from region scores (N, C): each region takes its best non-background class; regions whose
    score passes `threshold` are painted in ascending score order (the best on top), the rest stays background."""
    masks, scores = np.asarray(masks, bool), np.asarray(scores, np.float64)
    cls = 1 + np.argmax(scores[:, 1:], axis=1)
    best = scores[np.arange(len(scores)), cls]
    out = np.full(masks.shape[1:], background, np.int64)
    for i in np.argsort(best, kind="stable"):
        if best[i] > threshold:
            out[masks[i]] = cls[i]
    return out


def segmentation_accuracy(label_maps, predictions, num_classes=21, ignore_label=255) -> float:
    """VOC 2011's mean segmentation accuracy: mean over classes of the IoU (zoo.metrics.segmentation)."""
    from zoo.metrics.confusion import confusion_matrix
    from zoo.metrics.segmentation import mean_iu

    confusion = np.zeros((num_classes, num_classes), np.int64)
    for labels, pred in zip(label_maps, predictions):
        labels, pred = np.asarray(labels).ravel(), np.asarray(pred).ravel()
        keep = labels != ignore_label
        confusion += np.asarray(confusion_matrix(labels[keep], pred[keep], num_classes), np.int64)
    return float(mean_iu(confusion))
