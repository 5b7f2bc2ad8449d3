"""Mid-level transfer's data and evaluation: the labelled VOC patches, Eq. 3.1's image scores and the
VOC classification AP against a NumPy transcription of the devkit's VOCevalcls.m / VOCap.m."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from zoo.experiments import midlevel
from zoo.ops import patches as P


def devkit_ap(out, gt, voc2007=False):
    """VOCevalcls.m: gt 1 / -1 / 0 (difficult); [so, si] = sort(-out); tp = gt(si) > 0; fp = gt(si) < 0;
    cumulative sums, rec = tp / sum(gt > 0), prec = tp ./ (fp + tp); VOCap.m (2010+) or 11-point (2007)."""
    si = np.argsort(-out, kind="stable")
    tp, fp = np.cumsum(gt[si] > 0), np.cumsum(gt[si] < 0)
    rec = tp / np.sum(gt > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        prec = np.where(tp + fp > 0, tp / (fp + tp), 0.0)
    if voc2007:
        return sum((prec[rec >= t].max() if np.any(rec >= t) else 0.0) / 11 for t in np.arange(0, 1.1, 0.1))
    mrec, mpre = np.concatenate([[0], rec, [1]]), np.concatenate([[0], prec, [0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    idx = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mpre[idx]))


@pytest.mark.parametrize("definition", ["area", "11point"])
def test_voc_classification_ap_equals_the_devkit_transcription(definition):
    rng = np.random.default_rng(0)
    scores = rng.random((60, 4))
    labels = rng.choice([1, 0, 0, -1], size=(60, 4))  # -1: difficult only
    got = midlevel.voc_classification_ap(scores, labels, definition=definition)
    devkit_gt = np.where(labels > 0, 1, np.where(labels < 0, 0, -1))  # the devkit's 1 / 0 / -1 coding
    want = [devkit_ap(scores[:, c], devkit_gt[:, c], voc2007=definition == "11point") for c in range(4)]
    np.testing.assert_allclose([got[f"ap_{c}"] for c in range(4)], want, rtol=1e-12)
    assert got["mean_ap"] == pytest.approx(np.mean(want))


def test_crop_patches_copies_a_patch_of_the_model_size_exactly():
    from zoo.data.detection.voc_patches import crop_patches

    image = np.random.default_rng(0).integers(0, 255, (40, 60, 3)).astype(np.float32)
    boxes = np.array([[10, 5, 30, 25], [0, 0, 20, 20]], np.float32)  # 20 x 20 patches
    np.testing.assert_allclose(crop_patches(image, boxes, 20).numpy(), [image[5:25, 10:30], image[0:20, 0:20]],
                               atol=1e-3)


def test_image_scores_are_the_power_mean_of_the_patch_softmax():
    import keras

    keras.utils.set_random_seed(0)
    x = inputs = keras.Input((16, 16, 3))
    model = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.GlobalAveragePooling2D()(x)))
    image = np.random.default_rng(1).random((40, 50, 3)).astype(np.float32)
    got = midlevel.image_scores(model, image, batch_size=7)
    crops, boxes = midlevel.grid_crops(image, size=16)
    assert len(crops) == len(P.patch_grid(40, 50)) and got.shape == (3,)  # background (column 0) dropped
    logits = crops.mean(axis=(1, 2)) @ model.layers[-1].kernel.numpy() + model.layers[-1].bias.numpy()
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    assert probs.min() > 0.01  # a non-degenerate softmax
    np.testing.assert_allclose(got, np.mean(probs**5, axis=0)[1:], rtol=1e-4)


def _fake_voc(image, boxes_norm, labels, name=b"000001.jpg"):
    return tf.data.Dataset.from_tensors({
        "image": tf.constant(image), "image/filename": tf.constant(name),
        "objects": {"bbox": tf.constant(boxes_norm, tf.float32), "label": tf.constant(labels, tf.int64),
                    "is_difficult": tf.zeros(len(labels), tf.bool)}})


def test_voc_patches_label_and_subsample_the_grid(monkeypatch):
    from zoo.data import registry
    from zoo.data.detection import voc_patches

    image = np.random.default_rng(0).integers(0, 255, (100, 120, 3)).astype(np.uint8)
    # one cat (TFDS label 7 -> 8) at rows 10-49, columns 20-69 (0-based inclusive: normalised (x - 1) / size)
    bbox = [[10 / 100, 20 / 120, 49 / 100, 69 / 120]]
    monkeypatch.setattr(registry.TfdsLoader, "__call__", lambda self, split, **kw: _fake_voc(image, bbox, [7]))
    loader = voc_patches.VocPatchLoader("voc/2007")
    every = list(loader("validation", image_size=16).as_numpy_iterator())
    grid = P.patch_grid(100, 120)
    want = P.label_patches(grid, [[20, 10, 70, 50]], [8])
    assert [int(e["label"]) for e in every] == want[want != P.EXCLUDED].tolist()
    assert {int(e["label"]) for e in every} == {0, 8} and every[0]["image"].shape == (16, 16, 3)
    trained = list(loader("train", image_size=16, seed=3).as_numpy_iterator())
    n_background = int(np.sum(want == 0))
    assert sum(int(e["label"]) == 0 for e in trained) == round(0.1 * n_background)
    assert sum(int(e["label"]) == 8 for e in trained) == int(np.sum(want == 8))
    again = list(loader("train", image_size=16, seed=3).as_numpy_iterator())
    assert [tuple(e["box"]) for e in again] == [tuple(e["box"]) for e in trained]  # same seed, same draw


def test_the_multilabel_task_evaluator_uses_the_same_ap():
    from zoo.tasks.classification import MultiLabelEvaluator

    rng = np.random.default_rng(2)
    scores, labels = rng.random((30, 3)), rng.choice([1, 0, -1], size=(30, 3))
    ev = MultiLabelEvaluator()
    ev.update(scores[:10], labels[:10])
    ev.update(scores[10:], labels[10:])
    assert ev.result() == midlevel.voc_classification_ap(scores, labels)


def test_image_labels_by_hand():
    # a non-difficult cat (8), a difficult-only dog (12), a difficult and a plain person (15)
    got = midlevel.image_labels([8, 12, 15, 15], [False, True, True, False])
    want = np.zeros(20, int)
    want[7], want[11], want[14] = 1, -1, 1
    np.testing.assert_array_equal(got, want)


def test_evaluate_voc_scores_images_and_ranks_them():
    import keras

    keras.utils.set_random_seed(0)
    x = inputs = keras.Input((16, 16, 3))
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(x)))
    rng = np.random.default_rng(0)
    examples = [{"image": rng.random((24, 30, 3)).astype(np.float32), "labels": np.array([c]),
                 "difficult": np.array([False])} for c in (1, 2, 1, 2)]
    got = midlevel.evaluate_voc(model, examples)
    scores = np.stack([midlevel.image_scores(model, e["image"]) for e in examples])
    assert got == midlevel.voc_classification_ap(scores, np.array([[1, 0], [0, 1], [1, 0], [0, 1]]))
