"""Oquab et al. 2014's multi-scale patches (Oquab thesis §3.2.2, Eq. 3.1): the patch grid, the labelling
rule, background resampling, power-mean aggregation and the action task's person-centred patch. NumPy
only, pure functions (randomness comes in as a Generator). Boxes are (x0, y0, x1, y1) in pixels, x1/y1
exclusive, so a box's area is (x1 - x0) * (y1 - y0)."""

from __future__ import annotations

import math

import numpy as np

from zoo.errors import ConfigError

# §3.2.2: patch width s = min(w, h) / λ. The text says "eight different scales" and lists nine values
# (an inconsistency of the thesis): all nine are used.
SCALES = (1.0, 1.3, 1.6, 2.0, 2.4, 2.8, 3.2, 3.6, 4.0)
# "at least 50% overlap between neighboring patches" with "around 500 square patches" per image: at exactly
# 50% a 500x375 VOC image gets 275 patches, so the default spacing is 0.35 s (overlap >= 65%: 488 patches
# there, 561 at 500x333). [inference: the thesis gives the count and the bound, not the spacing]
MIN_OVERLAP = 0.65
BACKGROUND = 0  # label of background patches (objects are 1..N, as FCb's N+1 outputs)
EXCLUDED = -1  # patches over more than one object: left out of training (§3.3 "Failure modes")


def _positions(length, side, min_overlap):
    """Evenly spaced starts of `side`-long windows covering [0, length) with neighbours overlapping by
    at least `min_overlap` of the side (one window when it covers everything)."""
    if length <= side:
        return np.array([0.0])
    count = math.ceil((length - side) / (side * (1.0 - min_overlap))) + 1
    return np.linspace(0.0, length - side, count)


def patch_grid(height, width, scales=SCALES, min_overlap=MIN_OVERLAP) -> np.ndarray:
    """(M, 4) square patches (x0, y0, x1, y1) over an image: for each λ in `scales`, side min(w, h) / λ, on a
    regular grid whose neighbours overlap by at least `min_overlap` (>= 0.5 in the thesis)."""
    if not 0.5 <= min_overlap < 1.0:
        raise ConfigError(f"min_overlap must be in [0.5, 1) (the thesis: at least 50%), got {min_overlap}")
    if height < 1 or width < 1 or any(s < 1.0 for s in scales):
        raise ConfigError(f"need a non-empty image and scales >= 1, got {height}x{width}, {scales}")
    out = []
    for scale in scales:
        side = min(height, width) / scale
        for y in _positions(height, side, min_overlap):
            for x in _positions(width, side, min_overlap):
                out.append((x, y, x + side, y + side))
    return np.array(out, np.float64)


def _intersection(patches, boxes):
    """(M, K) intersection areas of patches and boxes."""
    p, b = np.asarray(patches, np.float64)[:, None], np.asarray(boxes, np.float64)[None]
    w = np.clip(np.minimum(p[..., 2], b[..., 2]) - np.maximum(p[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(p[..., 3], b[..., 3]) - np.maximum(p[..., 1], b[..., 1]), 0, None)
    return w * h


def label_patches(patches, boxes, box_classes, *, patch_fraction=0.2, box_fraction=0.6) -> np.ndarray:
    """Labels of patches from ground-truth boxes (§3.2.2): a box B covers patch P when |P ∩ B| >= 0.2 |P|
    and |P ∩ B| >= 0.6 |B|; a patch covered by exactly one box takes its class (1..N), by none BACKGROUND
    (0), by several EXCLUDED (-1: "the patch overlaps no more than one object")."""
    patches = np.asarray(patches, np.float64).reshape(-1, 4)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    box_classes = np.asarray(box_classes)
    if len(box_classes) != len(boxes) or (len(box_classes) and box_classes.min() < 1):
        raise ConfigError("box_classes needs one class >= 1 per box (0 is the background label)")
    if not len(boxes):
        return np.full(len(patches), BACKGROUND)
    inter = _intersection(patches, boxes)
    patch_area = ((patches[:, 2] - patches[:, 0]) * (patches[:, 3] - patches[:, 1]))[:, None]
    box_area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[None]
    covers = (inter >= patch_fraction * patch_area) & (inter >= box_fraction * box_area)
    count = covers.sum(axis=1)
    labels = np.where(count == 0, BACKGROUND, EXCLUDED)
    single = count == 1
    labels[single] = box_classes[covers[single].argmax(axis=1)]
    return labels


def keep_for_training(labels, rng, background_fraction=0.1) -> np.ndarray:
    """Sorted indices of the patches to train on: every object patch, a random `background_fraction` (10%,
    §3.2.2: resampling "instead of reweighting the loss") of the background ones, no excluded one."""
    labels = np.asarray(labels)
    background = np.flatnonzero(labels == BACKGROUND)
    kept = rng.choice(background, int(round(background_fraction * len(background))), replace=False)
    return np.sort(np.concatenate([np.flatnonzero(labels > 0), kept]))


def power_mean(patch_scores, k=5) -> np.ndarray:
    """Eq. 3.1: score(C_n) = (1/M) Σ_i y(C_n | P_i)^k over an image's M patches; `patch_scores` (M, C) are the
    patch class probabilities (the softmax of FCb), k = 5 "optimized on the validation set and ... fixed"."""
    scores = np.asarray(patch_scores, np.float64)
    if scores.ndim != 2 or not len(scores):
        raise ConfigError(f"patch_scores must be (patches, classes) with at least one patch, got {scores.shape}")
    return np.mean(scores**k, axis=0)


def person_patch(image, box) -> np.ndarray:
    """The action task's input (§3.2.2): the square centred on the person box (x0, y0, x1, y1), side the box's
    longer side, with the parts outside the image filled by mirroring its pixels ("possibly involves
    enlarging the original image by mirroring pixels"); returned at its own size (rescale to 224 after)."""
    image = np.asarray(image)
    x0, y0, x1, y1 = (float(v) for v in box)
    side = int(round(max(x1 - x0, y1 - y0)))
    if side < 1:
        raise ConfigError(f"the person box {box} is empty")
    left = int(round((x0 + x1) / 2 - side / 2))
    top = int(round((y0 + y1) / 2 - side / 2))
    h, w = image.shape[:2]
    pad_y = (max(0, -top), max(0, top + side - h))
    pad_x = (max(0, -left), max(0, left + side - w))
    if max(pad_y + pad_x) > max(h, w):
        raise ConfigError(f"the square around {box} reaches beyond one mirror image of a {h}x{w} picture")
    padded = np.pad(image, (pad_y, pad_x) + ((0, 0),) * (image.ndim - 2), mode="symmetric")
    top, left = top + pad_y[0], left + pad_x[0]
    return padded[top:top + side, left:left + side]
