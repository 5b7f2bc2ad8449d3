"""Detection tasks: the papers' sampling rules, the multi-task loss against NumPy, the ridge box
regressors against a closed-form NumPy transcription, and the Fast R-CNN task end to end on a
tiny model (loss, evaluation with VOC AP)."""

import numpy as np
import pytest
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.ops.boxes import decode_deltas, encode_deltas
from zoo.tasks import get
from zoo.tasks.detection import (
    WindowSampler,
    assign_boxes,
    fast_rcnn_loss,
    sample_fast_rcnn_rois,
    svm_window_labels,
)
from zoo.tasks.detection_boxes import fit_box_regressors


def test_assign_boxes_takes_the_max_overlap_object():
    gt = np.array([[0, 0, 9, 9], [20, 20, 39, 39]], np.float32)
    boxes = np.array([[0, 0, 9, 9], [21, 21, 39, 39], [0, 0, 19, 19], [60, 60, 70, 70]], np.float32)
    max_iou, best, labels = assign_boxes(boxes, gt, np.array([3, 7]))
    assert best[:2].tolist() == [0, 1] and labels.tolist() == [3, 7, 0, 0]
    assert max_iou[0] == 1 and max_iou[2] == pytest.approx(100 / 400) and max_iou[3] == 0


def test_fast_rcnn_sampling_fractions_and_ranges():
    rng = np.random.default_rng(0)
    max_iou = rng.uniform(0, 1, 500)
    fg, bg = sample_fast_rcnn_rois(max_iou, rng, 64, 0.25)
    assert len(fg) == 16 and len(bg) == 48 and len(set(fg)) == 16 and len(set(bg)) == 48
    assert (max_iou[fg] >= 0.5).all() and ((max_iou[bg] >= 0.1) & (max_iou[bg] < 0.5)).all()
    few = np.array([0.9, 0.95, 0.3, 0.05, 0.2])  # 2 fg, 2 bg in range, 0.05 is neither
    fg, bg = sample_fast_rcnn_rois(few, rng, 64, 0.25)
    assert sorted(fg) == [0, 1] and sorted(bg) == [2, 4]


def test_rcnn_window_sampler_is_32_positives_and_96_background():
    labels = np.array([0] * 900 + [1] * 50 + [2] * 50)
    sampler = WindowSampler(labels, 128, 0.25, seed=0)
    counts = np.zeros(3)
    for _ in range(50):
        batch = sampler()
        assert len(batch) == 128 and (labels[batch[:32]] > 0).all() and (labels[batch[32:]] == 0).all()
        counts += np.bincount(labels[batch], minlength=3)
    assert abs(counts[1] - counts[2]) < 0.15 * counts[1]  # uniform over the positives, so over classes here
    with pytest.raises(ConfigError, match="foreground and background"):
        WindowSampler(np.zeros(10), 128)


def test_window_stream_minibatches_and_svm_windows():
    from zoo.data.detection.windows import window_table, windows_dataset

    rng = np.random.default_rng(4)
    examples = [_example(rng) for _ in range(2)]
    _, _, labels = window_table(examples, "finetune")
    assert (labels > 0).sum() >= 4 and (labels == 0).any()
    ds = windows_dataset(examples, "finetune", crop_size=24, padding=2, batch_size=8, fg_fraction=0.25)
    got = [int(ex["label"]) for ex in ds.take(16).as_numpy_iterator()]
    for start in (0, 8):  # each minibatch: 2 foreground then 6 background
        assert all(v > 0 for v in got[start:start + 2]) and all(v == 0 for v in got[start + 2:start + 8])
    _, boxes, svm = window_table(examples, "svm")
    assert (svm > 0).sum() == 4  # the ground truth only
    svm_ds = list(windows_dataset(examples, "svm", crop_size=24, padding=2).as_numpy_iterator())
    assert [int(e["label"]) for e in svm_ds] == svm.tolist() and svm_ds[0]["image"].shape == (24, 24, 3)


def test_svm_labels_positives_are_ground_truth_and_negatives_below_03():
    labels = svm_window_labels([1.0, 0.7, 0.29, 0.3, 0.0], [4, 4, 4, 4, 0], [True, False, False, False, False])
    assert labels.tolist() == [4, -1, 0, -1, 0]


def _np_smooth_l1(x):
    x = np.abs(x)
    return np.where(x < 1, 0.5 * x * x, x - 0.5)


def test_multi_task_loss_against_numpy():
    rng = np.random.default_rng(1)
    b, r, k = 2, 6, 4
    cls = rng.normal(size=(b, r, k)).astype(np.float32)
    pred = rng.normal(size=(b, r, 4 * k)).astype(np.float32)
    labels = rng.integers(-1, k, (b, r)).astype(np.int32)
    targets = rng.normal(size=(b, r, 4)).astype(np.float32)
    got = float(fast_rcnn_loss(cls, pred, labels, targets, normalizer=b * r, target_stds=(0.1, 0.1, 0.2, 0.2)))
    want = 0.0
    for i in range(b):
        for j in range(r):
            u = labels[i, j]
            if u < 0:
                continue
            z = cls[i, j] - cls[i, j].max()
            want += -(z[u] - np.log(np.exp(z).sum()))
            if u >= 1:
                want += _np_smooth_l1((pred[i, j, 4 * u:4 * u + 4] - targets[i, j]) / [0.1, 0.1, 0.2, 0.2]).sum()
    assert got == pytest.approx(want / (b * r), rel=1e-5)


def test_box_regressors_equal_numpy_ridge_and_recover_a_linear_map():
    rng = np.random.default_rng(2)
    n, d = 400, 12
    gt = np.tile([[30.0, 40.0, 90.0, 120.0]], (n, 1))
    proposals = gt + rng.uniform(-8, 8, (n, 4))
    targets = np.asarray(encode_deltas(proposals, gt, pixel_offset=0.0))
    # features that carry the targets linearly (and noise dims)
    features = np.concatenate([targets @ rng.normal(size=(4, 4)), rng.normal(size=(n, d - 4))], 1)
    classes = np.where(np.arange(n) < n // 2, 1, 2)
    max_iou = np.full(n, 0.8)
    max_iou[::10] = 0.55  # not used: IoU <= 0.6
    kernel, bias = fit_box_regressors(features, proposals, gt, max_iou, classes, 3, lam=1e-6)
    pred = features @ kernel + bias
    used = max_iou > 0.6
    for c in (1, 2):
        rows = used & (classes == c)
        np.testing.assert_allclose(pred[rows, 4 * c:4 * c + 4], targets[rows], atol=1e-4)
        decoded = np.asarray(decode_deltas(proposals[rows], pred[rows, 4 * c:4 * c + 4], pixel_offset=0.0))
        np.testing.assert_allclose(decoded, gt[rows], atol=1e-2)
    assert not kernel[:, :4].any() and not bias[:4].any()  # background: no regressor
    # lambda = 1000: the NumPy transcription (centre, whiten, ridge with bias column, unwhiten)
    kernel, bias = fit_box_regressors(features, proposals, gt, max_iou, classes, 3)
    rows = used & (classes == 1)
    t = targets[rows]
    mu = t.mean(0)
    vals, vecs = np.linalg.eigh(np.cov((t - mu).T))
    whiten = vecs @ np.diag(1 / np.sqrt(vals + 0.001)) @ vecs.T
    x = np.c_[features[rows], np.ones(rows.sum())]
    w = np.linalg.solve(x.T @ x + 1000 * np.eye(d + 1), x.T @ ((t - mu) @ whiten))
    want = x @ w @ np.linalg.inv(whiten) + mu
    np.testing.assert_allclose(features[rows] @ kernel[:, 4:8] + bias[4:8], want, rtol=1e-4, atol=1e-5)


def _example(rng, size=64):
    boxes = np.array([[5, 6, 30, 33], [35, 30, 60, 58]], np.float32)
    proposals = np.concatenate([boxes + rng.uniform(-3, 3, (2, 4)), rng.uniform(0, 30, (40, 2)).repeat(2, 1)
                                + np.array([0, 0, 20, 20])]).astype(np.float32)
    return {"image": rng.integers(0, 255, (size, size, 3)).astype(np.uint8), "boxes": boxes,
            "labels": np.array([1, 2], np.int32), "difficult": np.array([False, False]), "proposals": proposals}


def test_fast_rcnn_task_samples_trains_and_evaluates():
    from zoo import registry

    card = next(c for c in registry.all_cards() if c.name == "fast_rcnn_caffenet")
    task = get("detection_rois")
    model = card.builder(num_classes=3, width=16)
    rng = np.random.default_rng(3)
    ex = {k: tf.constant(v) for k, v in _example(rng).items()}
    x, y = task.example_to_xy(card.input_contract)(ex)
    assert x["rois"].shape == (64, 4) and x["data"].shape == (64, 64, 3)
    labels = y["labels"].numpy()
    assert (labels[:2] >= 1).all() and set(labels[labels >= 0]) <= {0, 1, 2}
    again = task.example_to_xy(card.input_contract)(ex)[1]["labels"].numpy()
    np.testing.assert_array_equal(labels, again)  # same example, same sample
    batch = tf.nest.map_structure(lambda t: t[None], (x, y))

    class Cfg:
        normalize = True

    loss = task.replica_loss(model(batch[0]), batch[1], loss_cfg=Cfg, global_batch_size=1)
    assert np.isfinite(float(loss)) and float(loss) > 0
    ex_x, ex_y = task.eval_example_to_xy(card.input_contract)(ex)
    ev = task.evaluator(model)
    # perfect outputs: the two ground-truth proposals scored as their class with zero deltas
    scores = np.full((1, 2000, 3), -10.0, np.float32)
    scores[0, :, 0] = 10
    scores[0, 0, :] = [-10, 10, -10]
    scores[0, 1, :] = [-10, -10, 10]
    ex_y = {k: np.array(v)[None] for k, v in ex_y.items()}
    ex_y["rois"][0, :2] = _example(np.random.default_rng(3))["boxes"]
    ev.update([scores, np.zeros((1, 2000, 12), np.float32)], ex_y)
    result = ev.result()
    assert result["map_area"] == 1.0 and result["map_11point"] == 1.0


def test_rcnn_detect_scores_warped_proposals_with_the_svms():
    from zoo.models.rcnn.rcnn import rcnn_caffenet
    from zoo.ops.boxes import nms
    from zoo.ops.warp import warp_regions
    from zoo.tasks.detection import rcnn_detect

    keras_model = rcnn_caffenet(num_classes=3, width=16, input_shape=(67, 67, 3), svm_layer="fc7", bbox_regression=True)
    rng = np.random.default_rng(6)
    image = rng.normal(0, 40, (60, 70, 3)).astype(np.float32)
    proposals = np.concatenate([rng.uniform(0, 30, (12, 2)), rng.uniform(35, 59, (12, 2))], 1).astype(np.float32)
    keras_model.get_layer("bbox_pred").kernel.assign(np.zeros(keras_model.get_layer("bbox_pred").kernel.shape))
    keras_model.get_layer("bbox_pred").bias.assign(np.zeros(12))
    boxes, scores, classes = rcnn_detect(keras_model, image, proposals, crop_size=67, padding=4, batch_size=5,
                                         max_per_image=1000)
    svm = np.asarray(keras_model(warp_regions(image, proposals, 67, 4))[1])
    for c in (1, 2):  # zero deltas: each class's detections are NMS of the proposals by that class's SVM scores
        kept = nms(proposals, svm[:, c], 0.3)
        np.testing.assert_allclose(np.sort(scores[classes == c]), np.sort(svm[kept, c]), rtol=1e-5)
        np.testing.assert_allclose(boxes[classes == c][np.argsort(-scores[classes == c])],
                                   proposals[kept][np.argsort(-svm[kept, c])], atol=1e-3)
