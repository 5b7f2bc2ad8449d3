"""zoo.ops.warp against a NumPy transcription of rbgirshick/rcnn `rcnn_im_crop.m`, with
scikit-image's resize (bilinear, no antialiasing: MATLAB imresize's sampling) as the resizer."""

import numpy as np
import pytest
from skimage.transform import resize

from zoo.errors import ConfigError
from zoo.ops.warp import warp_regions


def _mround(x):
    return float(np.sign(x) * np.floor(abs(x) + 0.5))


def rcnn_im_crop(im, bbox, crop_mode, crop_size, padding):
    """rcnn_im_crop.m on a mean-subtracted image (1-based bbox [x1 y1 x2 y2]); the mean is 0."""
    use_square = crop_mode == "square"
    pad_w = pad_h = 0
    crop_width = crop_height = crop_size
    bbox = np.array(bbox, np.float64)
    if padding > 0 or use_square:
        scale = crop_size / (crop_size - padding * 2)
        half_height = (bbox[3] - bbox[1] + 1) / 2
        half_width = (bbox[2] - bbox[0] + 1) / 2
        center = [bbox[0] + half_width, bbox[1] + half_height]
        if use_square:
            half_width = half_height = max(half_width, half_height)
        bbox = np.array([_mround(v) for v in np.array(center + center)
                         + np.array([-half_width, -half_height, half_width, half_height]) * scale])
        unclipped_height = bbox[3] - bbox[1] + 1
        unclipped_width = bbox[2] - bbox[0] + 1
        pad_x1 = max(0, 1 - bbox[0])
        pad_y1 = max(0, 1 - bbox[1])
        bbox[0], bbox[1] = max(1, bbox[0]), max(1, bbox[1])
        bbox[2], bbox[3] = min(im.shape[1], bbox[2]), min(im.shape[0], bbox[3])
        clipped_height = bbox[3] - bbox[1] + 1
        clipped_width = bbox[2] - bbox[0] + 1
        scale_x = crop_size / unclipped_width
        scale_y = crop_size / unclipped_height
        crop_width = _mround(clipped_width * scale_x)
        crop_height = _mround(clipped_height * scale_y)
        pad_x1 = _mround(pad_x1 * scale_x)
        pad_y1 = _mround(pad_y1 * scale_y)
        pad_h, pad_w = pad_y1, pad_x1
        if pad_y1 + crop_height > crop_size:
            crop_height = crop_size - pad_y1
        if pad_x1 + crop_width > crop_size:
            crop_width = crop_size - pad_x1
    b = bbox.astype(int)
    window = im[b[1] - 1:b[3], b[0] - 1:b[2]]
    out = np.zeros((crop_size, crop_size, im.shape[2]), np.float64)
    ch, cw, ph, pw = int(crop_height), int(crop_width), int(pad_h), int(pad_w)
    if ch > 0 and cw > 0:
        out[ph:ph + ch, pw:pw + cw] = resize(window, (ch, cw), order=1, anti_aliasing=False, mode="edge",
                                              preserve_range=True)
    return out


def _boxes(rng, height, width, n):
    x1 = rng.integers(-10, width - 2, n)
    y1 = rng.integers(-10, height - 2, n)
    x2 = np.minimum(x1 + rng.integers(1, width, n), width + 8)
    y2 = np.minimum(y1 + rng.integers(1, height, n), height + 8)
    x1, y1 = np.maximum(x1, 0), np.maximum(y1, 0)
    x2, y2 = np.maximum(np.minimum(x2, width - 1), x1), np.maximum(np.minimum(y2, height - 1), y1)
    return np.stack([x1, y1, x2, y2], 1).astype(np.float32)


@pytest.mark.parametrize("mode,padding,crop", [("warp", 16, 227), ("warp", 0, 64), ("warp", 4, 56),
                                               ("square", 16, 64), ("square", 0, 41)])
def test_warp_equals_rcnn_im_crop(mode, padding, crop):
    rng = np.random.default_rng(crop + padding)
    image = rng.normal(0, 50, (37, 53, 3)).astype(np.float32)
    boxes = _boxes(rng, 37, 53, 4 if crop > 100 else 10)
    got = np.asarray(warp_regions(image, boxes, crop_size=crop, padding=padding, mode=mode))
    for k, box in enumerate(boxes):
        want = rcnn_im_crop(image.astype(np.float64), box + 1, mode, crop, padding)
        np.testing.assert_allclose(got[k], want, atol=2e-3, err_msg=f"box {box}")


def test_context_is_exactly_p_pixels_and_square_no_context_is_mean_outside_the_box():
    image = np.ones((300, 300, 1), np.float32)
    box = np.array([[50.0, 60.0, 249.0, 219.0]])  # 200 x 160, well inside
    marked = image.copy()
    marked[60:220, 50:250] = 5.0
    warped = np.asarray(warp_regions(marked, box, crop_size=227, padding=16))[0, :, :, 0]
    inside = np.argwhere(warped > 3)
    # the tight box lands on [16, 210] both ways, up to the original's rounding of the scaled box
    # (its far corner is one source pixel out, ~1.4 output pixels at this size)
    for axis in (0, 1):
        assert abs(inside[:, axis].min() - 16) <= 1 and abs(inside[:, axis].max() - 210) <= 2
    square = np.asarray(warp_regions(image, box, crop_size=100, padding=0, mode="square_no_context"))[0, :, :, 0]
    # a 200 x 200 square around a 160-tall box: rows 10..89 are the box, the rest the mean (0)
    assert square[12:88].min() == 1.0 and square[:9].max() == 0 and square[91:].max() == 0


def test_bad_mode_and_padding():
    with pytest.raises(ConfigError, match="mode"):
        warp_regions(np.zeros((4, 4, 3)), np.zeros((1, 4)), mode="crop")
    with pytest.raises(ConfigError, match="padding"):
        warp_regions(np.zeros((4, 4, 3)), np.zeros((1, 4)), crop_size=20, padding=10)
