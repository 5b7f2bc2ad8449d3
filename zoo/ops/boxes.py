"""Box operations of R-CNN and Fast R-CNN, in the conventions of their Caffe releases.

Conventions (those of rbgirshick/rcnn, fast-rcnn and py-faster-rcnn):

- A box is the last axis of a `(..., 4)` array, `[x1, y1, x2, y2]` in pixel coordinates.
- Corners are *inclusive* pixel indices: a box's width is `x2 - x1 + pixel_offset` with
  `pixel_offset=1.0` (the default, as in `bbox_overlaps`, `bbox_transform`, `clip_boxes`,
  `py_cpu_nms`), so `[3, 3, 3, 3]` is one pixel. Pass `pixel_offset=0.0` for continuous
  coordinates (width `x2 - x1`, the convention of Detectron2 and torchvision).
- Images and feature maps are channels-last `(B, H, W, C)` (Keras' layout; Caffe is NCHW).
- RoIs of `roi_max_pool` are `(R, 5)` rows `[batch_index, x1, y1, x2, y2]`, as Caffe's.

Everything except `nms` / `batched_nms` is written with `keras.ops`: it accepts NumPy arrays,
runs on any Keras backend, inside `tf.function`, tf.data and Keras models, and exports to
TFLite with builtin ops. `nms` and `batched_nms` are host-side NumPy (evaluation code); the
Fast R-CNN export module uses `tf.image.non_max_suppression` instead.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from zoo.errors import ConfigError

# Detectron's clamp on predicted log-scales (core/config.py BBOX_XFORM_CLIP): exp(dw) stays below
# 1000/16, the largest box-to-anchor ratio, so float32 never overflows.
BBOX_XFORM_CLIP = math.log(1000.0 / 16.0)


def _float(x, dtype=None):
    """`x` as a tensor of float dtype (`dtype`, else its own float dtype, else float32)."""
    x = ops.convert_to_tensor(x)
    if dtype is not None:
        return ops.cast(x, dtype)
    return x if "float" in ops.dtype(x) else ops.cast(x, "float32")


def _corners(boxes):
    return boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3]


def _pair(value, what):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or any(int(v) != v or v < 1 for v in pair):
        raise ConfigError(f"{what} must be a positive int or a pair of them, got {value!r}")
    return tuple(int(v) for v in pair)


def box_area(boxes, pixel_offset=1.0):
    """Areas `(x2 - x1 + pixel_offset) * (y2 - y1 + pixel_offset)` of `(..., 4)` boxes -> `(...)`.

    Sides are clamped at 0, so an inverted box has area 0 (the originals would go negative).
    """
    x1, y1, x2, y2 = _corners(_float(boxes))
    return ops.maximum(x2 - x1 + pixel_offset, 0.0) * ops.maximum(y2 - y1 + pixel_offset, 0.0)


def pairwise_iou(a, b, pixel_offset=1.0):
    """Intersection over union of every box of `a` (N, 4) with every box of `b` (M, 4) -> (N, M).

    py-faster-rcnn's `bbox_overlaps` (lib/utils/bbox.pyx): intersection sides
    `min(x2) - max(x1) + pixel_offset`, clamped at 0. Pairs whose union is 0 (two zero-area
    boxes, possible with `pixel_offset=0`) have IoU 0.
    """
    a = _float(a)
    b = _float(b, a.dtype)
    ax1, ay1, ax2, ay2 = _corners(a[:, None, :])
    bx1, by1, bx2, by2 = _corners(b[None, :, :])
    iw = ops.maximum(ops.minimum(ax2, bx2) - ops.maximum(ax1, bx1) + pixel_offset, 0.0)
    ih = ops.maximum(ops.minimum(ay2, by2) - ops.maximum(ay1, by1) + pixel_offset, 0.0)
    inter = iw * ih
    union = box_area(a, pixel_offset)[:, None] + box_area(b, pixel_offset)[None, :] - inter
    positive = union > 0
    return ops.where(positive, inter / ops.where(positive, union, 1.0), 0.0)


def _centre_size(boxes, pixel_offset):
    x1, y1, x2, y2 = _corners(boxes)
    w = x2 - x1 + pixel_offset
    h = y2 - y1 + pixel_offset
    return x1 + 0.5 * w, y1 + 0.5 * h, w, h


def encode_deltas(boxes, gt_boxes, weights=(1.0, 1.0, 1.0, 1.0), pixel_offset=1.0):
    """Regression targets that move `boxes` (proposals P) onto `gt_boxes` (G), `(..., 4)` each.

    The R-CNN parametrization (Girshick et al. 2014, appendix C; py-faster-rcnn
    lib/fast_rcnn/bbox_transform.py `bbox_transform`): with centres `P_x = x1 + 0.5 * P_w` and
    widths `P_w = x2 - x1 + pixel_offset`,

        t_x = (G_x - P_x) / P_w,  t_y = (G_y - P_y) / P_h,  t_w = log(G_w / P_w),  t_h = log(G_h / P_h),

    each multiplied by its entry of `weights` (wx, wy, ww, wh), Detectron's target scaling
    (Fast R-CNN's released code uses 1; Faster R-CNN's heads (10, 10, 5, 5)). Shapes broadcast.
    Both boxes must have positive sides.
    """
    boxes = _float(boxes)
    gt_boxes = _float(gt_boxes, boxes.dtype)
    px, py, pw, ph = _centre_size(boxes, pixel_offset)
    gx, gy, gw, gh = _centre_size(gt_boxes, pixel_offset)
    wx, wy, ww, wh = (float(w) for w in weights)
    return ops.stack(
        [wx * (gx - px) / pw, wy * (gy - py) / ph, ww * ops.log(gw / pw), wh * ops.log(gh / ph)], axis=-1
    )


def decode_deltas(
    boxes,
    deltas,
    weights=(1.0, 1.0, 1.0, 1.0),
    clip_to=None,
    pixel_offset=1.0,
    max_log_scale=BBOX_XFORM_CLIP,
):
    """Apply regression `deltas` (..., 4) to `boxes` (..., 4): the exact inverse of `encode_deltas`.

    py-faster-rcnn's `bbox_transform_inv` with Detectron's corrections (lib/utils/boxes.py
    `bbox_transform`): the deltas are divided by `weights`, `t_w`/`t_h` are clamped from above
    at `max_log_scale` (default log(1000/16); None for no clamp) so `exp` cannot overflow, and
    the far corner is `centre + 0.5 * w - pixel_offset` (py-faster-rcnn omits the `- 1`, which
    makes its decoded boxes one pixel too large and the round trip inexact).

    Shapes broadcast, e.g. boxes (R, 1, 4) with class-specific deltas (R, K, 4). `clip_to`, an
    (height, width) pair, clips the result with `clip_boxes`.
    """
    boxes = _float(boxes)
    deltas = _float(deltas, boxes.dtype)
    px, py, pw, ph = _centre_size(boxes, pixel_offset)
    wx, wy, ww, wh = (float(w) for w in weights)
    dx, dy = deltas[..., 0] / wx, deltas[..., 1] / wy
    dw, dh = deltas[..., 2] / ww, deltas[..., 3] / wh
    if max_log_scale is not None:
        dw = ops.minimum(dw, max_log_scale)
        dh = ops.minimum(dh, max_log_scale)
    cx, cy = dx * pw + px, dy * ph + py
    w, h = ops.exp(dw) * pw, ops.exp(dh) * ph
    x1, y1 = cx - 0.5 * w, cy - 0.5 * h
    out = ops.stack([x1, y1, x1 + w - pixel_offset, y1 + h - pixel_offset], axis=-1)
    if clip_to is not None:
        out = clip_boxes(out, clip_to[0], clip_to[1], pixel_offset)
    return out


def clip_boxes(boxes, height, width, pixel_offset=1.0):
    """Clip `(..., 4)` boxes to an image of `height` x `width` pixels.

    py-faster-rcnn's `clip_boxes`: x into [0, width - pixel_offset], y into
    [0, height - pixel_offset] (the last pixel's index, with the default offset). `height` and
    `width` may be tensors (e.g. from `ops.shape` inside a model).
    """
    boxes = _float(boxes)
    x_max = ops.cast(width, boxes.dtype) - pixel_offset
    y_max = ops.cast(height, boxes.dtype) - pixel_offset
    x1, y1, x2, y2 = _corners(boxes)
    clip = lambda v, hi: ops.minimum(ops.maximum(v, 0.0), hi)  # noqa: E731
    return ops.stack([clip(x1, x_max), clip(y1, y_max), clip(x2, x_max), clip(y2, y_max)], axis=-1)


# ----------------------------------------------------------------------------- NMS (host side)


def _numpy(x):
    x = np.asarray(ops.convert_to_numpy(x))
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def nms(boxes, scores, iou_threshold, max_output=None, pixel_offset=1.0):
    """Greedy non-maximum suppression -> int64 indices of the kept boxes, best score first.

    py-faster-rcnn's `py_cpu_nms` (lib/nms/py_cpu_nms.py): take the highest-scoring remaining
    box, drop every remaining box whose IoU with it is > `iou_threshold`, repeat. Equal scores
    are taken in index order (a stable sort; `py_cpu_nms`'s `argsort()[::-1]` leaves ties to
    the sort). At most `max_output` indices if given. NumPy, for host-side evaluation code.
    """
    boxes = _numpy(boxes).reshape(-1, 4)
    scores = _numpy(scores).reshape(-1)
    if len(boxes) != len(scores):
        raise ValueError(f"nms: {len(boxes)} boxes but {len(scores)} scores")
    x1, y1, x2, y2 = boxes.T
    areas = np.maximum(x2 - x1 + pixel_offset, 0) * np.maximum(y2 - y1 + pixel_offset, 0)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size and (max_output is None or len(keep) < max_output):
        i, rest = order[0], order[1:]
        keep.append(i)
        iw = np.maximum(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + pixel_offset, 0)
        ih = np.maximum(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + pixel_offset, 0)
        inter = iw * ih
        union = areas[i] + areas[rest] - inter
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(boxes, scores, classes, iou_threshold, max_output=None, pixel_offset=1.0):
    """`nms` within each class of `classes` (N,) -> int64 indices, best score first over all classes.

    A loop over the classes present (not the coordinate-offset trick, which needs a bound on
    the coordinates and perturbs IoUs in float32); boxes of different classes never suppress
    each other. Equal scores are ordered by index; at most `max_output` indices if given.
    """
    boxes = _numpy(boxes).reshape(-1, 4)
    scores = _numpy(scores).reshape(-1)
    classes = np.asarray(ops.convert_to_numpy(classes)).reshape(-1)
    if not len(boxes) == len(scores) == len(classes):
        raise ValueError(f"batched_nms: {len(boxes)} boxes, {len(scores)} scores, {len(classes)} classes")
    kept = [np.zeros(0, np.int64)]
    for c in np.unique(classes):
        members = np.flatnonzero(classes == c)
        kept.append(members[nms(boxes[members], scores[members], iou_threshold, None, pixel_offset)])
    kept = np.concatenate(kept)
    kept = kept[np.lexsort((kept, -scores[kept]))]
    return kept if max_output is None else kept[:max_output]


# ----------------------------------------------------------------------------- RoI sampling


def _sample_points(lo, hi, n):
    """n sample coordinates from lo to hi (K,) -> (K, n): tf.image.crop_and_resize's spacing."""
    if n == 1:
        return (0.5 * (lo + hi))[:, None]
    steps = ops.arange(n, dtype=lo.dtype) / float(n - 1)
    return lo[:, None] + (hi - lo)[:, None] * steps[None, :]


def _lerp_indices(coords, size):
    """Floor/ceil indices (int32, clipped), lerp weights and in-range mask of sample coords."""
    limit = ops.cast(size - 1, coords.dtype)
    valid = ops.logical_and(coords >= 0, coords <= limit)
    lo, hi = ops.floor(coords), ops.ceil(coords)
    clip = lambda v: ops.cast(ops.minimum(ops.maximum(v, 0.0), limit), "int32")  # noqa: E731
    return clip(lo), clip(hi), coords - lo, valid


def crop_and_resize(images, boxes, box_indices, crop_size, extrapolation_value=0.0):
    """Bilinear crops of `images` (B, H, W, C) in pixel `boxes` (K, 4) -> (K, ch, cw, C).

    `tf.image.crop_and_resize` (bilinear, crop_and_resize_op.cc) with the zoo's boxes
    `[x1, y1, x2, y2]` in pixels instead of normalized `[y1, x1, y2, x2]`: the crop's samples
    are spaced evenly from pixel (x1, y1) to pixel (x2, y2), corners included (its centre for
    a crop side of 1), and samples outside [0, W-1] x [0, H-1] take `extrapolation_value`.
    Box k is cut from image `box_indices[k]`. Gathers and arithmetic only (exports to TFLite).
    """
    ch, cw = _pair(crop_size, "crop_size")
    images = _float(images)
    boxes = _float(boxes, images.dtype)
    shape = ops.shape(images)
    height, width, channels = shape[1], shape[2], shape[3]
    x1, y1, x2, y2 = _corners(boxes)
    y_lo, y_hi, y_lerp, y_valid = _lerp_indices(_sample_points(y1, y2, ch), height)
    x_lo, x_hi, x_lerp, x_valid = _lerp_indices(_sample_points(x1, x2, cw), width)
    flat = ops.reshape(images, (-1, channels))
    base = ops.cast(ops.convert_to_tensor(box_indices), "int32") * (height * width)

    def gather(yi, xi):  # (K, ch) rows, (K, cw) columns -> (K, ch, cw, C)
        index = base[:, None, None] + yi[:, :, None] * width + xi[:, None, :]
        return ops.take(flat, index, axis=0)

    x_lerp = x_lerp[:, None, :, None]
    top_left, top_right = gather(y_lo, x_lo), gather(y_lo, x_hi)
    bottom_left, bottom_right = gather(y_hi, x_lo), gather(y_hi, x_hi)
    top = top_left + (top_right - top_left) * x_lerp
    bottom = bottom_left + (bottom_right - bottom_left) * x_lerp
    out = top + (bottom - top) * y_lerp[:, :, None, None]
    valid = ops.logical_and(y_valid[:, :, None], x_valid[:, None, :])[..., None]
    return ops.where(valid, out, ops.cast(extrapolation_value, out.dtype))


def _round_half_away(x):
    """C's `round`: halves away from zero (`ops.round` rounds halves to even)."""
    return ops.sign(x) * ops.floor(ops.abs(x) + 0.5)


# RoI sizes (in feature-map cells) covered by the bin-edge table; larger RoIs take the last row's edges.
ROI_EDGE_TABLE = 4096


def _edge_table(pooled):
    """Caffe's bin edges, computed once in NumPy float32 exactly as ROIPoolingLayer does, for each RoI size
    1..ROI_EDGE_TABLE: (floor(p * bin), ceil((p + 1) * bin)) with bin = float32(size / pooled), (N, pooled) each.

    A lookup rather than the arithmetic in the graph: TensorFlow's graph optimiser (grappler's constant
    folding) and XLA rewrite `size / pooled` as `size * (1 / pooled)`, which in float32 moves an edge by one
    cell wherever p * size / pooled is a whole number (measured: eager and tf.function differed on random
    RoIs, e.g. size 7 into 6 bins)."""
    size = np.arange(1, ROI_EDGE_TABLE + 1, dtype=np.float32)[:, None]
    bin_size = size / np.float32(pooled)
    p = np.arange(pooled, dtype=np.float32)[None, :]
    return np.floor(p * bin_size).astype(np.float32), np.ceil((p + np.float32(1)) * bin_size).astype(np.float32)


def _bin_edges(start, end, pooled, limit):
    """Caffe's [start, end) of each of `pooled` bins of RoIs spanning start..end (R,) -> (R, pooled)."""
    size = ops.clip(end - start + 1.0, 1.0, float(ROI_EDGE_TABLE))  # malformed RoIs are forced to 1 x 1
    row = ops.cast(size, "int32") - 1
    low, high = (ops.take(ops.convert_to_tensor(t), row, axis=0) for t in _edge_table(pooled))
    limit = ops.cast(limit, "float32")
    clip = lambda v: ops.minimum(ops.maximum(v + start[:, None], 0.0), limit)  # noqa: E731
    return clip(low), clip(high)


# The lowest finite value of each float dtype. A masked max fills with it rather than -inf: the
# caller overwrites empty bins anyway, and tf2onnx lowers some selects to arithmetic where
# 0 * -inf is NaN (Fast R-CNN's ONNX export gave NaN scores for RoIs outside the image).
_LOWEST = {"float16": -65504.0, "bfloat16": -3.38e38, "float32": -3.4e38, "float64": -1.7e308}


def _masked_max(x, mask, axis):
    """Max of `x` over `axis` where `mask` (broadcast) holds; the dtype's lowest value where it never does."""
    lowest = _LOWEST.get(keras.backend.standardize_dtype(x.dtype), -3.4e38)
    return ops.max(ops.where(mask, x, ops.cast(lowest, x.dtype)), axis=axis, initial=lowest)  # initial: R may be 0


def roi_max_pool(features, rois, pooled_size, spatial_scale):
    """Fast R-CNN's RoI max pooling of `features` (B, H, W, C) -> (R, ph, pw, C).

    Caffe's ROIPoolingLayer::Forward_cpu (rbgirshick/caffe-fast-rcnn,
    src/caffe/layers/roi_pooling_layer.cpp; Girshick 2015, section 2.1). For each RoI
    `[batch_index, x1, y1, x2, y2]` of `rois` (R, 5), in input-image pixels:

    - its corners on the feature map are `round(x * spatial_scale)` (C `round`, halves away
      from zero), its size `max(end - start + 1, 1)`, and `bin = size / pooled` (float32);
    - bin (i, j) covers rows `[floor(i * bin_h), ceil((i + 1) * bin_h))` and columns likewise,
      offset by the RoI's start and clipped to the map, so bins may overlap and a RoI smaller
      than one bin repeats its pixels;
    - the output is the bin's maximum, or 0 for a bin that is empty after clipping.

    Written for a fixed RoI count in a graph: one gather of each RoI's image, then for each
    static pooled column and row a masked `max` (SELECT_V2 + REDUCE_MAX in TFLite, all
    builtins); no loop over RoIs. The cost is an (R, H, W, C) temporary per pooled column.
    Coordinates are computed in float32 whatever the feature dtype.

    The bin edges are looked up in a table computed once in NumPy float32 (`_edge_table`), so they
    are Caffe's in TensorFlow eager and graph mode, under XLA and in TFLite alike (computed in the
    graph, `size / pooled` was rewritten as `size * (1 / pooled)` by grappler and XLA, moving edges
    by one pixel); RoIs over ROI_EDGE_TABLE feature cells take the table's last row.
    """
    pooled_h, pooled_w = _pair(pooled_size, "pooled_size")
    features = _float(features)
    rois = _float(rois, "float32")
    shape = ops.shape(features)
    height, width = shape[1], shape[2]
    corners = _round_half_away(rois[:, 1:] * float(spatial_scale))  # float32 product, as in Caffe
    h_start, h_end = _bin_edges(corners[:, 1], corners[:, 3], pooled_h, height)
    w_start, w_end = _bin_edges(corners[:, 0], corners[:, 2], pooled_w, width)

    def inside(index_count, start, end):  # (R, pooled, count): position in bin
        index = ops.arange(index_count, dtype="float32")[None, None, :]
        return ops.logical_and(index >= start[:, :, None], index < end[:, :, None])

    x = ops.take(features, ops.cast(rois[:, 0], "int32"), axis=0)  # (R, H, W, C)
    in_cols = inside(width, w_start, w_end)  # (R, pw, W)
    x = ops.stack([_masked_max(x, in_cols[:, j, None, :, None], 2) for j in range(pooled_w)], axis=2)
    in_rows = inside(height, h_start, h_end)  # (R, ph, H); x is (R, H, pw, C)
    x = ops.stack([_masked_max(x, in_rows[:, i, :, None, None], 1) for i in range(pooled_h)], axis=1)
    empty = ops.logical_or((h_end <= h_start)[:, :, None], (w_end <= w_start)[:, None, :])
    return ops.where(empty[..., None], ops.cast(0, x.dtype), x)
