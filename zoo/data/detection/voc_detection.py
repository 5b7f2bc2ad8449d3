"""PASCAL VOC 2007 / 2012 detection through TFDS (`voc/2007`, `voc/2012`), as detection examples.

TFDS's VOC records hold `objects.bbox` normalised `[ymin, xmin, ymax, xmax]` made from the XML's
1-based pixel corners as `(x - 1) / width` (tensorflow_datasets/object_detection/voc.py), so
`x * width` is the 0-based inclusive pixel corner of the devkit, the zoo's box convention;
`objects.label` 0..19 becomes 1..20 (0 is background), `objects.is_difficult` the devkit's
difficult flag (kept: the metric ignores those objects, zoo.metrics.detection). Proposals:

- `proposals_file`: R-CNN's released selective-search boxes for the split
  (`selective_search_data/voc_2007_{trainval,test}.mat`, zoo.data.detection.proposals), looked
  up by image id (the file name stem): the paper's proposals exactly;
- otherwise selective search in fast mode computed on the fly (OpenCV contrib; seconds per
  VOC image on a CPU core, so precompute for training).

Examples: image, boxes, labels, difficult, proposals, image_id (see zoo.tasks.detection).
"""

from __future__ import annotations

from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset
from zoo.data.segmentation.voc import CITATION, HOMEPAGE, VOC_CLASSES


def tfds_voc_objects(ex):
    """A TFDS VOC record's objects in pixels: (boxes (M, 4) 0-based inclusive x1, y1, x2, y2 unrounded,
    labels (M,) int32 1..20, difficult (M,) bool, image_id the file name stem)."""
    import tensorflow as tf

    shape = tf.cast(tf.shape(ex["image"])[:2], tf.float32)
    b = tf.cast(ex["objects"]["bbox"], tf.float32)
    boxes = tf.stack([b[:, 1] * shape[1], b[:, 0] * shape[0], b[:, 3] * shape[1], b[:, 2] * shape[0]], axis=1)
    image_id = tf.strings.regex_replace(ex["image/filename"], r"\.[^.]*$", "")
    return (boxes, tf.cast(ex["objects"]["label"], tf.int32) + 1, tf.cast(ex["objects"]["is_difficult"], tf.bool),
            image_id)


def tfds_to_detection(ex, proposals_fn):
    """A TFDS VOC record -> the zoo's detection example; `proposals_fn(image, image_id)` -> (P, 4) float32."""
    import tensorflow as tf

    boxes, labels, difficult, image_id = tfds_voc_objects(ex)
    proposals = tf.numpy_function(proposals_fn, [ex["image"], image_id], tf.float32, stateful=False)
    return {"image": ex["image"], "boxes": tf.round(boxes), "labels": labels, "difficult": difficult,
            "proposals": tf.ensure_shape(proposals, (None, 4)), "image_id": image_id}


def proposal_source(proposals_file="", max_proposals=2000):
    """The `proposals_fn` of `tfds_to_detection`: released boxes by id, or selective search."""
    from zoo.data.detection.proposals import load_released_boxes, released_proposals, selective_search

    if proposals_file:
        released = load_released_boxes(proposals_file)

        return lambda image, image_id: released_proposals(released, image_id, proposals_file, max_proposals)
    return lambda image, image_id: selective_search(image, "fast", max_proposals=max_proposals)


class VocDetectionLoader(TfdsLoader):
    """TFDS VOC with the proposals options (`proposals_file`, `max_proposals`)."""

    def __call__(self, split, *, proposals_file="", max_proposals=2000, **common):
        ds = super().__call__(split, **common)
        fn = proposal_source(proposals_file, max_proposals)
        return ds.map(lambda ex: tfds_to_detection(ex, fn))


for _year, _splits in (("2007", {"train": 2501, "validation": 2510, "test": 4952}),
                       ("2012", {"train": 5717, "validation": 5823})):
    _name = f"voc{_year}_detection"
    register_dataset(_name, DatasetInfo(
        name=_name, task="detection",
        summary=f"PASCAL VOC {_year} detection (TFDS voc/{_year}), 20 classes + background, difficult flags",
        num_classes=len(VOC_CLASSES), class_names=VOC_CLASSES, splits=_splits,
        features={"image": "uint8 (H, W, 3) RGB", "boxes": "float32 (M, 4) [x1, y1, x2, y2] 0-based inclusive",
                  "labels": "int32 (M,) 1..20", "difficult": "bool (M,)", "proposals": "float32 (P, 4)",
                  "image_id": "string, the file name stem"},
        source=HOMEPAGE, citation=CITATION, options={"proposals_file": "", "max_proposals": 2000},
        instructions=f"TFDS downloads voc/{_year} itself (`tfds build voc/{_year}` or the first load); R-CNN's "
                     "selective-search boxes: data/fetch_selective_search_data.sh of rbgirshick/rcnn",
    ), VocDetectionLoader(f"voc/{_year}"))
