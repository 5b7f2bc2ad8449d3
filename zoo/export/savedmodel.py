"""SavedModel export with named signatures (Keras `ExportArchive`).

Signatures:
- `serve(inputs)`: the network input (float32, the model's input shape with a free batch axis,
  and free H/W where the model has them) -> the model's outputs (`output_0`, ...; a dict
  output keeps its keys). A model with several inputs takes them by their Keras input names
  instead (`serve(color=..., hha=...)`, `serve(image=..., words=...)`).
- `serving_default`: the same function, set explicitly for TF-Serving.
- `serve_images(images)`: only for image models with 3 channels; uint8 RGB pictures (N, H, W, 3)
  -> the model's preprocessing (`zoo.preprocessing.ImagePreprocessing`) -> the model. For
  segmentation models (one output with the input's H and W) it returns
  `{"scores": (N, H, W, K) float32, "labels": (N, H, W) int32 argmax}`. A model with several
  inputs has it when every input is such an image: it takes one uint8 picture batch per input,
  by name, each preprocessed by its own stream's contract (for the RGB-HHA nets, `color` as BGR
  minus the NYUDv2 mean and `hha` as stored minus the HHA mean).
  Not for kind "rgbd" (one 4-channel input made from a picture and a depth map: the depth's
  log transform is not built into the signature) nor for token or vector inputs: `serve` only.
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ExportError
from zoo.export import atomic, parity
from zoo.export.report import ExportReport, count_examples, write_report
from zoo.progress import stage
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


def _signature(specs: dict):
    """input_signature of an endpoint: one spec for a single-input model, else the dict by name."""
    return [parity.as_model_input(specs)]


def build_archive(model, streams, batch, *, preprocessing=None, segmentation=False):
    """An ExportArchive with `serve` (+ `serving_default`) and, given `preprocessing` ({stream
    name: ImagePreprocessing}), `serve_images`; inputs of batch size `batch` (None: free)."""
    archive = keras.export.ExportArchive()
    archive.track(model)
    specs = {s.name: tf.TensorSpec((batch, *s.shape), s.dtype, name=s.name) for s in streams}
    serve = archive.add_endpoint(
        "serve", lambda inputs: model(inputs, training=False), input_signature=_signature(specs)
    )
    archive.add_endpoint("serving_default", serve)
    if preprocessing is not None:
        multi = parity.is_multi(streams)

        def serve_images(images):
            if multi:
                x = {name: preprocessing[name](images[name]) for name in preprocessing}
            else:
                x = preprocessing[parity.SINGLE](images)
            scores = model(x, training=False)
            if segmentation:
                return {"scores": scores, "labels": tf.argmax(scores, axis=-1, output_type=tf.int32)}
            return scores

        pictures = {
            s.name: tf.TensorSpec((None, *s.shape[:2], 3), tf.uint8, name=s.name if multi else "images")
            for s in streams
        }
        archive.add_endpoint("serve_images", serve_images, input_signature=_signature(pictures))
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


def _tensors(feeds: dict) -> dict:
    return {name: tf.constant(v) for name, v in feeds.items()}


def export_savedmodel(
    model, out_dir, *, input_contract, input_shape=None, overwrite=False, check_inputs=None
) -> ExportReport:
    """Write `model` as a SavedModel at `out_dir`, verified against Keras, atomically.

    `input_shape` (no batch axis) fixes the `serve` shape; by default the model's own input shape
    (free H/W stay free); for a model with several inputs, a dict {input name: shape} (inputs
    left out keep the model's shape). `input_contract`: the card's; for several inputs, its
    `streams` give each input's. `check_inputs`: network-input batches to verify on, a dict by
    input name for several inputs (default: see zoo.export.parity). Every output is compared;
    `report.outputs` has one row per output. The report goes to `<out_dir>/export.json`. Raises
    InputError for an input_shape or check_inputs the model cannot take, ExportError for an
    existing target (unless overwrite=True) or an artefact that does not match the Keras model;
    in every failure nothing is left at `out_dir`.
    """
    out_dir = os.fspath(out_dir)
    atomic.refuse_existing(out_dir, overwrite)
    streams = parity.resolve_streams(model, input_shape, input_contract, fixed=False)
    feeds = parity.check_inputs_for(model, streams, check_inputs)
    names, expected = parity.run_keras(model, feeds)

    preprocessing = images = None
    if all(serves_images(s.contract, s.shape) for s in streams):
        preprocessing = {s.name: ImagePreprocessing.from_contract(s.contract, name=f"preprocessing_{s.name}")
                         for s in streams}
        images = {s.name: parity.random_images(feeds[s.name].shape[1:], seed=1 + i) for i, s in enumerate(streams)}
    segmentation = is_segmentation(next(iter(feeds.values())), expected)

    with atomic.staging_dir(out_dir) as tmp:
        with stage("write SavedModel"):
            archive, _ = build_archive(model, streams, None, preprocessing=preprocessing, segmentation=segmentation)
            write_archive(archive, tmp)
        with stage("verify SavedModel"):
            loaded = tf.saved_model.load(tmp)
            wanted = {"serve", "serving_default"} | ({"serve_images"} if preprocessing else set())
            missing = wanted - set(loaded.signatures)
            if missing:
                raise ExportError(f"the SavedModel lacks signatures {sorted(missing)}")
            metrics = {}
            rows = []
            for name in ("serve", "serving_default"):
                got = parity.ordered_signature_outputs(loaded.signatures[name](**_tensors(feeds)))
                rows.append(parity.compare(expected, got, names=names, what=f"SavedModel signature {name!r}"))
            if preprocessing is not None:
                x = {k: keras.ops.convert_to_numpy(preprocessing[k](v)) for k, v in images.items()}
                _, want = parity.run_keras(model, x)
                args = _tensors(images) if parity.is_multi(streams) else {"images": tf.constant(images[parity.SINGLE])}
                out = loaded.signatures["serve_images"](**args)
                got = [np.asarray(out["scores"])] if segmentation else parity.ordered_signature_outputs(out)
                img_rows = parity.compare(want, got, names=names, what="SavedModel signature 'serve_images'")
                img_diff, img_scale, img_tol = parity.summary(img_rows)
                if segmentation:
                    _check_labels(want[0], np.asarray(out["labels"]), img_tol)
                metrics["serve_images"] = {"max_abs_diff": img_diff, "output_scale": img_scale, "tolerance": img_tol}
            del loaded

        # per output, the worse of serve and serving_default (the same function: equal in practice)
        worst = [max(pair, key=lambda r: r["max_abs_diff"]) for pair in zip(*rows)]
        diff, scale, tol = parity.summary(worst)
        report = ExportReport(
            format="savedmodel",
            path=out_dir,
            quantize=None,
            input_shape=parity.shapes_of(streams),
            size_bytes=atomic.tree_size(tmp),
            max_abs_diff=diff,
            output_scale=scale,
            tolerance=tol,
            metrics=metrics,
            outputs=worst,
            checked_examples=count_examples(feeds),
        )
        write_report(report, os.path.join(tmp, "export.json"))  # = report_path(out_dir) once placed
        atomic.place(tmp, out_dir, overwrite=overwrite)
    return report
