"""Non-maximum suppression of region masks on regular grids in linear time (Long thesis §4.3.5).

A region network predicts one mask per grid point of each pathway (§4.3.4). Region (y, x) of a
pathway with stride s and a k x k coarse mask (centre index c = k // 2, as zoo.ops.pairwise)
covers the pixel window rows [(y - c) s, (y - c + k) s) and columns likewise; its mask cell
(i, j) is the s x s pixel block at rows (y + i - c) s .. and columns (x + j - c) s .., so masks
are compared before upsampling, as §4.3.5 allows. Because the windows lie on known grids, the
regions that can overlap a given one are known a priori: `grid_nms` compares each candidate only
with the kept regions whose windows intersect its own (a neighbourhood whose size depends on
the pathways' strides and windows, not on the image size), so the comparisons grow linearly
with the number of regions (the sort by score is the only n log n step). Its result equals the
brute-force greedy mask NMS (`mask_nms`) on the rendered masks; tests/region checks it on
random grids, and `python -m zoo.bench.grid_nms` measures the time against the region count.

The NMS threshold is not stated in the thesis; callers choose it. NumPy, host-side.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from zoo.errors import ConfigError


@dataclasses.dataclass
class RegionGrid:
    """One pathway's regions: `masks` bool (H, W, k, k), `scores` (H, W), `stride` s in pixels."""

    masks: np.ndarray
    scores: np.ndarray
    stride: int

    def __post_init__(self):
        self.masks = np.asarray(self.masks, bool)
        self.scores = np.asarray(self.scores, np.float64)
        if self.masks.ndim != 4 or self.masks.shape[2] != self.masks.shape[3]:
            raise ConfigError(f"RegionGrid masks are (H, W, k, k); got shape {self.masks.shape}")
        if self.scores.shape != self.masks.shape[:2]:
            raise ConfigError(f"RegionGrid scores are (H, W) = {self.masks.shape[:2]}; got {self.scores.shape}")
        self.stride = int(self.stride)
        if self.stride < 1:
            raise ConfigError(f"a region grid's stride is a positive number of pixels; got {self.stride}")

    @property
    def k(self):
        return self.masks.shape[2]

    def origin(self, y, x):
        """Pixel (row, column) of mask cell (0, 0) of region (y, x)."""
        c = self.k // 2
        return (y - c) * self.stride, (x - c) * self.stride


def _fine(mask, factor):
    return mask if factor == 1 else np.repeat(np.repeat(mask, factor, 0), factor, 1)


def _mask_boxes(g):
    """(H, W, 4) pixel boxes [top, left, bottom, right) of each region's mask (empty: 0-size)."""
    rows, cols = g.masks.any(3), g.masks.any(2)
    k = g.k
    first_r, last_r = rows.argmax(-1), k - 1 - rows[..., ::-1].argmax(-1)
    first_c, last_c = cols.argmax(-1), k - 1 - cols[..., ::-1].argmax(-1)
    ys, xs = np.indices(g.scores.shape)
    top, left = (ys - k // 2) * g.stride, (xs - k // 2) * g.stride
    boxes = np.stack([top + first_r * g.stride, left + first_c * g.stride,
                      top + (last_r + 1) * g.stride, left + (last_c + 1) * g.stride], -1)
    return np.where(rows.any(-1)[..., None], boxes, 0)


def _box_bound(boxes, areas, region, q, ys, xs):
    """An upper bound of the mask IoUs: the masks meet at most in their boxes' intersection."""
    a = boxes[region[0]][region[1], region[2]]
    b = boxes[q][ys, xs]
    inter = (np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None)
             * np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None))
    inter = np.minimum(inter, np.minimum(areas[region[0]][region[1], region[2]], areas[q][ys, xs]))
    union = areas[region[0]][region[1], region[2]] + areas[q][ys, xs] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _suppressed(grids, areas, boxes, region, q, ys, xs, threshold):
    """Whether a kept region (ys, xs) of pathway q overlaps `region` by more than `threshold`."""
    close = _box_bound(boxes, areas, region, q, ys, xs) > threshold
    return bool(close.any()) and bool((_ious(grids, areas, region, q, ys[close], xs[close]) > threshold).any())


def _ious(grids, areas, region, q, ys, xs):
    """Mask IoUs (in pixels) of `region` = (pathway, y, x) with the regions (ys, xs) of pathway q,
    on their common finer lattice: block sums of the candidate's mask (an integral image) under
    each cell of the others' masks."""
    g, h = grids[region[0]], grids[q]
    s = min(g.stride, h.stride)
    if g.stride % s or h.stride % s:
        raise ConfigError(f"grid NMS compares pathways whose strides divide one another; got {g.stride} and {h.stride}")
    a = _fine(g.masks[region[1], region[2]], g.stride // s)
    m = a.shape[0]
    integral = np.zeros((m + 1, m + 1), np.int64)
    integral[1:, 1:] = a.cumsum(0).cumsum(1)
    oy, ox = (v // s for v in g.origin(region[1], region[2]))
    f, c, cells = h.stride // s, h.k // 2, np.arange(h.k + 1)
    r = np.clip((ys[:, None] - c + cells) * f - oy, 0, m)
    w = np.clip((xs[:, None] - c + cells) * f - ox, 0, m)
    r0, r1, w0, w1 = r[:, :-1, None], r[:, 1:, None], w[:, None, :-1], w[:, None, 1:]
    blocks = integral[r1, w1] - integral[r0, w1] - integral[r1, w0] + integral[r0, w0]
    inter = (blocks * h.masks[ys, xs]).sum((1, 2)) * s * s
    union = areas[region[0]][region[1], region[2]] + areas[q][ys, xs] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _neighbours(grids, kept, region):
    """Per pathway q, the kept regions (ys, xs) whose windows intersect `region`'s window."""
    g = grids[region[0]]
    top, left = g.origin(region[1], region[2])
    bottom, right = top + g.k * g.stride, left + g.k * g.stride
    for q, h in enumerate(grids):
        c = h.k // 2
        # window rows [(y' - c) s, (y' - c + k) s) meet [top, bottom) iff top // s + c - k < y' < ceil(bottom / s) + c
        ylo, yhi = max(top // h.stride + c - h.k + 1, 0), min(-(-bottom // h.stride) + c, h.scores.shape[0])
        xlo, xhi = max(left // h.stride + c - h.k + 1, 0), min(-(-right // h.stride) + c, h.scores.shape[1])
        if ylo >= yhi or xlo >= xhi:
            continue
        ys, xs = np.nonzero(kept[q][ylo:yhi, xlo:xhi])
        if ys.size:
            yield q, ys + ylo, xs + xlo


def grid_nms(grids, iou_threshold, max_output=None):
    """Greedy mask NMS over the regions of `grids` (RegionGrid list): int64 (N, 3) rows (pathway,
    y, x) of the kept regions, best score first (ties in pathway, then row-major order). A region
    is dropped when its mask IoU with a kept better one is > `iou_threshold`, as `mask_nms`."""
    grids = list(grids)
    areas = [g.masks.reshape(*g.scores.shape, -1).sum(-1).astype(np.int64) * g.stride ** 2 for g in grids]
    candidates = [np.stack([np.full(g.scores.size, p), *np.indices(g.scores.shape).reshape(2, -1)], 1)
                  for p, g in enumerate(grids)]
    regions = np.concatenate(candidates) if candidates else np.zeros((0, 3), np.int64)
    scores = np.concatenate([g.scores.reshape(-1) for g in grids]) if grids else np.zeros(0)
    boxes = [_mask_boxes(g) for g in grids]
    kept_grid = [np.zeros(g.scores.shape, bool) for g in grids]
    keep = []
    for index in np.argsort(-scores, kind="stable"):
        if max_output is not None and len(keep) >= max_output:
            break
        region = tuple(int(v) for v in regions[index])
        if not any(_suppressed(grids, areas, boxes, region, q, ys, xs, iou_threshold)
                   for q, ys, xs in _neighbours(grids, kept_grid, region)):
            kept_grid[region[0]][region[1], region[2]] = True
            keep.append(region)
    return np.asarray(keep, np.int64).reshape(-1, 3)


def clip_to_image(grids, height, width):
    """The grids with every mask cell outside the height x width image cleared (a region's window
    may reach past the border; its pixels there are not part of any object)."""
    out = []
    for g in grids:
        c, cells = g.k // 2, np.arange(g.k)
        rows = (np.arange(g.scores.shape[0])[:, None] - c + cells) * g.stride
        cols = (np.arange(g.scores.shape[1])[:, None] - c + cells) * g.stride
        inside_r, inside_c = rows < height, cols < width
        inside_r &= rows >= 0
        inside_c &= cols >= 0
        keep = inside_r[:, None, :, None] & inside_c[None, :, None, :]
        out.append(RegionGrid(g.masks & keep, g.scores, g.stride))
    return out


def render_regions(grids, height, width):
    """Every region's mask as a (N, height, width) bool array in pixels (regions in pathway, then
    row-major order; parts outside the image are cut off), with (N, 3) rows (pathway, y, x)."""
    masks, rows = [], []
    for p, g in enumerate(grids):
        for y, x in np.ndindex(g.scores.shape):
            canvas = np.zeros((height, width), bool)
            top, left = g.origin(y, x)
            fine = _fine(g.masks[y, x], g.stride)
            y0, x0 = max(top, 0), max(left, 0)
            y1, x1 = min(top + fine.shape[0], height), min(left + fine.shape[1], width)
            if y0 < y1 and x0 < x1:
                canvas[y0:y1, x0:x1] = fine[y0 - top:y1 - top, x0 - left:x1 - left]
            masks.append(canvas)
            rows.append((p, y, x))
    return np.asarray(masks, bool).reshape(-1, height, width), np.asarray(rows, np.int64).reshape(-1, 3)


def mask_iou(a, b, chunk=64):
    """(N, M) IoU of bool masks a (N, H, W) and b (M, H, W); 0 where both are empty. The
    intersections are float32 matrix products (exact below 2^24 pixels) over `chunk` masks of b
    at a time, so a thousand full-size proposals need no gigabytes."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    pixels = int(np.prod(a.shape[1:]))
    a = a.reshape(len(a), pixels)
    b = b.reshape(len(b), int(np.prod(b.shape[1:])))
    af = a.astype(np.float32)
    inter = np.zeros((len(a), len(b)), np.float64)
    for start in range(0, len(b), chunk):
        inter[:, start:start + chunk] = af @ b[start:start + chunk].astype(np.float32).T
    union = a.sum(1)[:, None].astype(np.float64) + b.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def mask_nms(masks, scores, iou_threshold, max_output=None):
    """Brute-force greedy NMS of bool masks (N, H, W): indices kept, best score first (stable ties);
    each kept mask is compared with every remaining one (quadratic)."""
    masks = np.asarray(masks, bool)
    scores = np.asarray(scores, np.float64).reshape(-1)
    if len(masks) != len(scores):
        raise ConfigError(f"mask_nms: {len(masks)} masks but {len(scores)} scores")
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size and (max_output is None or len(keep) < max_output):
        i, rest = order[0], order[1:]
        keep.append(i)
        order = rest[mask_iou(masks[i:i + 1], masks[rest])[0] <= iou_threshold]
    return np.asarray(keep, np.int64)
