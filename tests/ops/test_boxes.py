"""zoo.ops.boxes against plain-Python transcriptions of the original code.

References (written here, independent of zoo.ops): py-faster-rcnn's `bbox_overlaps`
(lib/utils/bbox.pyx), `bbox_transform` / `bbox_transform_inv` (lib/fast_rcnn/bbox_transform.py,
the inverse with Detectron's `- 1` and dw/dh clamp), `clip_boxes`, `py_cpu_nms`
(lib/nms/py_cpu_nms.py), caffe-fast-rcnn's ROIPoolingLayer::Forward_cpu loops and TensorFlow's
CPU crop_and_resize loops (crop_and_resize_op.cc).
"""

import math

import numpy as np
import pytest
import tensorflow as tf

import keras
from zoo.ops.boxes import (
    BBOX_XFORM_CLIP,
    batched_nms,
    box_area,
    clip_boxes,
    crop_and_resize,
    decode_deltas,
    encode_deltas,
    nms,
    pairwise_iou,
    roi_max_pool,
)

np_ = keras.ops.convert_to_numpy


def random_boxes(rng, n, size=60.0, min_side=0.0, max_side=30.0):
    xy = rng.uniform(0, size, (n, 2))
    wh = rng.uniform(min_side, max_side, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1).astype(np.float32)


# ----------------------------------------------------------------------------- references


def ref_bbox_overlaps(boxes, query_boxes, off=1.0):
    """lib/utils/bbox.pyx, loop for loop (with the +1 as `off`)."""
    overlaps = np.zeros((len(boxes), len(query_boxes)))
    for k, q in enumerate(query_boxes):
        box_area = (q[2] - q[0] + off) * (q[3] - q[1] + off)
        for n, b in enumerate(boxes):
            iw = min(b[2], q[2]) - max(b[0], q[0]) + off
            if iw > 0:
                ih = min(b[3], q[3]) - max(b[1], q[1]) + off
                if ih > 0:
                    ua = float((b[2] - b[0] + off) * (b[3] - b[1] + off) + box_area - iw * ih)
                    overlaps[n, k] = iw * ih / ua
    return overlaps


def ref_bbox_transform(ex_rois, gt_rois, weights=(1.0, 1.0, 1.0, 1.0)):
    ex_widths = ex_rois[:, 2] - ex_rois[:, 0] + 1.0
    ex_heights = ex_rois[:, 3] - ex_rois[:, 1] + 1.0
    ex_ctr_x = ex_rois[:, 0] + 0.5 * ex_widths
    ex_ctr_y = ex_rois[:, 1] + 0.5 * ex_heights
    gt_widths = gt_rois[:, 2] - gt_rois[:, 0] + 1.0
    gt_heights = gt_rois[:, 3] - gt_rois[:, 1] + 1.0
    gt_ctr_x = gt_rois[:, 0] + 0.5 * gt_widths
    gt_ctr_y = gt_rois[:, 1] + 0.5 * gt_heights
    wx, wy, ww, wh = weights
    targets_dx = wx * (gt_ctr_x - ex_ctr_x) / ex_widths
    targets_dy = wy * (gt_ctr_y - ex_ctr_y) / ex_heights
    targets_dw = ww * np.log(gt_widths / ex_widths)
    targets_dh = wh * np.log(gt_heights / ex_heights)
    return np.vstack((targets_dx, targets_dy, targets_dw, targets_dh)).transpose()


def ref_bbox_transform_inv(boxes, deltas, weights=(1.0, 1.0, 1.0, 1.0), clip=BBOX_XFORM_CLIP):
    widths = boxes[:, 2] - boxes[:, 0] + 1.0
    heights = boxes[:, 3] - boxes[:, 1] + 1.0
    ctr_x = boxes[:, 0] + 0.5 * widths
    ctr_y = boxes[:, 1] + 0.5 * heights
    wx, wy, ww, wh = weights
    dx = deltas[:, 0] / wx
    dy = deltas[:, 1] / wy
    dw = np.minimum(deltas[:, 2] / ww, clip)
    dh = np.minimum(deltas[:, 3] / wh, clip)
    pred_ctr_x = dx * widths + ctr_x
    pred_ctr_y = dy * heights + ctr_y
    pred_w = np.exp(dw) * widths
    pred_h = np.exp(dh) * heights
    return np.stack(
        [
            pred_ctr_x - 0.5 * pred_w,
            pred_ctr_y - 0.5 * pred_h,
            pred_ctr_x + 0.5 * pred_w - 1,  # Detectron's fix; py-faster-rcnn has no "- 1"
            pred_ctr_y + 0.5 * pred_h - 1,
        ],
        axis=1,
    )


def ref_clip_boxes(boxes, im_shape):
    out = boxes.copy()
    out[:, 0::4] = np.maximum(np.minimum(boxes[:, 0::4], im_shape[1] - 1), 0)
    out[:, 1::4] = np.maximum(np.minimum(boxes[:, 1::4], im_shape[0] - 1), 0)
    out[:, 2::4] = np.maximum(np.minimum(boxes[:, 2::4], im_shape[1] - 1), 0)
    out[:, 3::4] = np.maximum(np.minimum(boxes[:, 3::4], im_shape[0] - 1), 0)
    return out


def ref_py_cpu_nms(dets, thresh):
    """lib/nms/py_cpu_nms.py with a stable sort (ties: lower index first) and IoU 0 for an empty union."""
    x1, y1, x2, y2, scores = dets[:, 0], dets[:, 1], dets[:, 2], dets[:, 3], dets[:, 4]
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(int(i))
        xx1 = np.maximum(x1[i], x1[order[1:]])
        yy1 = np.maximum(y1[i], y1[order[1:]])
        xx2 = np.minimum(x2[i], x2[order[1:]])
        yy2 = np.minimum(y2[i], y2[order[1:]])
        w = np.maximum(0.0, xx2 - xx1 + 1)
        h = np.maximum(0.0, yy2 - yy1 + 1)
        inter = w * h
        union = areas[i] + areas[order[1:]] - inter
        ovr = inter / np.where(union > 0, union, 1)  # the original's 0 / 0 (two empty boxes) is NaN
        inds = np.where(ovr <= thresh)[0]
        order = order[inds + 1]
    return keep


def c_round(x):
    return math.floor(x + 0.5) if x >= 0 else math.ceil(x - 0.5)


def ref_roi_pool(bottom, rois, pooled_height, pooled_width, spatial_scale):
    """ROIPoolingLayer<float>::Forward_cpu, loop for loop, on NHWC data."""
    batch, height, width, channels = bottom.shape
    f32 = np.float32
    top = np.zeros((len(rois), pooled_height, pooled_width, channels), np.float32)
    for n, roi in enumerate(np.asarray(rois, np.float32)):
        roi_batch_ind = int(roi[0])
        assert 0 <= roi_batch_ind < batch
        roi_start_w, roi_start_h, roi_end_w, roi_end_h = (c_round(float(v * f32(spatial_scale))) for v in roi[1:])
        roi_height = max(roi_end_h - roi_start_h + 1, 1)
        roi_width = max(roi_end_w - roi_start_w + 1, 1)
        bin_size_h = f32(roi_height) / f32(pooled_height)
        bin_size_w = f32(roi_width) / f32(pooled_width)
        for c in range(channels):
            for ph in range(pooled_height):
                for pw in range(pooled_width):
                    hstart = int(math.floor(f32(ph) * bin_size_h))
                    wstart = int(math.floor(f32(pw) * bin_size_w))
                    hend = int(math.ceil(f32(ph + 1) * bin_size_h))
                    wend = int(math.ceil(f32(pw + 1) * bin_size_w))
                    hstart = min(max(hstart + roi_start_h, 0), height)
                    hend = min(max(hend + roi_start_h, 0), height)
                    wstart = min(max(wstart + roi_start_w, 0), width)
                    wend = min(max(wend + roi_start_w, 0), width)
                    is_empty = hend <= hstart or wend <= wstart
                    value = 0.0 if is_empty else -np.finfo(np.float32).max
                    for h in range(hstart, hend):
                        for w in range(wstart, wend):
                            if bottom[roi_batch_ind, h, w, c] > value:
                                value = bottom[roi_batch_ind, h, w, c]
                    top[n, ph, pw, c] = value
    return top


def ref_crop_and_resize(image, boxes, box_ind, crop_height, crop_width, extrapolation_value=0.0):
    """TensorFlow's CPU CropAndResize (bilinear) loops, boxes in pixels [x1, y1, x2, y2]."""
    _, image_height, image_width, depth = image.shape
    crops = np.zeros((len(boxes), crop_height, crop_width, depth), np.float64)
    for b, (x1, y1, x2, y2) in enumerate(np.asarray(boxes, np.float64)):
        height_scale = (y2 - y1) / (crop_height - 1) if crop_height > 1 else 0
        width_scale = (x2 - x1) / (crop_width - 1) if crop_width > 1 else 0
        for y in range(crop_height):
            in_y = y1 + y * height_scale if crop_height > 1 else 0.5 * (y1 + y2)
            if in_y < 0 or in_y > image_height - 1:
                crops[b, y] = extrapolation_value
                continue
            top_y, bottom_y = math.floor(in_y), math.ceil(in_y)
            y_lerp = in_y - top_y
            for x in range(crop_width):
                in_x = x1 + x * width_scale if crop_width > 1 else 0.5 * (x1 + x2)
                if in_x < 0 or in_x > image_width - 1:
                    crops[b, y, x] = extrapolation_value
                    continue
                left_x, right_x = math.floor(in_x), math.ceil(in_x)
                x_lerp = in_x - left_x
                img = image[box_ind[b]].astype(np.float64)
                top = img[top_y, left_x] + (img[top_y, right_x] - img[top_y, left_x]) * x_lerp
                bottom = img[bottom_y, left_x] + (img[bottom_y, right_x] - img[bottom_y, left_x]) * x_lerp
                crops[b, y, x] = top + (bottom - top) * y_lerp
    return crops


# ----------------------------------------------------------------------------- area, IoU


@pytest.mark.parametrize("off", [1.0, 0.0])
def test_box_area(off):
    boxes = random_boxes(np.random.default_rng(0), 30)
    boxes[:3, 2] = boxes[:3, 0] - off  # zero width
    expected = (boxes[:, 2] - boxes[:, 0] + off) * (boxes[:, 3] - boxes[:, 1] + off)
    np.testing.assert_allclose(np_(box_area(boxes, pixel_offset=off)), expected, rtol=1e-6)
    assert np.all(np_(box_area(boxes, pixel_offset=off))[:3] == 0)
    assert np_(box_area(np.zeros((0, 4), np.float32))).shape == (0,)
    assert float(np_(box_area([[3, 3, 3, 3]]))[0]) == 1.0  # an int box of one pixel


@pytest.mark.parametrize("off", [1.0, 0.0])
def test_pairwise_iou_matches_bbox_overlaps(off):
    rng = np.random.default_rng(1)
    a = random_boxes(rng, 25)
    b = np.concatenate([random_boxes(rng, 17), a[:3]])  # identical boxes give exactly 1
    a[0, 2:] = a[0, :2] - off  # zero-area boxes
    b[0, 2:] = b[0, :2] - off
    b[1] = [500, 500, 520, 530]  # disjoint from everything
    got = np_(pairwise_iou(a, b, pixel_offset=off))
    np.testing.assert_allclose(got, ref_bbox_overlaps(a, b, off), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got[[1, 2], [18, 19]], 1.0, rtol=1e-6)
    assert got[0].max() == 0 and got[:, 0].max() == 0 and got[:, 1].max() == 0
    assert (got > 0).mean() > 0.1  # the random boxes overlap enough to test something


def test_pairwise_iou_zero_union_and_empty():
    point = np.array([[5.0, 5.0, 5.0, 5.0]])
    assert float(np_(pairwise_iou(point, point, pixel_offset=0.0))[0, 0]) == 0.0
    assert float(np_(pairwise_iou(point, point))[0, 0]) == 1.0  # one pixel with the +1 convention
    assert np_(pairwise_iou(np.zeros((0, 4)), random_boxes(np.random.default_rng(2), 3))).shape == (0, 3)
    assert np_(pairwise_iou(point, np.zeros((0, 4)))).shape == (1, 0)


# ----------------------------------------------------------------------------- deltas, clipping


@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)])
def test_encode_decode_match_references_and_round_trip(weights):
    rng = np.random.default_rng(3)
    proposals = random_boxes(rng, 40, min_side=0.0).astype(np.float64)  # sides from 1 pixel
    gt = random_boxes(rng, 40, min_side=2.0).astype(np.float64)
    deltas = np_(encode_deltas(proposals, gt, weights))
    np.testing.assert_allclose(deltas, ref_bbox_transform(proposals, gt, weights), rtol=1e-10, atol=1e-12)
    decoded = np_(decode_deltas(proposals, deltas, weights))
    np.testing.assert_allclose(decoded, gt, rtol=0, atol=1e-9)
    random_deltas = rng.normal(0, 0.5, (40, 4))
    np.testing.assert_allclose(
        np_(decode_deltas(proposals, random_deltas, weights)),
        ref_bbox_transform_inv(proposals, random_deltas, weights),
        rtol=1e-10,
    )
    # float32 input stays float32 and still round-trips
    p32 = proposals.astype(np.float32)
    got32 = np_(decode_deltas(p32, encode_deltas(p32, gt, weights), weights))
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, gt, atol=2e-3)


def test_decode_clamps_scale_broadcasts_and_clips():
    boxes = np.array([[0.0, 0.0, 15.0, 15.0], [10.0, 20.0, 29.0, 59.0]], np.float32)
    deltas = np.array([[0.0, 0.0, 50.0, 50.0], [0.1, -0.2, 0.3, -0.4]], np.float32)
    out = np_(decode_deltas(boxes, deltas))
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0, 2] - out[0, 0] + 1, 1000.0, rtol=1e-5)  # 16 * exp(log(1000/16))
    np.testing.assert_allclose(out, ref_bbox_transform_inv(boxes, deltas), rtol=1e-5)
    np.testing.assert_allclose(np_(decode_deltas(boxes, deltas, max_log_scale=None))[1], out[1], rtol=1e-6)
    # class-specific deltas (R, K, 4) against boxes (R, 1, 4)
    per_class = np.stack([deltas, deltas[::-1]], axis=1)
    got = np_(decode_deltas(boxes[:, None, :], per_class))
    np.testing.assert_allclose(got[:, 0], out, rtol=1e-6)
    np.testing.assert_allclose(got[1, 1], np_(decode_deltas(boxes[1:], deltas[:1]))[0], rtol=1e-6)
    clipped = np_(decode_deltas(boxes, deltas, clip_to=(40, 30)))
    np.testing.assert_allclose(clipped, ref_clip_boxes(out, (40, 30)), rtol=1e-6)


def test_clip_boxes():
    boxes = random_boxes(np.random.default_rng(4), 30, size=80.0) - 20.0
    np.testing.assert_array_equal(np_(clip_boxes(boxes, 50, 40)), ref_clip_boxes(boxes, (50, 40)))
    cont = np_(clip_boxes(boxes, tf.constant(50), tf.constant(40), pixel_offset=0.0))
    assert cont[:, 0::2].max() == 40.0 and cont[:, 1::2].max() == 50.0 and cont.min() == 0.0


# ----------------------------------------------------------------------------- NMS


@pytest.mark.parametrize("thresh", [0.0, 0.3, 0.5, 0.7, 1.0])
def test_nms_matches_py_cpu_nms(thresh):
    rng = np.random.default_rng(5)
    boxes = random_boxes(rng, 80, size=15.0)
    scores = rng.uniform(size=80).astype(np.float32)
    scores[10:20] = scores[10]  # ties, broken by index
    boxes[20:23, 2:] = boxes[20:23, :2] - 1  # zero-area boxes
    expected = ref_py_cpu_nms(np.concatenate([boxes, scores[:, None]], 1), thresh)
    got = nms(boxes, scores, thresh)
    assert got.dtype == np.int64
    assert got.tolist() == expected
    assert 1 < len(expected) < 80 or thresh == 1.0
    assert nms(boxes, scores, thresh, max_output=5).tolist() == expected[:5]


def test_nms_ties_empty_and_tensors():
    boxes = np.array([[0, 0, 9, 9], [0, 0, 9, 9], [1, 1, 10, 10], [50, 50, 60, 60]], np.float32)
    assert nms(boxes, np.ones(4), 0.5).tolist() == [0, 3]  # equal scores: lower index wins
    assert nms(boxes, [0.1, 0.9, 0.5, 0.2], 0.5).tolist() == [1, 3]
    assert nms(tf.constant(boxes), tf.constant([0.1, 0.9, 0.5, 0.2]), 0.9).tolist() == [1, 2, 3]  # 0 is 1's duplicate
    assert nms(boxes, [0.1, 0.9, 0.5, 0.2], 1.0).tolist() == [1, 2, 3, 0]
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []
    assert nms(boxes, np.ones(4), 0.5, max_output=0).tolist() == []


def test_nms_continuous_matches_tf_image():
    rng = np.random.default_rng(6)
    boxes = random_boxes(rng, 60, size=40.0, min_side=1.0)
    scores = rng.permutation(60).astype(np.float32)  # distinct
    for thresh in (0.3, 0.6):
        expected = tf.image.non_max_suppression(boxes[:, [1, 0, 3, 2]], scores, 60, iou_threshold=thresh)
        assert nms(boxes, scores, thresh, pixel_offset=0.0).tolist() == expected.numpy().tolist()


def test_batched_nms():
    rng = np.random.default_rng(7)
    boxes = random_boxes(rng, 60, size=40.0)
    scores = rng.uniform(size=60)
    classes = rng.integers(0, 4, 60)
    expected = []
    for c in range(4):
        members = np.flatnonzero(classes == c)
        dets = np.concatenate([boxes[members], scores[members, None]], 1)
        expected += members[ref_py_cpu_nms(dets, 0.4)].tolist()
    expected.sort(key=lambda i: -scores[i])
    got = batched_nms(boxes, scores, classes, 0.4)
    assert got.tolist() == expected
    assert len(expected) > len(nms(boxes, scores, 0.4))  # classes do not suppress each other
    assert batched_nms(boxes, scores, classes, 0.4, max_output=7).tolist() == expected[:7]
    same = np.array([[0, 0, 9, 9]] * 3, np.float32)
    assert batched_nms(same, [0.5, 0.5, 0.9], [1, 0, 1], 0.5).tolist() == [2, 1]
    assert batched_nms(np.zeros((0, 4)), [], [], 0.5).tolist() == []


# ----------------------------------------------------------------------------- crop_and_resize


def test_crop_and_resize_matches_reference_and_tf_image():
    rng = np.random.default_rng(8)
    images = rng.normal(size=(2, 13, 17, 3)).astype(np.float32)
    boxes = random_boxes(rng, 9, size=14.0, max_side=10.0)
    boxes[0] = [-3.0, -2.5, 6.0, 20.0]  # partly outside
    boxes[1] = [4.0, 4.0, 4.0, 4.0]  # one pixel
    boxes[2] = [9.0, 2.0, 3.0, 7.5]  # flipped in x: tf samples it backwards
    box_ind = rng.integers(0, 2, 9)
    for crop in [(5, 4), (1, 3)]:
        got = np_(crop_and_resize(images, boxes, box_ind, crop))
        np.testing.assert_allclose(got, ref_crop_and_resize(images, boxes, box_ind, *crop), atol=1e-5)
        normalized = boxes[:, [1, 0, 3, 2]] / np.array([12, 16, 12, 16], np.float32)
        oracle = tf.image.crop_and_resize(images, normalized, box_ind, crop)
        np.testing.assert_allclose(got, oracle.numpy(), atol=1e-5)
    assert np.all(got[0, :, 0] == 0) and np.abs(got).sum() > 1
    filled = np_(crop_and_resize(images, boxes[:1], [0], 4, extrapolation_value=-7.0))
    assert np.all(filled[0, 0] == -7.0)
    assert np_(crop_and_resize(images, np.zeros((0, 4)), np.zeros(0, np.int32), 3)).shape == (0, 3, 3, 3)


# ----------------------------------------------------------------------------- roi_max_pool


def roi_cases(rng, batch, height, width, scale, count=14):
    rois = np.zeros((count, 5), np.float32)
    rois[:, 0] = rng.integers(0, batch, count)
    rois[:, 1:] = random_boxes(rng, count, size=width / scale, max_side=0.6 * width / scale)
    rois[0, 1:] = [-40, -30, 0.5 * width / scale, 2 * height / scale]  # partly outside the map
    rois[1, 1:] = [8, 8, 9, 9]  # smaller than one bin: pixels repeat
    rois[2, 1:] = [30, 20, 10, 5]  # malformed (x2 < x1): forced to 1 x 1
    rois[3, 1:] = [-100, -100, -60, -60]  # outside: every bin empty -> 0
    rois[4, 1:] = [8, 24, 40, 56]  # 0.5, 1.5, 2.5, 3.5 on a 1/16 map: C round, not to-even
    rois[5, 1:] = [0, 0, width / scale - 1, height / scale - 1]  # the whole image
    return rois


@pytest.mark.parametrize(
    "pooled, scale, shape",
    [((7, 7), 1 / 16, (2, 9, 11, 3)), ((3, 2), 0.5, (2, 12, 10, 4)), ((2, 2), 1.0, (1, 5, 6, 2))],
)
def test_roi_max_pool_matches_caffe(pooled, scale, shape):
    rng = np.random.default_rng(9)
    features = rng.normal(size=shape).astype(np.float32)
    rois = roi_cases(rng, shape[0], shape[1], shape[2], scale)
    got = np_(roi_max_pool(features, rois, pooled, scale))
    expected = ref_roi_pool(features, rois, *pooled, scale)
    assert got.shape == expected.shape == (len(rois), *pooled, shape[3])
    np.testing.assert_array_equal(got, expected)
    assert np.all(got[3] == 0) and np.all(got[5] != 0)


def test_roi_max_pool_empty_and_half_precision():
    features = np.random.default_rng(10).normal(size=(1, 6, 7, 2)).astype(np.float32)
    assert np_(roi_max_pool(features, np.zeros((0, 5), np.float32), 2, 1.0)).shape == (0, 2, 2, 2)
    rois = np.array([[0, 0.4, 0.6, 5.5, 4.49]], np.float32)
    half = np_(roi_max_pool(features.astype(np.float16), rois, 3, 1.0))
    assert half.dtype == np.float16
    np.testing.assert_array_equal(half, ref_roi_pool(features.astype(np.float16), rois, 3, 3, 1.0).astype(np.float16))


def test_roi_max_pool_in_tf_function_with_dynamic_map():
    rng = np.random.default_rng(11)
    pool = tf.function(
        lambda f, r: roi_max_pool(f, r, (3, 4), 0.25),
        input_signature=[tf.TensorSpec((2, None, None, 3)), tf.TensorSpec((6, 5))],
    )
    for height, width in [(8, 10), (11, 7)]:
        features = rng.normal(size=(2, height, width, 3)).astype(np.float32)
        rois = roi_cases(rng, 2, height, width, 0.25, count=6)
        out = pool(features, rois)
        assert out.shape == (6, 3, 4, 3)
        np.testing.assert_array_equal(out.numpy(), ref_roi_pool(features, rois, 3, 4, 0.25))


def test_roi_max_pool_graph_and_xla_equal_eager_and_caffe_on_random_rois():
    """Bin edges where p * size / pooled is whole (size 7 into 6 bins, 21 into 7): grappler's constant folding
    and XLA rewrite a division by the constant `pooled` as a multiplication, which moved such edges by one
    cell in graph mode (found on random RoIs with negative corners); the edges now come from a table."""
    from zoo.layers.roi import RoIMaxPooling

    rng = np.random.default_rng(13)
    features = rng.normal(size=(1, 20, 24, 3)).astype(np.float32)
    corners = rng.uniform(-200, 400, size=(60, 4)).astype(np.float32)
    rois = np.concatenate([np.minimum(corners[:, :2], corners[:, 2:]), np.maximum(corners[:, :2], corners[:, 2:])], 1)
    rois[0] = [0, 48, 100, 143]  # 7 cells high at 1/16 (rows 3..9)
    rows = np.concatenate([np.zeros((60, 1), np.float32), rois], 1)
    expected = ref_roi_pool(features, rows, 6, 6, 1 / 16)
    for jit in (False, True):
        graph = tf.function(lambda f, r: roi_max_pool(f, r, (6, 6), 1 / 16), jit_compile=jit)
        np.testing.assert_array_equal(graph(features, rows).numpy(), expected)
    layer = RoIMaxPooling(6, 1 / 16)
    np.testing.assert_array_equal(np_(layer(features, rois[None])), expected)  # negative corners as Caffe
    np.testing.assert_array_equal(tf.function(layer)(features, rois[None]).numpy(), expected)


def test_roi_max_pool_model_converts_to_tflite_builtins(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    keras.utils.set_random_seed(12)
    images = keras.Input((12, 16, 3), batch_size=1)
    rois = keras.Input((5,), batch_size=6)
    conv = keras.layers.Conv2D(4, 3, strides=2, padding="same")
    features = conv(images)
    pooled = keras.layers.Lambda(lambda t: roi_max_pool(t[0], t[1], (3, 2), 0.5))([features, rois])
    model = keras.Model([images, rois], keras.layers.Flatten()(pooled))
    # Through a SavedModel, as zoo.export does: from_concrete_functions leaves Keras 3 variables
    # as uninitialised VAR_HANDLEs.
    archive = keras.export.ExportArchive()
    archive.track(model)
    signature = [tf.TensorSpec((1, 12, 16, 3)), tf.TensorSpec((6, 5))]
    archive.add_endpoint("serving_default", lambda i, r: model([i, r]), input_signature=signature)
    archive.write_out(str(tmp_path / "saved"), verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "saved"))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    interpreter = Interpreter(model_content=converter.convert())
    interpreter.allocate_tensors()
    assert not [d["op_name"] for d in interpreter._get_ops_details() if "Flex" in d["op_name"]]

    rng = np.random.default_rng(12)
    x = rng.normal(size=(1, 12, 16, 3)).astype(np.float32)
    r = roi_cases(rng, 1, 6, 8, 0.5, count=6)
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], x if len(detail["shape"]) == 4 else r)
    interpreter.invoke()
    lite = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    expected = np_(model([x, r]))
    np.testing.assert_allclose(lite, expected, atol=1e-5)
    conv_out = np_(conv(x))
    np.testing.assert_allclose(expected, ref_roi_pool(conv_out, r, 3, 2, 0.5).reshape(6, -1), atol=1e-6)
