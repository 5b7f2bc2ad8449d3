"""SavedModel export with named signatures (Keras `ExportArchive`).

Signatures:
- `serve(inputs)`: the network input (float32, the model's input shape with a free batch axis,
  and free H/W where the model has them) -> the model's outputs (`output_0`, ...).
- `serving_default`: the same function, set explicitly for TF-Serving.
- `serve_images(images)`: only for image models with 3 channels; uint8 RGB pictures (N, H, W, 3)
  -> the model's preprocessing (`zoo.preprocessing.ImagePreprocessing`) -> the model. For
  segmentation models (one output with the input's H and W) it returns
  `{"scores": (N, H, W, K) float32, "labels": (N, H, W) int32 argmax}`.
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ExportError
from zoo.export import atomic, parity
from zoo.export.report import ExportReport, write_report
from zoo.preprocessing import ImagePreprocessing


def serves_images(contract, shape) -> bool:
    return contract is not None and contract.kind == "image" and len(shape) == 3 and shape[-1] == 3


def is_segmentation(check_inputs, keras_outputs) -> bool:
    """One (N, H, W, K) output with the input's H and W: a dense per-pixel prediction."""
    return (
        len(keras_outputs) == 1
        and keras_outputs[0].ndim == 4
        and check_inputs.ndim == 4
        and keras_outputs[0].shape[1:3] == check_inputs.shape[1:3]
    )


def build_archive(model, batch_shape, dtype, *, preprocessing=None, segmentation=False):
    """An ExportArchive with `serve` (+ `serving_default`) and, given `preprocessing`, `serve_images`."""
    archive = keras.export.ExportArchive()
    archive.track(model)
    serve = archive.add_endpoint(
        "serve",
        lambda inputs: model(inputs, training=False),
        input_signature=[tf.TensorSpec(batch_shape, dtype, name="inputs")],
    )
    archive.add_endpoint("serving_default", serve)
    if preprocessing is not None:

        def serve_images(images):
            scores = model(preprocessing(images), training=False)
            if segmentation:
                return {"scores": scores, "labels": tf.argmax(scores, axis=-1, output_type=tf.int32)}
            return scores

        archive.add_endpoint(
            "serve_images",
            serve_images,
            input_signature=[tf.TensorSpec((None, *batch_shape[1:3], 3), tf.uint8, name="images")],
        )
    return archive, serve


def write_archive(archive, path):
    try:
        archive.write_out(path, verbose=False)
    except (ValueError, TypeError, NotImplementedError, tf.errors.OpError) as e:
        raise ExportError(f"writing the SavedModel failed: {e}") from e


def _check_labels(scores, labels, tol):
    """Labels must be the argmax wherever the top two scores are further apart than 2 x tol."""
    top2 = np.sort(scores, axis=-1)[..., -2:]
    clear = (top2[..., 1] - top2[..., 0]) > 2 * tol
    if labels.shape != scores.shape[:-1] or np.any(labels[clear] != np.argmax(scores, axis=-1)[clear]):
        raise ExportError("serve_images 'labels' is not the argmax of the Keras model's scores")


def export_savedmodel(
    model, out_dir, *, input_contract, input_shape=None, overwrite=False, check_inputs=None
) -> ExportReport:
    """Write `model` as a SavedModel at `out_dir`, verified against Keras, atomically.

    `input_shape` (no batch axis) fixes the `serve` shape; by default the model's own input shape
    (free H/W stay free). `check_inputs`: network-input batches to verify on (default: see
    zoo.export.parity). The report goes to `<out_dir>/export.json`. Raises InputError for an
    input_shape or check_inputs the model cannot take, ExportError for an existing target
    (unless overwrite=True) or an artefact that does not match the Keras model; in every failure
    nothing is left at `out_dir`.
    """
    out_dir = os.fspath(out_dir)
    atomic.refuse_existing(out_dir, overwrite)
    shape = parity.resolve_input_shape(model, input_shape, input_contract, fixed=False)
    _, dtype = parity.model_input(model)
    x = parity.check_inputs_for(model, shape, dtype, input_contract, check_inputs)
    expected = parity.run_keras(model, x)

    preprocessing = images = None
    if serves_images(input_contract, shape):
        preprocessing = ImagePreprocessing.from_contract(input_contract, name="preprocessing")
        images = parity.random_images(x.shape[1:], seed=1)
    segmentation = is_segmentation(x, expected)

    with atomic.staging_dir(out_dir) as tmp:
        archive, _ = build_archive(model, (None, *shape), dtype, preprocessing=preprocessing, segmentation=segmentation)
        write_archive(archive, tmp)

        loaded = tf.saved_model.load(tmp)
        wanted = {"serve", "serving_default"} | ({"serve_images"} if preprocessing else set())
        missing = wanted - set(loaded.signatures)
        if missing:
            raise ExportError(f"the SavedModel lacks signatures {sorted(missing)}")
        metrics = {}
        diffs = []
        for name in ("serve", "serving_default"):
            got = parity.ordered_signature_outputs(loaded.signatures[name](inputs=tf.constant(x)))
            diff, scale, tol = parity.check_close(expected, got, what=f"SavedModel signature {name!r}")
            diffs.append(diff)
        if preprocessing is not None:
            want = parity.run_keras(model, keras.ops.convert_to_numpy(preprocessing(images)))
            out = loaded.signatures["serve_images"](images=tf.constant(images))
            got = [np.asarray(out["scores"])] if segmentation else parity.ordered_signature_outputs(out)
            img_diff, img_scale, img_tol = parity.check_close(want, got, what="SavedModel signature 'serve_images'")
            if segmentation:
                _check_labels(want[0], np.asarray(out["labels"]), img_tol)
            metrics["serve_images"] = {"max_abs_diff": img_diff, "output_scale": img_scale, "tolerance": img_tol}
        del loaded

        report = ExportReport(
            format="savedmodel",
            path=out_dir,
            quantize=None,
            input_shape=shape,
            size_bytes=atomic.tree_size(tmp),
            max_abs_diff=max(diffs),
            output_scale=scale,
            tolerance=tol,
            metrics=metrics,
        )
        write_report(report, os.path.join(tmp, "export.json"))  # = report_path(out_dir) once placed
        atomic.place(tmp, out_dir, overwrite=overwrite)
    return report
