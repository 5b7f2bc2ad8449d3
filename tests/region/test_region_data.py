"""The shapes stand-in's touching same-class instances (for Long thesis ch. 4's region networks)."""

import numpy as np

from zoo.data.standins import shapes, shapes_detection


def _adjacent(a, b):
    """Whether some pixel of mask a is a 4-neighbour of some pixel of mask b."""
    grown = a.copy()
    grown[1:] |= a[:-1]
    grown[:-1] |= a[1:]
    grown[:, 1:] |= a[:, :-1]
    grown[:, :-1] |= a[:, 1:]
    return bool((grown & b).any())


def test_touching_pairs_touch_and_share_a_class():
    touching = 0
    for index in range(6):
        plain = shapes.render_example(0, "train", index, 64)
        scene = shapes.render_example(0, "train", index, 64, touching_pairs=2)
        n = int(plain["instances"].max())
        inst = scene["instances"]
        # the scene under the pairs is the plain scene (the pairs are drawn last, from later draws)
        under = inst <= n
        np.testing.assert_array_equal(inst[under], plain["instances"][under])
        first, second = inst == n + 1, inst == n + 2
        assert scene["segmentation"][first | second].tolist() == [shapes.RECTANGLE] * int((first | second).sum())
        if first.any() and second.any():
            touching += _adjacent(first, second)
    assert touching >= 5  # the second pair may hide part of the first; most first pairs stay in contact


def test_shapes_detection_gives_the_pairs_as_instances():
    ds = shapes_detection.load("train", num_examples=2, max_proposals=0, touching_pairs=1)
    for ex, index in zip(ds.as_numpy_iterator(), range(2)):
        plain = shapes_detection.detection_example(0, "train", index, 64, max_proposals=0)
        assert ex["proposals"].shape == (0, 4)
        assert len(ex["instance_masks"]) >= 2 and len(plain["instance_masks"]) >= 1
        masks = ex["instance_masks"]
        assert not (masks.sum(0) > 1).any()  # visible pixels: one instance each
        assert ex["labels"][-1] == ex["labels"][-2] == shapes.RECTANGLE


def test_coco_panoptic_record_to_instances():
    # a TFDS coco/2017_panoptic record in miniature: segment ids 5 (thing), 70000 (thing, crowd),
    # 300 (stuff, label 90) and 258 (thing); the id is R + 256 G + 256^2 B of the PNG
    import tensorflow as tf

    from zoo.data.detection.coco_instances import panoptic_to_instances

    ids = np.array([[5, 5, 300], [70000, 258, 258]])
    rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], -1).astype(np.uint8)
    ex = {"image": tf.zeros((2, 3, 3), tf.uint8), "image/id": tf.constant(7, tf.int64),
          "panoptic_image": tf.constant(rgb),
          "panoptic_objects": {"id": tf.constant([5, 70000, 300, 258], tf.int64),
                               "label": tf.constant([0, 3, 90, 79], tf.int64),
                               "is_crowd": tf.constant([False, True, False, False])}}
    out = panoptic_to_instances(ex)
    np.testing.assert_array_equal(out["instance_masks"].numpy(), [ids == 5, ids == 258])
    np.testing.assert_array_equal(out["labels"].numpy(), [0, 79])
