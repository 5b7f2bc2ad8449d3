"""Detection datasets: the VOC adapter on a TFDS-shaped record, and the shapes_detection stand-in."""

import numpy as np
import pytest
import tensorflow as tf

from zoo import data
from zoo.data.detection.voc_detection import proposal_source, tfds_to_detection

pytest.importorskip("cv2.ximgproc", reason="needs opencv-contrib-python-headless")


def test_voc_tfds_record_to_detection_example(tmp_path):
    import scipy.io

    # TFDS: normalised [ymin xmin ymax xmax] = ((y - 1) / h, ...) of the XML's 1-based corners
    h, w = 50, 80
    xml = np.array([[11, 21, 40, 45], [1, 1, 80, 50]], np.float32)  # xmin ymin xmax ymax, 1-based
    bbox = np.stack([(xml[:, 1] - 1) / h, (xml[:, 0] - 1) / w, (xml[:, 3] - 1) / h, (xml[:, 2] - 1) / w], 1)
    ex = {"image": tf.zeros((h, w, 3), tf.uint8), "image/filename": tf.constant("000005.jpg"),
          "objects": {"bbox": tf.constant(bbox), "label": tf.constant([8, 14], tf.int64),
                      "is_difficult": tf.constant([False, True])}}
    boxes = np.empty((1, 1), dtype=object)
    boxes[0, 0] = np.array([[2, 3, 20, 30]], np.float64)
    images = np.empty((1, 1), dtype=object)
    images[0, 0] = "000005"
    scipy.io.savemat(tmp_path / "ss.mat", {"boxes": boxes, "images": images})
    out = tfds_to_detection(ex, proposal_source(str(tmp_path / "ss.mat")))
    np.testing.assert_allclose(out["boxes"], xml - 1)  # 0-based inclusive [x1 y1 x2 y2]
    assert out["labels"].numpy().tolist() == [9, 15] and out["difficult"].numpy().tolist() == [False, True]
    np.testing.assert_array_equal(out["proposals"], [[2, 1, 29, 19]])
    assert out["image_id"].numpy() == b"000005"
    assert "voc2007_detection" in data.list_datasets()


def test_shapes_detection_standin():
    info = data.info("shapes_detection")
    assert info.is_standin and info.task == "detection"
    ds = data.load("shapes_detection", "validation", num_examples=3, max_proposals=50)
    examples = list(ds.as_numpy_iterator())
    assert len(examples) == 3
    for ex in examples:
        m = len(ex["labels"])
        assert m >= 1 and ex["boxes"].shape == (m, 4) and ex["instance_masks"].shape == (m, 64, 64)
        assert set(ex["labels"]) <= {1, 2, 3, 4, 5} and 1 <= len(ex["proposals"]) <= 50
        for box, mask in zip(ex["boxes"], ex["instance_masks"]):
            rows, cols = np.nonzero(mask)
            np.testing.assert_array_equal(box, [cols.min(), rows.min(), cols.max(), rows.max()])
    again = list(data.load("shapes_detection", "validation", num_examples=3, max_proposals=50).as_numpy_iterator())
    np.testing.assert_array_equal(again[0]["image"], examples[0]["image"])
