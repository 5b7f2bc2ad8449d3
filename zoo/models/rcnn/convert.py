"""R-CNN's released detectors: the SVM and box-regressor `.mat` files of rbgirshick/rcnn.

The release (`data/fetch_models.sh`, r-cnn-release1-data.tgz) ships, beside the fine-tuned caffemodels
(which load through `zoo.get(..., weights=path)`), MATLAB files that the Caffe weights do not hold:

- `rcnn_models/voc_2007/rcnn_model_finetuned.mat`: the variable `rcnn_model` (rcnn_create_model.m,
  rcnn_train.m) with `detectors.W` (d x N, one SVM column per class), `detectors.B` (1 x N),
  `classes` (N names), `training_opts.layer` (5, 6 or 7: pool5 / fc6 / fc7) and
  `training_opts.feat_norm_mean` (the mean feature norm; features are multiplied by
  20 / feat_norm_mean before the SVMs, rcnn_scale_features.m);
- `bbox_regressor_final.mat`: the variable `bbox_reg` (rcnn_train_bbox_regressor.m) with
  `models{i}.Beta` ((d + 1) x 4, the last row the bias), `.T_inv` (4 x 4) and `.mu` (1 x 4) per
  class, and `training_opts` (layer 5, `feat_norm_mean`, `binarize`).

A detection scores `feat * (20 / feat_norm_mean) * W + B` (examples/rcnn_detect.m); a box
regressor predicts `Y = (feat_scaled * Beta(1:end-1, :) + Beta(end, :)) * T_inv + mu`, the deltas
(t_x, t_y, t_w, t_h) of R-CNN's parametrization with widths x2 - x1 (rcnn_predict_bbox_regressor.m;
`zoo.ops.boxes.decode_deltas(..., pixel_offset=0)`). Both are linear in the features, so
`load_released_detectors` folds them, scale included, into the model's `fc-rcnn` and `bbox_pred`
layers (column 0, background, stays zero). MATLAB's features are Caffe's blobs flattened in
(C, H, W) order; for pool5 the rows are reordered to the Keras Flatten's (H, W, C).

Usage (a model built with the matching heads, its trunk from the fine-tuned caffemodel):

    model = zoo.get("rcnn_caffenet", weights="finetune_voc_2007_trainval_iter_70k",
                    svm_layer="fc7", bbox_regression=True)
    load_released_detectors(model, "rcnn_model_finetuned.mat", "bbox_regressor_final.mat")
    boxes, scores, classes = zoo.tasks.detection.rcnn_detect(model, image_bgr, proposals)

Only MATLAB v5/v7 files are read (scipy.io); a v7.3 (HDF5) file raises an error saying to re-save it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from zoo.errors import ConfigError, WeightsFormatError, WeightsMismatchError

TARGET_NORM = 20.0  # rcnn_scale_features.m
_LAYERS = {5: "pool5", 6: "fc6", 7: "fc7"}


@dataclasses.dataclass
class ReleasedDetectors:
    """`rcnn_model.detectors` and what scoring needs: W (d, N), B (N,), the feature layer and norm."""

    W: np.ndarray
    B: np.ndarray
    classes: tuple
    layer: str
    feat_norm_mean: float


@dataclasses.dataclass
class ReleasedBoxRegressors:
    """`bbox_reg`: per class (Beta (d + 1, 4), T_inv (4, 4), mu (4,)), the layer and the norm."""

    models: list
    layer: str
    feat_norm_mean: float


def _load(path, variable):
    import scipy.io

    try:
        mat = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    except NotImplementedError as e:  # scipy's message for HDF5-based v7.3 files
        raise WeightsFormatError(f"{path} is a MATLAB v7.3 (HDF5) file; re-save it in MATLAB with "
                                 f"`save(file, '{variable}', '-v7')` and load that") from e
    except Exception as e:
        raise WeightsFormatError(f"{path} is not a readable MATLAB .mat file: {e}") from e
    if variable not in mat:
        found = ", ".join(k for k in mat if not k.startswith("__")) or "none"
        raise WeightsFormatError(f"{path} should hold the variable {variable} (R-CNN's release); it has: {found}")
    return mat[variable]


def _field(struct, name, path):
    if not hasattr(struct, name):
        have = ", ".join(getattr(struct, "_fieldnames", []) or [])
        raise WeightsFormatError(f"{path}: the struct lacks the field {name} (it has: {have or 'none'})")
    return getattr(struct, name)


def _layer_name(value, path):
    """training_opts.layer (5 / 6 / 7, or a name) -> "pool5" | "fc6" | "fc7"."""
    key = value.item() if isinstance(value, np.ndarray) and value.size == 1 else value
    key = {"pool5": 5, "fc6": 6, "fc7": 7}.get(key.strip(), key) if isinstance(key, str) else key
    try:
        return _LAYERS[int(key)]
    except (KeyError, TypeError, ValueError):
        raise WeightsFormatError(f"{path}: training_opts.layer is {value!r}; R-CNN features are layers 5, 6 or 7")


def read_rcnn_model(path) -> ReleasedDetectors:
    """The SVMs of a released `rcnn_model*.mat` (variable `rcnn_model`)."""
    model = _load(path, "rcnn_model")
    detectors, opts = _field(model, "detectors", path), _field(model, "training_opts", path)
    w = np.asarray(_field(detectors, "W", path), np.float64)
    w = w.reshape(-1, 1) if w.ndim == 1 else w
    b = np.asarray(_field(detectors, "B", path), np.float64).reshape(-1)
    classes = tuple(str(c) for c in np.atleast_1d(_field(model, "classes", path)))
    if w.ndim != 2 or w.shape[1] != b.size or b.size != len(classes):
        raise WeightsFormatError(f"{path}: detectors.W {w.shape}, detectors.B {b.shape} and {len(classes)} classes "
                                 "do not agree (W is d x N, B 1 x N)")
    return ReleasedDetectors(w, b, classes, _layer_name(_field(opts, "layer", path), path),
                             float(_field(opts, "feat_norm_mean", path)))


def read_bbox_regressor(path) -> ReleasedBoxRegressors:
    """The class-specific ridge regressors of a released `bbox_regressor_final.mat` (variable `bbox_reg`)."""
    reg = _load(path, "bbox_reg")
    opts = _field(reg, "training_opts", path)
    if hasattr(opts, "binarize") and bool(np.asarray(opts.binarize).item()):
        raise WeightsFormatError(f"{path}: regressors trained on binarized features (training_opts.binarize) are "
                                 "not linear in the features and cannot be folded into bbox_pred")
    models = []
    for i, m in enumerate(np.atleast_1d(_field(reg, "models", path))):
        beta = np.asarray(_field(m, "Beta", path), np.float64)
        t_inv = np.asarray(_field(m, "T_inv", path), np.float64)
        mu = np.asarray(_field(m, "mu", path), np.float64).reshape(-1)
        if beta.ndim != 2 or beta.shape[1] != 4 or t_inv.shape != (4, 4) or mu.shape != (4,):
            raise WeightsFormatError(f"{path}: models{{{i + 1}}} has Beta {beta.shape}, T_inv {t_inv.shape}, "
                                     f"mu {mu.shape}; expected (d + 1) x 4, 4 x 4, 1 x 4")
        models.append((beta, t_inv, mu))
    return ReleasedBoxRegressors(models, _layer_name(_field(opts, "layer", path), path),
                                 float(_field(opts, "feat_norm_mean", path)))


def _caffe_rows(model, layer_name, rows, path):
    """Rows indexed by Caffe's flat feature index -> rows in the order the model's `layer_name` reads."""
    from zoo.convert.caffe import flattened_map

    dense = model.get_layer(layer_name)
    d = dense.kernel.shape[0]
    if rows.shape[0] != d:
        raise WeightsMismatchError(f"{path}: its weights read {rows.shape[0]}-d features, the model's {layer_name} "
                                   f"reads {d}-d ones (another trunk, width or feature layer)")
    flat = flattened_map(dense)
    return rows if flat is None else rows[flat[1]]


def _reads(model, layer_name):
    """The feature layer ("pool5" | "fc6" | "fc7") that the model's head `layer_name` reads."""
    node = model.get_layer(layer_name)._inbound_nodes[0]
    parent = node.parent_nodes[0].operation.name
    return "pool5" if parent == "pool5_flat" else parent


def _head(model, name, what):
    if name not in {layer.name for layer in model.layers}:
        option = "svm_layer='fc7' (or the file's layer)" if name == "fc-rcnn" else "bbox_regression=True"
        raise ConfigError(f"loading {what} needs the model's {name} layer: build it with {option}")
    return model.get_layer(name)


def detector_weights(model, detectors: ReleasedDetectors, path="rcnn_model"):
    """(kernel, bias) of the model's `fc-rcnn` computing the release's SVM scores on its features."""
    head = _head(model, "fc-rcnn", "R-CNN SVMs")
    if _reads(model, "fc-rcnn") != detectors.layer:
        raise WeightsMismatchError(f"{path}: the SVMs score {detectors.layer} features, the model's fc-rcnn reads "
                                   f"{_reads(model, 'fc-rcnn')}; build it with svm_layer={detectors.layer!r}")
    n = detectors.W.shape[1]
    if head.units != n + 1:
        raise WeightsMismatchError(f"{path}: {n} class SVMs, the model has num_classes={head.units} "
                                   f"(N + 1 with background); build it with num_classes={n + 1}")
    scale = TARGET_NORM / detectors.feat_norm_mean
    kernel = np.zeros((head.kernel.shape[0], n + 1))
    kernel[:, 1:] = _caffe_rows(model, "fc-rcnn", detectors.W, path) * scale
    return kernel.astype(np.float32), np.concatenate([[0.0], detectors.B]).astype(np.float32)


def box_regressor_weights(model, regressors: ReleasedBoxRegressors, path="bbox_reg"):
    """(kernel, bias) of the model's `bbox_pred` (4 deltas per class) computing the release's regressions."""
    head = _head(model, "bbox_pred", "R-CNN box regressors")
    n = len(regressors.models)
    if head.units != 4 * (n + 1):
        raise WeightsMismatchError(f"{path}: {n} class regressors, the model's bbox_pred has {head.units} outputs "
                                   f"(4 per class with background); build it with num_classes={n + 1}")
    if regressors.layer != "pool5" or _reads(model, "bbox_pred") != "pool5":
        raise WeightsMismatchError(f"{path}: the regressors read {regressors.layer}; the model's bbox_pred reads pool5")
    scale = TARGET_NORM / regressors.feat_norm_mean
    d = head.kernel.shape[0]
    kernel, bias = np.zeros((d, 4 * (n + 1))), np.zeros(4 * (n + 1))
    for c, (beta, t_inv, mu) in enumerate(regressors.models, start=1):
        if beta.shape[0] != d + 1:
            raise WeightsMismatchError(f"{path}: class {c}'s Beta has {beta.shape[0] - 1} feature rows, the model's "
                                       f"bbox_pred reads {d}")
        kernel[:, 4 * c:4 * c + 4] = _caffe_rows(model, "bbox_pred", beta[:-1] @ t_inv, path) * scale
        bias[4 * c:4 * c + 4] = beta[-1] @ t_inv + mu
    return kernel.astype(np.float32), bias.astype(np.float32)


def load_released_detectors(model, rcnn_model_file, bbox_regressor_file=None) -> dict:
    """Write the release's SVMs (and box regressors) into `model`'s fc-rcnn (and bbox_pred).

    Everything is read and checked before anything is assigned. Returns {"classes", "svm_layer",
    "feat_norm_mean", "bbox_regression"}.
    """
    _head(model, "fc-rcnn", "R-CNN SVMs")
    if bbox_regressor_file is not None:
        _head(model, "bbox_pred", "R-CNN box regressors")
    detectors = read_rcnn_model(rcnn_model_file)
    svm = detector_weights(model, detectors, str(rcnn_model_file))
    boxes = None
    if bbox_regressor_file is not None:
        boxes = box_regressor_weights(model, read_bbox_regressor(bbox_regressor_file), str(bbox_regressor_file))
    model.get_layer("fc-rcnn").set_weights(list(svm))
    if boxes is not None:
        model.get_layer("bbox_pred").set_weights(list(boxes))
    return {"classes": detectors.classes, "svm_layer": detectors.layer, "feat_norm_mean": detectors.feat_norm_mean,
            "bbox_regression": boxes is not None}
