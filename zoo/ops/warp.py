"""R-CNN's region warping: a proposal box -> a fixed-size CNN input (Donahue thesis §3.1.1, App. 3.4.1).

A transcription of rbgirshick/rcnn `rcnn_im_crop.m`,
vectorised over boxes with `keras.ops` (so it runs in tf.data and exports):

1. the tight box is scaled about its centre by `crop_size / (crop_size - 2 * padding)`, so that
   exactly `padding` pixels of context surround it at the warped size (p = 16 at 227), and
   rounded (MATLAB `round`, 1-based corners as in the original);
2. that box is clipped to the image; the clipped part is resized *anisotropically* with bilinear
   interpolation and no antialiasing (MATLAB `imresize(..., 'bilinear', 'antialiasing', false)`,
   to match OpenCV in Caffe's WindowDataLayer) to the size it takes in the output, and pasted at
   its offset;
3. everything else is the image mean, i.e. 0 on a mean-subtracted image: pass the network input
   (BGR minus the mean), and the fill is 0.

Modes (App. 3.4.1, Fig. 3.7): "warp" (the paper's choice, p = 16: 3-5 mAP above the others),
"square" (the tightest square around the box, context from the image, scaled isotropically) and
"square_no_context" (the same square, but pixels outside the box take the mean). `padding=0`
gives the "warp, p = 0" alternative. Boxes are the zoo's `[x1, y1, x2, y2]` in 0-based
inclusive pixels (zoo.ops.boxes conventions).
"""

from __future__ import annotations

from keras import ops

from zoo.errors import ConfigError

MODES = ("warp", "square", "square_no_context")


def _round(x):
    """MATLAB's round: halves away from zero."""
    return ops.sign(x) * ops.floor(ops.abs(x) + 0.5)


def warp_geometry(boxes, image_height, image_width, crop_size=227, padding=16, mode="warp"):
    """Where each box's pixels go: a dict of (K,) float tensors (rcnn_im_crop's variables).

    `src_x1 .. src_y2`: the clipped source window (0-based inclusive), `pad_x, pad_y`: the output
    offset of its resized copy, `crop_w, crop_h`: that copy's size, and `box_*` the tight box
    (for "square_no_context").
    """
    if mode not in MODES:
        raise ConfigError(f"warp mode must be one of {MODES}, got {mode!r}")
    if not 0 <= 2 * padding < crop_size:
        raise ConfigError(f"warp padding must be in [0, crop_size / 2), got {padding} for crop_size {crop_size}")
    boxes = ops.cast(ops.convert_to_tensor(boxes), "float32") + 1.0  # MATLAB's 1-based corners
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    half_w, half_h = (x2 - x1 + 1) / 2, (y2 - y1 + 1) / 2
    cx, cy = x1 + half_w, y1 + half_h
    if mode != "warp":
        half_w = half_h = ops.maximum(half_w, half_h)
    scale = crop_size / (crop_size - 2.0 * padding)
    if padding == 0 and mode == "warp":  # the original skips the rescaling: the box itself
        bx1, by1, bx2, by2 = x1, y1, x2, y2
    else:  # (note the far corner: centre + half = x2 + 1, so the scaled box is a pixel wider, as in the original)
        bx1, by1 = _round(cx - half_w * scale), _round(cy - half_h * scale)
        bx2, by2 = _round(cx + half_w * scale), _round(cy + half_h * scale)
    width, height = ops.cast(image_width, "float32"), ops.cast(image_height, "float32")
    unclipped_w, unclipped_h = bx2 - bx1 + 1, by2 - by1 + 1
    pad_x, pad_y = ops.maximum(0.0, 1 - bx1), ops.maximum(0.0, 1 - by1)
    cx1, cy1 = ops.maximum(1.0, bx1), ops.maximum(1.0, by1)
    cx2, cy2 = ops.minimum(width, bx2), ops.minimum(height, by2)
    scale_x, scale_y = crop_size / unclipped_w, crop_size / unclipped_h
    crop_w, crop_h = _round((cx2 - cx1 + 1) * scale_x), _round((cy2 - cy1 + 1) * scale_y)
    pad_x, pad_y = _round(pad_x * scale_x), _round(pad_y * scale_y)
    crop_w, crop_h = ops.minimum(crop_w, crop_size - pad_x), ops.minimum(crop_h, crop_size - pad_y)
    return {"src_x1": cx1 - 1, "src_y1": cy1 - 1, "src_x2": cx2 - 1, "src_y2": cy2 - 1, "pad_x": pad_x,
            "pad_y": pad_y, "crop_w": crop_w, "crop_h": crop_h,
            "box_x1": x1 - 1, "box_y1": y1 - 1, "box_x2": x2 - 1, "box_y2": y2 - 1}


def _axis(start, end, pad, size, crop_size):
    """Source coordinates (K, S) of the output positions along one axis and which are inside the copy.

    imresize without antialiasing samples output pixel i of `size` at input `(i + 0.5) * n / size
    - 0.5` of the n-pixel window, clamped to the window (its edges replicate).
    """
    i = ops.arange(crop_size, dtype="float32")[None, :] - pad[:, None]
    inside = ops.logical_and(i >= 0, i < size[:, None])
    n = (end - start + 1)[:, None]
    src = (i + 0.5) * n / ops.maximum(size[:, None], 1.0) - 0.5
    src = ops.minimum(ops.maximum(src, 0.0), n - 1) + start[:, None]
    return src, inside


def warp_regions(image, boxes, crop_size=227, padding=16, mode="warp"):
    """Warp the regions `boxes` (K, 4) of one `image` (H, W, C), mean-subtracted -> (K, S, S, C).

    See the module docstring; the fill is 0 (the mean). Gathers and arithmetic only.
    """
    image = ops.convert_to_tensor(image)
    image = image if "float" in ops.dtype(image) else ops.cast(image, "float32")
    shape = ops.shape(image)
    height, width, channels = shape[0], shape[1], shape[2]
    g = warp_geometry(boxes, height, width, crop_size, padding, mode)
    ys, y_in = _axis(g["src_y1"], g["src_y2"], g["pad_y"], g["crop_h"], crop_size)
    xs, x_in = _axis(g["src_x1"], g["src_x2"], g["pad_x"], g["crop_w"], crop_size)
    y0, x0 = ops.floor(ys), ops.floor(xs)
    y1 = ops.minimum(y0 + 1, ops.cast(height - 1, "float32"))
    x1 = ops.minimum(x0 + 1, ops.cast(width - 1, "float32"))
    wy, wx = (ys - y0)[:, :, None, None], (xs - x0)[:, None, :, None]
    flat = ops.reshape(image, (-1, channels))

    def gather(yi, xi):  # (K, S) rows, (K, S) columns -> (K, S, S, C)
        index = ops.cast(yi, "int32")[:, :, None] * width + ops.cast(xi, "int32")[:, None, :]
        return ops.cast(ops.take(flat, index, axis=0), "float32")

    top = gather(y0, x0) * (1 - wx) + gather(y0, x1) * wx
    bottom = gather(y1, x0) * (1 - wx) + gather(y1, x1) * wx
    out = top * (1 - wy) + bottom * wy
    keep = ops.logical_and(y_in[:, :, None], x_in[:, None, :])
    if mode == "square_no_context":
        in_y = ops.logical_and(ys >= g["box_y1"][:, None] - 0.5, ys <= g["box_y2"][:, None] + 0.5)
        in_x = ops.logical_and(xs >= g["box_x1"][:, None] - 0.5, xs <= g["box_x2"][:, None] + 0.5)
        keep = ops.logical_and(keep, ops.logical_and(in_y[:, :, None], in_x[:, None, :]))
    return ops.where(keep[..., None], out, 0.0)
