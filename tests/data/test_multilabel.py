"""Multi-label datasets of the weakly supervised experiments (Oquab thesis ch. 4): TFDS `voc/2012` and
`coco/2014` records turned into image labels and pixel boxes (on TFDS-shaped fake records, as the
detection adapter's tests do: TFDS itself would download 2 / 37 GB), the loaders end to end with
TFDS's reader replaced, and the shapes_multilabel stand-in."""

import numpy as np
import tensorflow as tf

import zoo.data
from zoo.data import tfds_manual
from zoo.data.classification.multilabel import COCO_CLASSES, coco_to_multilabel, voc_to_multilabel


def _voc_record():
    h, w = 50, 80
    xml = np.array([[11, 21, 40, 45], [1, 1, 80, 50], [5, 5, 9, 9]], np.float32)  # xmin ymin xmax ymax, 1-based
    bbox = np.stack([(xml[:, 1] - 1) / h, (xml[:, 0] - 1) / w, (xml[:, 3] - 1) / h, (xml[:, 2] - 1) / w], 1)
    record = {"image": tf.zeros((h, w, 3), tf.uint8), "image/filename": tf.constant("2008_000123.jpg"),
              "objects": {"bbox": tf.constant(bbox), "label": tf.constant([8, 14, 4], tf.int64),
                          "is_difficult": tf.constant([False, True, True])}}
    return record, xml


def test_voc_record_labels_and_boxes():
    record, xml = _voc_record()
    ex = voc_to_multilabel(record)
    want = np.zeros(20, np.float32)
    want[8] = 1.0  # cat: a non-difficult object
    want[[14, 4]] = -1.0  # person, bottle: only difficult objects (the devkit's 0: left out)
    np.testing.assert_array_equal(ex["labels"], want)
    np.testing.assert_allclose(ex["boxes"], xml - 1)  # 0-based inclusive [x1 y1 x2 y2]
    assert ex["box_labels"].numpy().tolist() == [8, 14, 4] and ex["image_id"].numpy() == b"2008_000123"


def test_coco_record_labels_and_boxes():
    h, w = 40, 100
    x, y, bw, bh = 10.0, 5.0, 30.0, 20.0  # COCO's continuous [x, y, width, height]
    record = {"image": tf.zeros((h, w, 3), tf.uint8), "image/id": tf.constant(42, tf.int64),
              "objects": {"bbox": tf.constant([[y / h, x / w, (y + bh) / h, (x + bw) / w]], tf.float32),
                          "label": tf.constant([79], tf.int64), "is_crowd": tf.constant([True])}}
    ex = coco_to_multilabel(record)
    assert ex["labels"].shape == (80,) and ex["labels"].numpy()[79] == 1 and ex["labels"].numpy().sum() == 1
    np.testing.assert_allclose(ex["boxes"], [[10, 5, 39, 24]])  # pixels 10..39 x 5..24
    assert COCO_CLASSES[79] == "toothbrush" and ex["image_id"].numpy() == 42
    empty = dict(record, objects={"bbox": tf.zeros((0, 4)), "label": tf.zeros((0,), tf.int64),
                                  "is_crowd": tf.zeros((0,), tf.bool)})
    assert coco_to_multilabel(empty)["labels"].numpy().sum() == 0  # an image without objects: all absent


def test_loaders_read_tfds_voc_2012_and_coco_2014(monkeypatch):
    asked = []

    def fake_load_tfds(name, split, **kwargs):
        asked.append((name, split))
        record, _ = _voc_record()
        return tf.data.Dataset.from_tensors(record)

    monkeypatch.setattr(tfds_manual, "load_tfds", fake_load_tfds)
    ex = next(zoo.data.load("voc2012_multilabel", "validation").as_numpy_iterator())
    assert asked == [("voc/2012", "validation")] and ex["labels"][8] == 1
    info = zoo.data.info("voc2012_multilabel")
    assert info.num_classes == 20 and info.class_names[0] == "aeroplane" and not info.is_standin
    assert zoo.data.info("coco2014_multilabel").splits == {"train": 82783, "validation": 40504}


def test_shapes_multilabel_standin():
    info = zoo.data.info("shapes_multilabel")
    assert info.is_standin and info.num_classes == 3
    examples = list(zoo.data.load("shapes_multilabel", "validation", num_examples=4, image_size=64).as_numpy_iterator())
    assert len(examples) == 4
    for ex in examples:
        present = set(np.flatnonzero(ex["labels"]).tolist())
        assert present == set(ex["box_labels"].tolist()) and present  # every scene shows 1-4 big shapes
        assert ex["boxes"].shape == (len(ex["box_labels"]), 4) and ex["boxes"].max() < 64
    again = next(zoo.data.load("shapes_multilabel", "validation", num_examples=4, image_size=64).as_numpy_iterator())
    np.testing.assert_array_equal(again["image"], examples[0]["image"])
