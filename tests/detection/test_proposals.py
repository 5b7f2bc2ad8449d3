"""Region proposals: OpenCV contrib's selective search finds the objects of a simple scene, and the
released R-CNN selective-search .mat files (written here in their format: a cell array of 1-based
[y1 x1 y2 x2] boxes and a cell array of image ids) read back as 0-based [x1 y1 x2 y2]."""

import numpy as np
import pytest
import scipy.io

from zoo.data.detection.proposals import load_released_boxes, selective_search
from zoo.errors import ConfigError, CorruptRecordError
from zoo.ops.boxes import pairwise_iou

pytest.importorskip("cv2.ximgproc", reason="needs opencv-contrib-python-headless")


def _scene():
    rng = np.random.default_rng(0)
    image = np.full((96, 128, 3), 200, np.uint8) + rng.integers(0, 6, (96, 128, 3), dtype=np.uint8)
    image[10:50, 15:60] = (220, 30, 30)
    image[55:90, 70:120] = (30, 30, 220)
    return image, np.array([[15, 10, 59, 49], [70, 55, 119, 89]], np.float32)


def test_selective_search_fast_mode_finds_the_objects():
    image, objects = _scene()
    boxes = selective_search(image, "fast", max_proposals=2000)
    assert boxes.dtype == np.float32 and boxes.shape[1] == 4 and 2 <= len(boxes) <= 2000
    assert (boxes[:, 2] >= boxes[:, 0]).all() and (boxes[:, 2] <= 127).all() and (boxes[:, 3] <= 95).all()
    assert len(np.unique(boxes, axis=0)) == len(boxes)
    best = np.asarray(pairwise_iou(objects, boxes)).max(axis=1)
    assert (best >= 0.9).all(), best
    assert len(selective_search(image, "fast", max_proposals=5)) == 5
    half = selective_search(image, "fast", resize_width=64)  # boxes come back in the image's pixels
    assert (np.asarray(pairwise_iou(objects, half)).max(axis=1) >= 0.8).all()


def test_selective_search_bad_inputs():
    with pytest.raises(ConfigError, match="uint8"):
        selective_search(np.zeros((8, 8), np.float32))
    with pytest.raises(ConfigError, match="mode"):
        selective_search(np.zeros((8, 8, 3), np.uint8), mode="slow")


def test_released_boxes_mat_format(tmp_path):
    boxes = np.empty((1, 2), dtype=object)
    boxes[0, 0] = np.array([[1, 2, 10, 20], [5, 5, 6, 6]], np.float64)  # [y1 x1 y2 x2], 1-based
    boxes[0, 1] = np.array([[3, 4, 30, 40]], np.float64)
    images = np.empty((2, 1), dtype=object)
    images[0, 0], images[1, 0] = "000005", "000007"
    path = tmp_path / "voc_2007_test.mat"
    scipy.io.savemat(path, {"boxes": boxes, "images": images})
    got = load_released_boxes(path)
    assert list(got) == ["000005", "000007"]
    np.testing.assert_array_equal(got["000005"], [[1, 0, 19, 9], [4, 4, 5, 5]])  # [x1 y1 x2 y2], 0-based
    np.testing.assert_array_equal(got["000007"], [[3, 2, 39, 29]])
    scipy.io.savemat(tmp_path / "bad.mat", {"rois": boxes})
    with pytest.raises(CorruptRecordError, match="boxes and images"):
        load_released_boxes(tmp_path / "bad.mat")
