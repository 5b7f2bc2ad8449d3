"""A Fast R-CNN detector as one SavedModel signature and one .tflite file: an RGB uint8 image and its
proposals in, the detections after per-class NMS out.

    detect(image (H, W, 3) uint8 RGB, proposals (R, 4) float32 [x1, y1, x2, y2] pixels)
        -> boxes (D, 4), scores (D,), classes (D,) int32, num_detections ()

with D = `max_per_image`: rows past `num_detections` are zero. Inside: the card's preprocessing
(RGB -> BGR minus the mean), the network, softmax, class-specific box decoding clipped to the
image (zoo.ops.boxes.decode_deltas), then for each class `tf.image.non_max_suppression_padded`
(TFLite's builtin NON_MAX_SUPPRESSION_V4) at the IoU threshold (R-CNN's 0.3) over the scores
above `score_threshold`, and the best `max_per_image` over all classes. The host-side reference
is `zoo.tasks.detection.detect` (tested to agree). TFLite needs fixed shapes, so the .tflite file
takes a fixed image size and proposal count (pad proposals with zero boxes, whose score
the caller can ignore, or repeat one).

TF's NMS computes a continuous IoU; the boxes it sees have their far corners moved by one pixel,
so its IoU is the release's inclusive-pixel one (`py_cpu_nms`, +1 widths): the SavedModel's
detections equal `zoo.tasks.detection.detect`'s. LiteRT's NON_MAX_SUPPRESSION_V4 kernel does not
always: on the test fixture it keeps a box at IoU 0.3013 with a kept one (threshold 0.3) that
TensorFlow's kernel drops; the cause is not yet found (tests/detection/test_detection_export.py).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.errors import ExportError
from zoo.ops.boxes import decode_deltas
from zoo.preprocessing import ImagePreprocessing


class Detector(tf.Module):
    """`detect(image, proposals)` around a Fast R-CNN Keras model (see the module docstring)."""

    def __init__(self, model, contract, *, nms=0.3, score_threshold=0.05, max_per_image=100):
        super().__init__()
        self.model = model
        streams = {s.name: s for s in contract.streams}
        self.preprocess = ImagePreprocessing.from_contract(streams["data"])
        self.nms, self.score_threshold, self.max_per_image = float(nms), float(score_threshold), int(max_per_image)
        self.num_classes = int(model.outputs[0].shape[-1])

    def __call__(self, image, proposals):
        x = self.preprocess(tf.cast(image, tf.float32)[None])
        rois = tf.cast(proposals, tf.float32)
        cls_score, bbox_pred = self.model({"data": x, "rois": rois[None]}, training=False)
        probs = tf.nn.softmax(cls_score[0], axis=-1)  # (R, K)
        deltas = tf.reshape(bbox_pred[0], (-1, self.num_classes, 4))
        shape = tf.shape(image)
        boxes = decode_deltas(rois[:, None, :], deltas, clip_to=(shape[0], shape[1]))  # (R, K, 4)
        all_boxes, all_scores, all_classes = [], [], []
        inclusive = tf.constant([0.0, 0.0, 1.0, 1.0])  # far corners + 1: TF's IoU is then the release's (+1) IoU
        for c in range(1, self.num_classes):
            scores = probs[:, c]
            keep, count = tf.image.non_max_suppression_padded(
                boxes[:, c] + inclusive, scores, self.max_per_image, iou_threshold=self.nms,
                score_threshold=self.score_threshold, pad_to_max_output_size=True)
            valid = tf.range(self.max_per_image) < count
            all_boxes.append(tf.gather(boxes[:, c], keep))
            all_scores.append(tf.where(valid, tf.gather(scores, keep), -1.0))
            all_classes.append(tf.fill([self.max_per_image], c))
        scores = tf.concat(all_scores, 0)
        top, order = tf.math.top_k(scores, self.max_per_image)
        valid = top >= 0
        count = tf.reduce_sum(tf.cast(valid, tf.int32))
        boxes = tf.where(valid[:, None], tf.gather(tf.concat(all_boxes, 0), order), 0.0)
        classes = tf.where(valid, tf.gather(tf.concat(all_classes, 0), order), 0)
        return {"boxes": boxes, "scores": tf.where(valid, top, 0.0), "classes": classes, "num_detections": count}


def export_detector(model, path, contract, *, image_shape=(None, None), num_proposals=None, **options):
    """Write the SavedModel at `path` with the signature `detect` (also `serving_default`)."""
    import keras

    detector = Detector(model, contract, **options)
    archive = keras.export.ExportArchive()
    archive.track(model)
    detect = archive.add_endpoint("detect", detector.__call__, input_signature=[
        tf.TensorSpec((*image_shape, 3), tf.uint8, name="image"),
        tf.TensorSpec((num_proposals, 4), tf.float32, name="proposals")])
    archive.add_endpoint("serving_default", detect)
    try:
        archive.write_out(str(path), verbose=False)
    except (ValueError, TypeError, NotImplementedError, tf.errors.OpError) as e:
        raise ExportError(f"writing the detector's SavedModel failed: {e}") from e
    return detector


def export_detector_tflite(model, path, contract, *, image_shape, num_proposals, **options) -> bytes:
    """A .tflite of `detect` at a fixed image size and proposal count, builtin ops only (converted from
    a SavedModel at those shapes, so the weights are frozen constants)."""
    import tempfile

    from zoo.export.tflite import conversion_error

    with tempfile.TemporaryDirectory() as tmp:
        export_detector(model, tmp, contract, image_shape=image_shape, num_proposals=num_proposals, **options)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=["serving_default"])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        try:
            data = converter.convert()
        except Exception as e:  # the converter's messages name the ops builtins lack
            raise conversion_error(e, allow_flex=False) from e
    with open(path, "wb") as f:
        f.write(data)
    return data


def run_detector_tflite(path, image, proposals) -> dict:
    """The .tflite detector's outputs on one image, by name (NumPy)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner()
    out = runner(image=np.asarray(image, np.uint8), proposals=np.asarray(proposals, np.float32))
    if set(out) != {"boxes", "scores", "classes", "num_detections"}:
        raise ExportError(f"the detector's outputs are {sorted(out)}")
    return out
