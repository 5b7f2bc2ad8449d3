"""R-CNN's released SVM and box-regressor .mat files (zoo.models.rcnn.convert): files written here in
the release's layout (scipy.io.savemat of the `rcnn_model` / `bbox_reg` structs of rcnn_train.m and
rcnn_train_bbox_regressor.m) load into a small rcnn_caffenet, whose fc-rcnn scores and regressed
boxes equal a NumPy transcription of examples/rcnn_detect.m and rcnn_predict_bbox_regressor.m on
Caffe-ordered (C, H, W) features."""

import numpy as np
import pytest
import scipy.io

import keras
from zoo import registry
from zoo.errors import ConfigError, WeightsFormatError, WeightsMismatchError
from zoo.models.rcnn.convert import load_released_detectors
from zoo.ops.boxes import decode_deltas

N = 4  # object classes; the model has N + 1 outputs
SMALL = {"num_classes": N + 1, "width": 8, "input_shape": (131, 131, 3)}  # pool5 3x3x32: the (C, H, W) order matters


def _build(**kw):
    keras.utils.set_random_seed(0)
    return registry.card("rcnn_caffenet").builder(**{**SMALL, **kw})


def _features(model, windows):
    """Caffe-ordered features, as MATLAB's rcnn_features.m returns them: pool5 (C, H, W)-flat, fc7."""
    probe = keras.Model(model.input, [model.get_layer("pool5_flat").input, model.get_layer("fc7").output])
    pool5, fc7 = (np.asarray(t, np.float64) for t in probe(windows, training=False))
    return {"pool5": pool5.transpose(0, 3, 1, 2).reshape(len(windows), -1), "fc7": fc7}


def _write_rcnn_model(path, w, b, layer, norm):
    classes = np.array([f"class{i}" for i in range(1, w.shape[1] + 1)], dtype=object)
    rcnn_model = {"cnn": {"batch_size": 256.0, "input_size": 227.0, "init_key": -1.0},
                  "detectors": {"W": w.astype(np.float32), "B": b[None].astype(np.float32), "crop_mode": "warp",
                                "crop_padding": 16.0, "nms_thresholds": np.zeros((1, w.shape[1]))},
                  "training_opts": {"bias_mult": 10.0, "fine_tuned": 1.0, "layer": float(layer), "pos_loss_weight": 2.0,
                                    "svm_C": 1e-3, "trainset": "trainval", "use_flipped": 0.0, "year": "2007",
                                    "feat_norm_mean": norm},
                  "classes": classes}
    scipy.io.savemat(path, {"rcnn_model": rcnn_model})


def _write_bbox_reg(path, models, norm):
    cells = np.empty((len(models), 1), dtype=object)
    for i, (beta, t_inv, mu) in enumerate(models):
        t = np.linalg.inv(t_inv)
        cells[i, 0] = {"mu": mu[None], "T": t, "T_inv": t_inv, "Beta": beta}
    opts = {"min_overlap": 0.6, "layer": 5.0, "lambda": 1000.0, "robust": 0.0, "binarize": 0.0,
            "feat_norm_mean": norm}
    scipy.io.savemat(path, {"bbox_reg": {"models": cells, "training_opts": opts}})


@pytest.mark.parametrize("layer", [5, 7])
def test_svm_scores_and_box_regression_match_the_release_equations(tmp_path, layer):
    rng = np.random.default_rng(layer)
    name = {5: "pool5", 7: "fc7"}[layer]
    model = _build(svm_layer=name, bbox_regression=True)
    windows = rng.normal(0, 40, (3, 131, 131, 3)).astype(np.float32)
    feats = _features(model, windows)
    d_svm, d5 = feats[name].shape[1], feats["pool5"].shape[1]
    w, b, norm = rng.normal(0, 0.01, (d_svm, N)), rng.normal(0, 1, N), 37.5
    _write_rcnn_model(tmp_path / "rcnn_model.mat", w, b, layer, norm)
    regs = []
    for _ in range(N):
        a = rng.normal(0, 0.3, (4, 4))
        regs.append((rng.normal(0, 1e-3, (d5 + 1, 4)), a @ a.T + np.eye(4), rng.normal(0, 0.1, 4)))
    _write_bbox_reg(tmp_path / "bbox_regressor_final.mat", regs, 55.0)

    info = load_released_detectors(model, tmp_path / "rcnn_model.mat", tmp_path / "bbox_regressor_final.mat")
    assert info["svm_layer"] == name and info["classes"][0] == "class1" and info["bbox_regression"]
    _, svm_scores, deltas = (np.asarray(o, np.float64) for o in model(windows, training=False))

    want = feats[name] * (20.0 / norm) @ w + b  # examples/rcnn_detect.m
    np.testing.assert_allclose(svm_scores[:, 1:], want, rtol=2e-4, atol=2e-4)
    np.testing.assert_array_equal(svm_scores[:, 0], 0.0)

    boxes = np.array([[10, 20, 110, 90], [0, 0, 300, 200], [50, 60, 70, 140]], np.float64)
    scaled5 = feats["pool5"] * (20.0 / 55.0)
    for c, (beta, t_inv, mu) in enumerate(regs, start=1):
        y = (scaled5 @ beta[:-1] + beta[-1]) @ t_inv + mu  # rcnn_predict_bbox_regressor.m
        np.testing.assert_allclose(deltas[:, 4 * c:4 * c + 4], y, rtol=1e-3, atol=1e-4)
        src_w, src_h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        cx, cy = boxes[:, 0] + 0.5 * src_w, boxes[:, 1] + 0.5 * src_h
        pw, ph = np.exp(y[:, 2]) * src_w, np.exp(y[:, 3]) * src_h
        px, py = y[:, 0] * src_w + cx, y[:, 1] * src_h + cy
        release = np.stack([px - 0.5 * pw, py - 0.5 * ph, px + 0.5 * pw, py + 0.5 * ph], 1)
        ours = np.asarray(decode_deltas(boxes, deltas[:, 4 * c:4 * c + 4], pixel_offset=0.0, max_log_scale=None))
        np.testing.assert_allclose(ours, release, rtol=1e-3, atol=1e-2)


def test_mismatches_raise_before_anything_is_written(tmp_path):
    rng = np.random.default_rng(0)
    model = _build(svm_layer="fc7", bbox_regression=False)
    d = model.get_layer("fc-rcnn").kernel.shape[0]
    before = model.get_layer("fc-rcnn").get_weights()[0].copy()
    _write_rcnn_model(tmp_path / "pool5.mat", rng.normal(size=(9216, N)), np.zeros(N), 5, 20.0)
    with pytest.raises(WeightsMismatchError, match="svm_layer='pool5'"):
        load_released_detectors(model, tmp_path / "pool5.mat")
    _write_rcnn_model(tmp_path / "n.mat", rng.normal(size=(d, N + 2)), np.zeros(N + 2), 7, 20.0)
    with pytest.raises(WeightsMismatchError, match="num_classes=7"):
        load_released_detectors(model, tmp_path / "n.mat")
    _write_rcnn_model(tmp_path / "ok.mat", rng.normal(size=(d, N)), np.zeros(N), 7, 20.0)
    with pytest.raises(ConfigError, match="bbox_regression=True"):
        load_released_detectors(model, tmp_path / "ok.mat", tmp_path / "ok.mat")
    np.testing.assert_array_equal(model.get_layer("fc-rcnn").get_weights()[0], before)
    scipy.io.savemat(tmp_path / "other.mat", {"something": np.zeros(3)})
    with pytest.raises(WeightsFormatError, match="rcnn_model"):
        load_released_detectors(model, tmp_path / "other.mat")
    (tmp_path / "junk.mat").write_bytes(b"not a mat file at all")
    with pytest.raises(WeightsFormatError):
        load_released_detectors(model, tmp_path / "junk.mat")
