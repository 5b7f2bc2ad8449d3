"""Detection tasks: R-CNN (Donahue thesis §3.1; Girshick et al. 2014) and Fast R-CNN (Girshick 2015).

A detection example is a dict: "image" (H, W, 3) uint8 RGB, "boxes" (M, 4) float32 ground truth
`[x1, y1, x2, y2]` in 0-based inclusive pixels (zoo.ops.boxes), "labels" (M,) int32 classes
1..N (0 is background), "difficult" (M,) bool and "proposals" (P, 4) float32 (selective search,
zoo.data.detection.proposals).

- `detection_windows`: R-CNN fine-tuning, a classifier over warped proposal windows (label 0..N,
  positive at IoU >= 0.5 with its max-overlap object), served by zoo.data.detection.windows
  (`WindowSampler`: 128-window minibatches of 32 positives + 96 background, §3.1.3).
- `detection_svm`: R-CNN's per-class linear SVMs on frozen pool5 / fc6 / fc7 features (the staged
  step: liblinear-like hinge loss, hard-negative mining); windows are ground truth (positives) and
  proposals below 0.3 IoU with every object (negatives).
- `detection_rois`: Fast R-CNN, the whole image plus 64 sampled RoIs per image (25% foreground at
  IoU >= 0.5, background in [0.1, 0.5)), trained with the multi-task loss (log loss + smooth L1),
  evaluated with VOC AP after per-class NMS.

Class-specific ridge box regression (λ = 1000 on pool5, pairs with IoU > 0.6) is
`zoo.tasks.detection_boxes.fit_box_regressors`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from zoo.data.detection.windows import WindowSampler  # noqa: F401  (R-CNN's minibatches, data side)
from zoo.errors import ConfigError
from zoo.metrics.detection import DetectionAP
from zoo.ops.boxes import batched_nms, decode_deltas, encode_deltas, pairwise_iou
from zoo.ops.numerics import softmax
from zoo.tasks.base import Evaluator, Task, model_input, output_classes
from zoo.tasks.classification import Classification, FeatureClassification

FG_THRESHOLD = 0.5  # R-CNN fine-tuning and Fast R-CNN: foreground at IoU >= 0.5
SVM_NEGATIVE_THRESHOLD = 0.3  # R-CNN SVMs: negatives below 0.3 IoU with every instance of the class
FAST_BG_RANGE = (0.1, 0.5)  # Fast R-CNN background: max IoU in [0.1, 0.5)


def assign_boxes(boxes, gt_boxes, gt_labels):
    """(max IoU (P,), index of the max-IoU object (P,), its label or 0 below FG_THRESHOLD (P,)), NumPy.

    Each box takes the class of the object it overlaps most (rcnn_make_window_file; Fast R-CNN's
    roidb); no object: IoU 0, label 0.
    """
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    gt_boxes = np.asarray(gt_boxes, np.float32).reshape(-1, 4)
    if not len(gt_boxes):
        return np.zeros(len(boxes), np.float32), np.zeros(len(boxes), np.int64), np.zeros(len(boxes), np.int64)
    iou = np.asarray(pairwise_iou(boxes, gt_boxes))
    best = iou.argmax(axis=1)
    max_iou = iou[np.arange(len(boxes)), best]
    labels = np.where(max_iou >= FG_THRESHOLD, np.asarray(gt_labels)[best], 0)
    return max_iou, best, labels.astype(np.int64)


def sample_fast_rcnn_rois(max_iou, rng, num_rois=64, fg_fraction=0.25, fg_threshold=FG_THRESHOLD,
                          bg_range=FAST_BG_RANGE):
    """Fast R-CNN's per-image RoI sample (§2.3; fast-rcnn lib/roi_data_layer/minibatch.py `_sample_rois`).

    round(fg_fraction * num_rois) foreground RoIs (IoU >= fg_threshold) at most, drawn without
    replacement; the rest background (IoU in [bg_lo, bg_hi)), as many as there are. Returns
    (foreground indices, background indices); fewer than num_rois in all when the image lacks them.
    """
    max_iou = np.asarray(max_iou)
    fg = np.flatnonzero(max_iou >= fg_threshold)
    bg = np.flatnonzero((max_iou >= bg_range[0]) & (max_iou < bg_range[1]))
    n_fg = min(int(np.round(fg_fraction * num_rois)), fg.size)
    n_bg = min(num_rois - n_fg, bg.size)
    return (rng.choice(fg, n_fg, replace=False) if n_fg else fg[:0],
            rng.choice(bg, n_bg, replace=False) if n_bg else bg[:0])


def svm_window_labels(max_iou, labels_of_best, is_ground_truth):
    """R-CNN SVM training labels (§3.1.3): ground truth -> its class, proposals with IoU < 0.3 with every
    object -> 0 (negative), the rest -1 (left out).

    The paper's negatives are per class (below 0.3 with that class's instances); one label per window
    (what the staged one-vs-rest step takes) leaves out windows in any class's grey zone instead.
    """
    labels = np.where(np.asarray(max_iou) < SVM_NEGATIVE_THRESHOLD, 0, -1)
    return np.where(np.asarray(is_ground_truth, bool), np.asarray(labels_of_best), labels).astype(np.int64)


def smooth_l1(x, sigma=1.0):
    """Fast R-CNN's smooth L1 (Eq. 3): 0.5 (sigma x)^2 if |x| < 1 / sigma^2, else |x| - 0.5 / sigma^2."""
    x = tf.abs(x)
    s2 = sigma * sigma
    return tf.where(x < 1.0 / s2, 0.5 * s2 * x * x, x - 0.5 / s2)


def fast_rcnn_loss(cls_score, bbox_pred, labels, targets, *, normalizer, bbox_weight=1.0,
                   target_stds=(0.1, 0.1, 0.2, 0.2)):
    """Multi-task loss L = L_cls + λ [u >= 1] L_loc (Girshick 2015, Eq. 1), λ = `bbox_weight`.

    `cls_score` (B, R, K), `bbox_pred` (B, R, 4K) unnormalised deltas, `labels` (B, R) with -1 for
    padding RoIs, `targets` (B, R, 4) encoded against each RoI's object. L_loc is smooth L1 on the
    label's 4 deltas, both divided by `target_stds` (the release normalises targets by their
    standard deviations, 0.1/0.1/0.2/0.2 in py-faster-rcnn; the snapshot folds them back into
    bbox_pred). Sums divided by `normalizer` (the RoIs of the global batch, as Caffe's losses).
    """
    cls_score, bbox_pred = tf.cast(cls_score, tf.float32), tf.cast(bbox_pred, tf.float32)
    labels = tf.cast(labels, tf.int32)
    valid = labels >= 0
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.maximum(labels, 0), cls_score)
    cls_loss = tf.reduce_sum(tf.where(valid, ce, 0.0))
    shape = tf.shape(bbox_pred)
    per_class = tf.reshape(bbox_pred, tf.concat([shape[:-1], [-1, 4]], 0))
    chosen = tf.gather(per_class, tf.maximum(labels, 0), axis=-2, batch_dims=2)  # (B, R, 4)
    stds = tf.constant(target_stds, tf.float32)
    loc = tf.reduce_sum(smooth_l1((chosen - tf.cast(targets, tf.float32)) / stds), axis=-1)
    loc_loss = tf.reduce_sum(tf.where(labels >= 1, loc, 0.0))
    return (cls_loss + bbox_weight * loc_loss) / normalizer


# ----------------------------------------------------------------------------- R-CNN


class DetectionWindows(Classification):
    """R-CNN fine-tuning: an (N+1)-way classifier of warped windows ("image", "label"), from the
    window stream of `zoo.data.detection.windows` (its minibatches come from `WindowSampler`)."""

    name = "detection_windows"


class DetectionSVM(FeatureClassification):
    """R-CNN's per-class SVMs on frozen features (staged step, head `fc-rcnn`): windows labelled by
    `svm_window_labels` (the -1 ones left out of the stream). The release's liblinear settings are
    the recipe's [step]: C = 1e-3, positive weight 2 (class_weight), bias multiplier 10
    (intercept_scaling), features scaled to mean norm 20 (feature_norm), one mining pass."""

    name = "detection_svm"


# ----------------------------------------------------------------------------- Fast R-CNN


@dataclasses.dataclass
class DetectionEvalOptions:
    """The [eval] table of Fast R-CNN detection (py-faster-rcnn test.py defaults; NMS 0.3 as R-CNN's)."""

    nms: float = 0.3
    score_threshold: float = 0.05
    max_per_image: int = 100
    max_proposals: int = 2000  # proposals per image at test time (padded; rois beyond an image's count unused)
    max_objects: int = 64  # ground-truth boxes per image (padded)

    def check(self):
        if not 0 < self.nms <= 1 or self.max_per_image < 1 or self.max_proposals < 1 or self.max_objects < 1:
            raise ConfigError("eval.nms must be in (0, 1], eval.max_per_image / max_proposals / max_objects >= 1")


def _content_seed(image, seed):
    """A per-example seed from its content, so a restarted run samples the same RoIs."""
    return tf.strings.to_hash_bucket_fast(tf.io.serialize_tensor(image), 2**31 - 1) + seed


def _pad(t, n, value=0):
    t = t[:n]
    pad = [[0, n - tf.shape(t)[0]]] + [[0, 0]] * (t.shape.rank - 1)
    return tf.pad(t, pad, constant_values=value)


def detect(cls_score, bbox_pred, rois, image_shape, options: DetectionEvalOptions):
    """Fast R-CNN test-time detection of one image -> (boxes (D, 4), scores (D,), classes (D,)), NumPy.

    Softmax scores, class-specific decoded boxes clipped to the image, per-class greedy NMS,
    scores below the threshold dropped, the best `max_per_image` kept.
    """
    rois = np.asarray(rois, np.float32)
    probs = softmax(np.asarray(cls_score, np.float64))
    k = probs.shape[-1]
    deltas = np.asarray(bbox_pred, np.float32).reshape(len(rois), k, 4)
    boxes = np.asarray(decode_deltas(rois[:, None, :], deltas, clip_to=image_shape))
    cls = np.broadcast_to(np.arange(k), probs.shape)[:, 1:].reshape(-1)
    scores, boxes = probs[:, 1:].reshape(-1), boxes[:, 1:].reshape(-1, 4)
    keep = scores >= options.score_threshold
    boxes, scores, cls = boxes[keep], scores[keep], cls[keep]
    kept = batched_nms(boxes, scores, cls, options.nms, max_output=options.max_per_image)
    return boxes[kept], scores[kept], cls[kept]


class DetectionEvaluator(Evaluator):
    """VOC AP (both definitions) and mAP of the detections over the split (zoo.metrics.detection)."""

    def __init__(self, num_classes, options):
        self.options = options
        self.metric = DetectionAP(num_classes - 1)

    def update(self, outputs, targets):
        cls_score, bbox_pred = (np.asarray(o) for o in outputs)
        for b in range(cls_score.shape[0]):
            n = int(targets["num_proposals"][b])
            m = int(targets["num_objects"][b])
            det = detect(cls_score[b, :n], bbox_pred[b, :n], targets["rois"][b, :n], targets["image_shape"][b],
                         self.options)
            self.metric.add_image(*det, targets["boxes"][b, :m], targets["labels"][b, :m], targets["difficult"][b, :m])

    def result(self) -> dict:
        return self.metric.result()


class DetectionRoIs(Task):
    """Fast R-CNN: image + 64 sampled RoIs per image (ground truth among the candidates, as the
    release's roidb), the multi-task loss, VOC AP after NMS."""

    name = "detection_rois"
    EvalOptions = DetectionEvalOptions
    rois_per_image = 64
    fg_fraction = 0.25

    def __init__(self, seed=0):
        self.seed = seed

    def bind(self, recipe, info, load, model=None):
        return type(self)(recipe.train.seed)

    def _sample(self, boxes, labels, proposals, seed):
        """NumPy: sampled rois (R, 4), labels (R,) (-1 padding), regression targets (R, 4)."""
        candidates = np.concatenate([boxes.reshape(-1, 4), proposals.reshape(-1, 4)]).astype(np.float32)
        max_iou, best, cls = assign_boxes(candidates, boxes, labels)
        fg, bg = sample_fast_rcnn_rois(max_iou, np.random.default_rng(int(seed)), self.rois_per_image,
                                       self.fg_fraction)
        r = self.rois_per_image
        rois, out_labels, targets = np.zeros((r, 4), np.float32), -np.ones(r, np.int32), np.zeros((r, 4), np.float32)
        chosen = np.concatenate([fg, bg])
        rois[:len(chosen)] = candidates[chosen]
        out_labels[:len(fg)] = cls[fg]
        out_labels[len(fg):len(chosen)] = 0
        if len(fg):
            targets[:len(fg)] = np.asarray(encode_deltas(candidates[fg], boxes.reshape(-1, 4)[best[fg]]))
        return rois, out_labels, targets

    def example_to_xy(self, contract):
        make_image = model_input(contract.streams[0])
        seed = self.seed

        def to_xy(ex):
            rois, labels, targets = tf.numpy_function(
                self._sample, [ex["boxes"], ex["labels"], ex["proposals"], _content_seed(ex["image"], seed)],
                [tf.float32, tf.int32, tf.float32], stateful=False)
            r = self.rois_per_image
            rois, labels, targets = tf.ensure_shape(rois, (r, 4)), tf.ensure_shape(labels, (r,)), tf.ensure_shape(targets, (r, 4))
            return {"data": make_image(ex), "rois": rois}, {"labels": labels, "targets": targets}

        return to_xy

    def eval_example_to_xy(self, contract, options: DetectionEvalOptions | None = None):
        o = options or DetectionEvalOptions()
        make_image = model_input(contract.streams[0])

        def to_xy(ex):
            proposals = tf.cast(ex["proposals"], tf.float32)
            rois = _pad(proposals, o.max_proposals)
            targets = {"rois": rois, "num_proposals": tf.minimum(tf.shape(proposals)[0], o.max_proposals),
                       "boxes": _pad(tf.cast(ex["boxes"], tf.float32), o.max_objects),
                       "labels": _pad(tf.cast(ex["labels"], tf.int32), o.max_objects),
                       "difficult": _pad(tf.cast(ex["difficult"], tf.bool), o.max_objects, False),
                       "num_objects": tf.minimum(tf.shape(ex["labels"])[0], o.max_objects),
                       "image_shape": tf.shape(ex["image"])[:2]}
            return {"data": make_image(ex), "rois": rois}, targets

        return to_xy

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        cls_score, bbox_pred = outputs
        return fast_rcnn_loss(cls_score, bbox_pred, targets["labels"], targets["targets"],
                              normalizer=float(global_batch_size * self.rois_per_image))

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return DetectionEvaluator(output_classes(model)[0], eval_cfg or DetectionEvalOptions())


TASKS = (DetectionWindows(), DetectionSVM(), DetectionRoIs())


def rcnn_outputs(model, image_bgr, proposals, *, crop_size=227, padding=16, warp_mode="warp", batch_size=256):
    """{output name: (P, ...) array} of R-CNN's network on every warped proposal of one image (§3.1.2):
    each proposal is warped (zoo.ops.warp) from `image_bgr`, the network input (BGR minus the mean, so
    the fill is 0), in batches of `batch_size` (the release: 256)."""
    from zoo.ops.warp import warp_regions

    names = list(model.output_names) if isinstance(model.outputs, (list, tuple)) else [model.output_names]
    proposals = np.asarray(proposals, np.float32).reshape(-1, 4)
    outs = {name: [] for name in names}
    for start in range(0, len(proposals), batch_size):
        windows = warp_regions(image_bgr, proposals[start:start + batch_size], crop_size, padding, warp_mode)
        result = model(windows, training=False)
        result = result if isinstance(result, (list, tuple)) else [result]
        for name, value in zip(names, result):
            outs[name].append(np.asarray(value))
    return {name: np.concatenate(v) if v else np.zeros((0,) + tuple(model.get_layer(name).output.shape[1:]))
            for name, v in outs.items()}


def rcnn_detections(outs, proposals, image_shape, *, use_svm=True, regress=True, nms=0.3, score_threshold=None,
                    max_per_image=100, softmax_output="fc8_pascal"):
    """R-CNN's detections of one image from `rcnn_outputs` -> (boxes (D, 4), scores (D,), classes (D,)).

    Each class scores every proposal with its SVM (`fc-rcnn`), or the fine-tuned softmax
    (`softmax_output`) with use_svm=False (App. 3.4.2); with `regress` and a `bbox_pred` output the
    class's box is regressed once (R-CNN's pixel convention, widths x2 - x1); then greedy per-class
    NMS at `nms` (0.3, the release's test setting).
    """
    proposals = np.asarray(proposals, np.float32).reshape(-1, 4)
    if use_svm and "fc-rcnn" not in outs:
        raise ConfigError("use_svm=True needs the SVM layer: build the model with svm_layer='fc7' (or pool5, fc6)")
    if not use_svm and softmax_output not in outs:
        raise ConfigError(f"use_svm=False scores with the fine-tuned softmax: the model has no {softmax_output!r} "
                          f"output (it has {sorted(outs)})")
    if regress and "bbox_pred" not in outs:
        raise ConfigError("regress=True needs the box regressors: build the model with bbox_regression=True and "
                          "fit them (zoo/recipes/rcnn/*bbox*.toml), or pass regress=False")
    scores = outs["fc-rcnn"] if use_svm else softmax(outs[softmax_output])
    k = scores.shape[1]
    boxes = np.repeat(proposals[:, None, :], k, axis=1)
    if regress:
        deltas = outs["bbox_pred"].reshape(len(proposals), k, 4)
        boxes = np.asarray(decode_deltas(proposals[:, None, :], deltas, clip_to=image_shape, pixel_offset=0.0))
    cls = np.broadcast_to(np.arange(k), scores.shape)[:, 1:].reshape(-1)
    scores, boxes = scores[:, 1:].reshape(-1), boxes[:, 1:].reshape(-1, 4)
    if score_threshold is not None:
        keep = scores >= score_threshold
        boxes, scores, cls = boxes[keep], scores[keep], cls[keep]
    kept = batched_nms(boxes, scores, cls, nms, max_output=max_per_image)
    return boxes[kept], scores[kept], cls[kept]


def rcnn_detect(model, image_bgr, proposals, *, crop_size=227, padding=16, warp_mode="warp", batch_size=256,
                nms=0.3, score_threshold=None, max_per_image=100, use_svm=True, regress=None):
    """R-CNN at test time on one image -> (boxes (D, 4), scores (D,), classes (D,)), NumPy: `rcnn_outputs`
    then `rcnn_detections` (regress=None: regress when the model has a `bbox_pred` output)."""
    outs = rcnn_outputs(model, image_bgr, proposals, crop_size=crop_size, padding=padding, warp_mode=warp_mode,
                        batch_size=batch_size)
    regress = "bbox_pred" in outs if regress is None else regress
    names = [n for n in outs if n not in ("fc-rcnn", "bbox_pred")]
    return rcnn_detections(outs, proposals, np.shape(image_bgr)[:2], use_svm=use_svm, regress=regress, nms=nms,
                           score_threshold=score_threshold, max_per_image=max_per_image,
                           softmax_output=names[0] if names else "fc8_pascal")


RCNN_VARIANTS = {"svm": {"use_svm": True, "regress": False}}


def rcnn_test_map(model, examples, num_classes, variants=None, *, class_names=None, mean_bgr=None, crop_size=227,
                  padding=16, warp_mode="warp", batch_size=256, nms=0.3, max_per_image=100, keep=0):
    """R-CNN's test-set AP: each example (detection dicts: RGB uint8 "image", "proposals", "boxes",
    "labels", "difficult") goes once through the network (`rcnn_outputs`), then through
    `rcnn_detections` for every variant ({name: {"use_svm": ..., "regress": ...}}; default: SVMs without
    box regression) into a `DetectionAP` and a `FalsePositiveAnalysis` per variant.

    Returns {variant: {"metrics": DetectionAP.result(), "ap": the DetectionAP, "fp": the
    FalsePositiveAnalysis, "detections": the first `keep` images' (boxes, scores, classes)},
    "seconds_per_image": the network's and the detections' wall time per image}. `num_classes` is N
    (without background); `mean_bgr` the input mean (the Caffe ImageNet mean by default).
    """
    import time

    from zoo.metrics.false_positives import FalsePositiveAnalysis
    from zoo.registry import CAFFE_BGR_MEAN

    variants = RCNN_VARIANTS if variants is None else variants
    mean = np.asarray(CAFFE_BGR_MEAN if mean_bgr is None else mean_bgr, np.float32)
    out = {name: {"ap": DetectionAP(num_classes, class_names), "fp": FalsePositiveAnalysis(num_classes, ()),
                  "detections": []} for name in variants}
    seconds, images = 0.0, 0
    for ex in examples:
        started = time.perf_counter()
        image = np.asarray(ex["image"], np.float32)[..., ::-1] - mean
        outs = rcnn_outputs(model, image, ex["proposals"], crop_size=crop_size, padding=padding,
                            warp_mode=warp_mode, batch_size=batch_size)
        network = time.perf_counter() - started
        for name, kwargs in variants.items():
            det = rcnn_detections(outs, ex["proposals"], image.shape[:2], nms=nms, max_per_image=max_per_image,
                                  **kwargs)
            truth = (ex["boxes"], ex["labels"], ex.get("difficult"))
            out[name]["ap"].add_image(*det, *truth)
            out[name]["fp"].add_image(*det, *truth)
            if len(out[name]["detections"]) < keep:
                out[name]["detections"].append(det)
        seconds += network + (time.perf_counter() - started - network) / max(len(variants), 1)
        images += 1
    for name in variants:
        out[name]["metrics"] = out[name]["ap"].result()
    out["seconds_per_image"] = seconds / max(images, 1)
    return out
