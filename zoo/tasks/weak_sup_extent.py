"""Object extent from WEAK SUP score maps through proposals (Oquab thesis §4.6.2, "Predicting extent").

"We have implemented a simple extension of our method that aggregates CNN scores within selective
search object proposals. This procedure obtains on the Pascal VOC 2012 validation set the mAP of
11.74, 27.47, 43.54% for area overlap thresholds 0.5, 0.3, 0.1." The aggregation is not described
further; the zoo's reading, stated here so that it can be changed:

1. each scale's class score maps are rescaled to the original image by bilinear interpolation
   ("simple interpolation", §4.6.1; the map covers the zero-padded canvas, whose side is the
   image's largest side) and averaged over the test scales (as the image scores are, §4.3.3);
2. a proposal's score for class k is the mean (option: the max) of that map inside the box;
3. per class, greedy NMS at 0.3 (R-CNN's test setting) and the best `max_per_image` kept;
4. VOC detection AP (zoo.metrics.detection) at IoU 0.5, 0.3 and 0.1.

Proposals: selective search in fast mode (zoo.data.detection.proposals), e.g. from the
`voc2012_detection` examples, whose labels 1..20 are the multi-label classes 0..19 plus one.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.metrics.detection import DetectionAP
from zoo.ops.boxes import batched_nms
from zoo.tasks.base import model_input
from zoo.tasks.weak_sup import TEST_SCALES, rescale_batch, to_canvas

THRESHOLDS = (0.5, 0.3, 0.1)  # §4.6.2
REDUCE = ("mean", "max")


def image_score_map(score_maps, image_size):
    """[(h_s, w_s, K) per scale] of one image -> (H, W, K) float64: each map resized bilinearly to the
    canvas at the image's scale (side max(H, W)), cropped to the image, averaged over the scales."""
    height, width = (int(v) for v in image_size)
    side = max(height, width)
    out = [tf.image.resize(np.asarray(m, np.float32)[None], (side, side), method="bilinear")[0, :height, :width]
           for m in score_maps]
    return np.mean([np.asarray(o, np.float64) for o in out], axis=0)


def proposal_scores(image_map, proposals, reduce="mean"):
    """(P, K) scores of proposals (P, 4) `[x1, y1, x2, y2]` inclusive pixels, clipped to the image: the
    mean (summed-area table) or max of the (H, W, K) map inside each box."""
    if reduce not in REDUCE:
        raise ConfigError(f"reduce must be one of {REDUCE}, got {reduce!r}")
    image_map = np.asarray(image_map, np.float64)
    height, width, k = image_map.shape
    boxes = np.round(np.asarray(proposals, np.float64).reshape(-1, 4)).astype(np.int64)
    x1, x2 = np.clip(boxes[:, 0], 0, width - 1), np.clip(boxes[:, 2], 0, width - 1)
    y1, y2 = np.clip(boxes[:, 1], 0, height - 1), np.clip(boxes[:, 3], 0, height - 1)
    x2, y2 = np.maximum(x2, x1), np.maximum(y2, y1)
    if reduce == "max":
        return np.stack([image_map[a:c + 1, b:d + 1].reshape(-1, k).max(0) for a, b, c, d in zip(y1, x1, y2, x2)]
                        ) if len(boxes) else np.zeros((0, k))
    table = np.zeros((height + 1, width + 1, k))
    table[1:, 1:] = image_map.cumsum(0).cumsum(1)
    total = table[y2 + 1, x2 + 1] - table[y1, x2 + 1] - table[y2 + 1, x1] + table[y1, x1]
    return total / ((y2 - y1 + 1) * (x2 - x1 + 1))[:, None]


def extent_detections(image_map, proposals, *, reduce="mean", nms=0.3, max_per_image=100):
    """(boxes (D, 4), scores (D,), classes (D,) 1..K) of one image: every proposal scored for every
    class, per-class NMS, the best `max_per_image`."""
    proposals = np.asarray(proposals, np.float32).reshape(-1, 4)
    scores = proposal_scores(image_map, proposals, reduce)
    k = scores.shape[1]
    boxes = np.repeat(proposals, k, axis=0)
    classes = np.tile(np.arange(1, k + 1), len(proposals))
    scores = scores.reshape(-1)
    kept = batched_nms(boxes, scores, classes, nms, max_output=max_per_image)
    return boxes[kept], scores[kept], classes[kept]


def evaluate_extent(model, examples, contract, *, canvas=500, scales=TEST_SCALES, reduce="mean", nms=0.3,
                    thresholds=THRESHOLDS, max_per_image=100, label_offset=1) -> dict:
    """§4.6.2 on detection examples ("image", "boxes", "labels", "difficult", "proposals"; labels 1..K,
    zoo.data.detection) -> {"map@0.5": ..., "ap@0.5/<k>": ...}. Classes 1..K of the ground truth are the
    model's 0..K-1 (`label_offset` = 1); ground truth of other classes is not scored."""
    k = int(model.outputs[0].shape[-1])
    metrics = {t: DetectionAP(k, iou_threshold=t) for t in thresholds}
    make_input = model_input(contract)
    forward = tf.function(lambda x: model(x, training=False)[1], reduce_retracing=True)
    for ex in examples:
        x = to_canvas(make_input({key: tf.convert_to_tensor(v) for key, v in ex.items() if key == "image"}), canvas)
        maps = [np.asarray(forward(rescale_batch(x[None], s)))[0] for s in scales]
        image_map = image_score_map(maps, np.shape(ex["image"])[:2])
        det = extent_detections(image_map, ex["proposals"], reduce=reduce, nms=nms, max_per_image=max_per_image)
        labels = np.asarray(ex["labels"]) - label_offset + 1
        for metric in metrics.values():
            metric.add_image(*det, ex["boxes"], labels, ex.get("difficult"))
    out = {}
    for t, metric in metrics.items():
        aps = metric.class_aps("area")
        defined = aps[~np.isnan(aps)]
        out[f"map@{t}"] = float(defined.mean()) if defined.size else float("nan")
        out.update({f"ap@{t}/{c}": float(ap) for c, ap in enumerate(aps)})
    return out
