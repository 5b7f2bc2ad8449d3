"""`shapes_detection`: the `shapes` scenes as a detection set with instance masks and proposals (stand-in).

A generated stand-in for offline R-CNN / Fast R-CNN runs, never reported as VOC: the scenes of
`zoo.data.standins.shapes` (circles, rectangles, triangles, lines, dots on textured backgrounds),
each visible shape an object of its kind (classes 1..5; 0 is background), in the detection
example format of zoo.tasks.detection:

    image          uint8 (S, S, 3) RGB
    boxes          float32 (M, 4) [x1, y1, x2, y2], 0-based inclusive pixels of the visible shape
    labels         int32 (M,) 1 circle, 2 rectangle, 3 triangle, 4 line, 5 dot
    difficult      bool (M,) False (no object is marked difficult)
    instance_masks bool (M, S, S) each object's visible pixels
    proposals      float32 (P, 4) selective search in fast mode (zoo.data.detection.proposals),
                   at most `max_proposals` (the thesis' offline plan: 100-300 instead of 2,000);
                   none with max_proposals = 0 (the region networks need no proposals)

`touching_pairs` = n > 0 adds n pairs of touching rectangles per scene (two instances of one
class sharing an edge, zoo.data.standins.shapes), the case a segmenter merges and a region
network (Long thesis ch. 4) must separate.

M and P vary per example. Each example is a pure function of (seed, split, index).
"""

from __future__ import annotations

import functools

import numpy as np

from zoo.data.registry import DatasetInfo, register_dataset
from zoo.data.standins import shapes
from zoo.errors import ConfigError

CLASS_NAMES = shapes.CLASS_NAMES  # index 0 is background
KEYS = ("image", "boxes", "labels", "difficult", "instance_masks", "proposals")


def scene_objects(scene):
    """(instance masks, boxes [x1, y1, x2, y2] of their visible pixels, classes 1..5) of a rendered scene."""
    instances, segmentation = scene["instances"], scene["segmentation"]
    masks, boxes, labels = [], [], []
    for k in range(1, int(instances.max()) + 1):
        mask = instances == k
        if not mask.any():
            continue
        rows, cols = np.nonzero(mask)
        masks.append(mask)
        boxes.append([cols.min(), rows.min(), cols.max(), rows.max()])
        labels.append(int(segmentation[rows[0], cols[0]]))
    return masks, boxes, labels


def detection_example(seed, split, index, image_size=64, max_proposals=200, touching_pairs=0) -> dict:
    """Example `index` of `split` as NumPy arrays (see the module docstring)."""
    from zoo.data.detection.proposals import selective_search

    scene = shapes.render_example(seed, split, index, image_size, touching_pairs=touching_pairs)
    masks, boxes, labels = scene_objects(scene)
    size = int(image_size)
    return {"image": scene["image"], "boxes": np.asarray(boxes, np.float32).reshape(-1, 4),
            "labels": np.asarray(labels, np.int32), "difficult": np.zeros(len(labels), bool),
            "instance_masks": np.asarray(masks, bool).reshape(-1, size, size),
            "proposals": selective_search(scene["image"], "fast", max_proposals=max_proposals) if max_proposals > 0
            else np.zeros((0, 4), np.float32)}


@functools.lru_cache(maxsize=4)
def _split(seed, split, n, image_size, max_proposals, touching_pairs):
    return [detection_example(seed, split, i, image_size, max_proposals, touching_pairs) for i in range(n)]


def load(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, image_size=64,
         num_examples=None, max_proposals=200, touching_pairs=0):
    """The split as a tf.data.Dataset of ragged-size examples (data_dir, manual_dir, on_corrupt: unused)."""
    import tensorflow as tf

    if split not in shapes.SPLITS:
        raise ConfigError(f"shapes_detection takes a plain split name {tuple(shapes.SPLITS)}, not {split!r}")
    n = shapes.DEFAULT_NUM_EXAMPLES[split] if num_examples is None else int(num_examples)
    examples = _split(int(seed), split, n, int(image_size), int(max_proposals), int(touching_pairs))
    s = int(image_size)
    signature = {"image": tf.TensorSpec((s, s, 3), tf.uint8), "boxes": tf.TensorSpec((None, 4), tf.float32),
                 "labels": tf.TensorSpec((None,), tf.int32), "difficult": tf.TensorSpec((None,), tf.bool),
                 "instance_masks": tf.TensorSpec((None, s, s), tf.bool),
                 "proposals": tf.TensorSpec((None, 4), tf.float32)}
    return tf.data.Dataset.from_generator(lambda: iter(examples), output_signature=signature)


INFO = DatasetInfo(
    name="shapes_detection", task="detection",
    summary="Generated shape scenes with boxes, instance masks and selective-search proposals (offline stand-in)",
    num_classes=len(CLASS_NAMES), class_names=CLASS_NAMES, splits=dict(shapes.DEFAULT_NUM_EXAMPLES),
    features={"image": "uint8 (S, S, 3) RGB", "boxes": "float32 (M, 4) [x1, y1, x2, y2] 0-based inclusive pixels",
              "labels": "int32 (M,) classes 1..5", "difficult": "bool (M,)",
              "instance_masks": "bool (M, S, S)", "proposals": "float32 (P, 4) selective search, fast mode"},
    is_standin=True, stands_in_for=None,
    options={"image_size": 64, "num_examples": None, "max_proposals": 200, "touching_pairs": 0},
)

register_dataset("shapes_detection", INFO, load)
