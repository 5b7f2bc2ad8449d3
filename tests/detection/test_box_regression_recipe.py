"""R-CNN's box regressors as a staged recipe (Donahue thesis §3.1.6.5, App. 3.4.3): the runner fits
`bbox_pred` of rcnn_caffenet_bbox on frozen pool5 features of the "bbox" windows (IoU > 0.6) with the
staged step's box_ridge learner; checked against an independent NumPy closed form (targets whitened
by (C + 0.001 I)^-1/2, ridge as an augmented least-squares problem), and applied at detection time
(rcnn_detections, the rcnn_test_map driver)."""

import numpy as np
import pytest
import scipy.linalg

from zoo.errors import ConfigError
from zoo.ops.boxes import decode_deltas, encode_deltas, pairwise_iou

WIDTH, CROP, PAD = 16, 67, 4


def _recipe(**step):
    return {
        "recipe": {"name": "bbox_tiny"},
        "model": {"name": "rcnn_caffenet_bbox", "options": {"num_classes": 6, "width": WIDTH,
                                                             "input_shape": [CROP, CROP, 3]}},
        "data": {"name": "shapes_detection_windows", "train_split": "train", "eval_split": "",
                 "global_batch_size": 32, "shuffle_buffer": 1,
                 "options": {"mode": "bbox", "crop_size": CROP, "padding": PAD, "num_examples": 4,
                             "max_proposals": 40}},
        "train": {"steps": 1, "seed": 3},
        "step": {"head": "bbox_pred", "learner": "box_ridge", "alpha": 1000.0, "feature_norm": 20.0, **step},
    }


def _oracle(features, targets, lam, scale, num_classes):
    """Per class: centre and whiten the deltas, ridge (bias column regularised too) by least squares on
    [X; sqrt(lam) I] w = [Y; 0], unwhiten; returns the predicted deltas (n, 4K) on `features`."""
    boxes, objects, classes = targets[:, :4], targets[:, 4:8], targets[:, 9].astype(int)
    # pairs with a zero-width or zero-height box (the stand-in's 1-pixel lines) are left out
    sides = np.minimum(boxes[:, 2:] - boxes[:, :2], objects[:, 2:] - objects[:, :2]).min(1) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.asarray(encode_deltas(boxes, objects, pixel_offset=0.0), np.float64)
    x = np.c_[features * scale, np.ones(len(features))]
    pred = np.zeros((len(features), 4 * num_classes))
    for c in range(1, num_classes):
        rows = (classes == c) & sides
        if not rows.any():
            continue
        mu = t[rows].mean(0)
        cov = np.cov((t[rows] - mu).T) if rows.sum() > 1 else np.eye(4)
        whiten = np.real(scipy.linalg.fractional_matrix_power(cov + 0.001 * np.eye(4), -0.5))
        a = np.r_[x[rows], np.sqrt(lam) * np.eye(x.shape[1])]
        b = np.r_[(t[rows] - mu) @ whiten, np.zeros((x.shape[1], 4))]
        w = np.linalg.lstsq(a, b, rcond=None)[0]
        pred[:, 4 * c:4 * c + 4] = x @ w @ np.linalg.inv(whiten) + mu
    return pred


def test_box_ridge_recipe_equals_the_numpy_closed_form(tmp_path):
    import keras

    from zoo import registry
    from zoo.tasks.detection_boxes import BoxRegressionEvaluator
    from zoo.training import recipes, runner

    recipe = recipes.from_dict(_recipe())
    res = runner.train(recipe, tmp_path / "run")
    model = res.model
    card = registry.card("rcnn_caffenet_bbox")
    train, _, _ = runner.make_datasets(recipe, card, start_step=0, model=model, single_pass=True)
    pool5 = keras.Model(model.inputs, model.get_layer("bbox_pred").input)
    feats, targets, outputs = [], [], []
    for x, y in train:
        feats.append(np.asarray(pool5(x), np.float64)), targets.append(np.asarray(y, np.float64))
        outputs.append(np.asarray(model(x), np.float64))
    feats, targets, outputs = np.concatenate(feats), np.concatenate(targets), np.concatenate(outputs)
    assert (targets[:, 8] > 0.6).all() and len(np.unique(targets[:, 9])) >= 2  # the pairs of §3.1.6.5
    scale = 20.0 / np.linalg.norm(feats, axis=1).mean()
    want = _oracle(feats, targets, 1000.0, scale, 6)
    np.testing.assert_allclose(outputs, want, rtol=2e-3, atol=2e-4)
    # the evaluation: mean IoU of the windows with their objects, before and after, recomputed here
    classes = targets[:, 9].astype(int)
    moved = np.asarray(decode_deltas(targets[:, :4], want.reshape(len(want), 6, 4)[np.arange(len(want)), classes],
                                     pixel_offset=0.0))
    after = np.mean([np.asarray(pairwise_iou(m[None], o[None]))[0, 0] for m, o in zip(moved, targets[:, 4:8])])
    evaluator = BoxRegressionEvaluator()
    evaluator.update(outputs, targets)
    assert evaluator.result()["mean_iou_after"] == pytest.approx(after, abs=1e-3)
    assert evaluator.result()["mean_iou_before"] == pytest.approx(np.mean(targets[:, 8]), abs=1e-5)


def test_box_ridge_options_and_targets_are_checked():
    from zoo.tasks.detection_boxes import split_regression_targets
    from zoo.training import recipes

    with pytest.raises(ConfigError, match="C_grid"):
        recipes.from_dict(_recipe(C_grid=[1.0], cv_train_per_class=2))
    with pytest.raises(ConfigError, match=r"\(n, 10\)"):
        split_regression_targets(np.zeros((3, 4)))


def _model_and_example():
    from zoo.models.rcnn.rcnn import rcnn_caffenet

    model = rcnn_caffenet(num_classes=3, width=16, input_shape=(CROP, CROP, 3), svm_layer="fc7", bbox_regression=True)
    rng = np.random.default_rng(1)
    kernel = model.get_layer("bbox_pred").kernel
    kernel.assign(rng.normal(0, 1e-3, kernel.shape).astype("float32"))
    image = rng.integers(0, 255, (60, 70, 3)).astype(np.uint8)
    proposals = np.concatenate([rng.uniform(0, 30, (10, 2)), rng.uniform(35, 59, (10, 2))], 1).astype(np.float32)
    example = {"image": image, "proposals": proposals, "boxes": proposals[:2] + 1, "labels": np.array([1, 2]),
               "difficult": np.zeros(2, bool)}
    return model, example


def test_detections_apply_the_regressors_once_and_the_driver_accumulates_ap():
    from zoo.metrics.detection import DetectionAP
    from zoo.registry import CAFFE_BGR_MEAN
    from zoo.tasks.detection import rcnn_detect, rcnn_detections, rcnn_outputs, rcnn_test_map

    model, ex = _model_and_example()
    image = ex["image"].astype(np.float32)[..., ::-1] - np.float32(CAFFE_BGR_MEAN)
    outs = rcnn_outputs(model, image, ex["proposals"], crop_size=CROP, padding=PAD)
    plain = rcnn_detections(outs, ex["proposals"], image.shape[:2], regress=False, max_per_image=1000)
    moved = rcnn_detections(outs, ex["proposals"], image.shape[:2], regress=True, max_per_image=1000)
    # regressed once: the kept boxes are the decoded deltas of their proposals, clipped to the image
    deltas = outs["bbox_pred"].reshape(len(ex["proposals"]), 3, 4)
    for box, cls in zip(moved[0], moved[2]):
        candidates = np.asarray(decode_deltas(ex["proposals"], deltas[:, cls], clip_to=image.shape[:2],
                                              pixel_offset=0.0))
        assert np.abs(candidates - box).max(axis=1).min() < 1e-3
    assert not np.allclose(np.sort(moved[0].ravel()), np.sort(plain[0].ravel()))
    with pytest.raises(ConfigError, match="regress=True"):
        rcnn_detections({"fc-rcnn": outs["fc-rcnn"]}, ex["proposals"], image.shape[:2], regress=True)
    default = rcnn_detect(model, image, ex["proposals"], crop_size=CROP, padding=PAD, max_per_image=1000)
    np.testing.assert_allclose(default[0], moved[0], atol=1e-4)
    # the driver: the same detections, accumulated into a DetectionAP per variant
    variants = {"svm": {"regress": False}, "svm_bb": {"regress": True}, "softmax": {"use_svm": False}}
    result = rcnn_test_map(model, [ex, ex], 2, variants, crop_size=CROP, padding=PAD, max_per_image=1000, keep=1)
    for name, det in (("svm", plain), ("svm_bb", moved)):
        want = DetectionAP(2)
        want.add_image(*det, ex["boxes"], ex["labels"]), want.add_image(*det, ex["boxes"], ex["labels"])
        assert result[name]["metrics"] == pytest.approx(want.result(), nan_ok=True)
        np.testing.assert_allclose(result[name]["detections"][0][1], det[1], rtol=1e-5)
    assert result["seconds_per_image"] > 0 and len(result["softmax"]["detections"]) == 1
