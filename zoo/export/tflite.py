"""TFLite export: fp32, fp16 and full-integer int8, verified in the LiteRT interpreter.

The model is written as a SavedModel with one `serve` signature at a fixed input shape (batch
1), converted with `tf.lite.TFLiteConverter.from_saved_model`, run in
`ai_edge_litert.interpreter.Interpreter` on the check inputs and compared with Keras
(zoo.export.parity), all inside a temporary sibling of the target, then renamed into place.

Builtin ops only unless `allow_flex=True`; a model that needs select TF ops fails with an
ExportError naming them. Measured here (TF 2.21, LiteRT 2.3):
- A Keras LSTM at a fixed batch converts with builtin ops (a WHILE loop) and matches Keras to
  ~1e-7; only with a free batch axis do its TensorList ops fail to lower (they would need Flex).
- int8 calibration of a model with a WHILE loop crashed the converter (segfault), so int8 is
  refused for such models: unroll the recurrent layers (`unroll=True`), which int8 handles.
- The LiteRT pip package has no Flex delegate: a model with Flex ops is written but cannot be run
  here, so its report has max_abs_diff None and says so in `notes`.
"""

from __future__ import annotations

import os
import re
import warnings

import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from zoo.errors import ConfigError, ExportError, ZooError
from zoo.export import atomic, parity
from zoo.export.report import ExportReport, count_examples, report_path
from zoo.progress import stage, track
from zoo.export.savedmodel import build_archive, write_archive

QUANTIZE = (None, "fp16", "int8")
_TENSOR_LIST_HINT = "Lowering tensor list ops is failed"


class _NoFlexRuntime(Exception):
    """The interpreter here cannot run the model's Flex (select TF) ops."""


# ----------------------------------------------------------------------------- conversion


def _representative(data, streams):
    """A converter `representative_dataset`: each batch of `data` (network-input batches; dicts by
    input name for several inputs) split into batch-1 samples, fed by signature input name."""

    def samples():
        samples.count = 0  # read after conversion: how many samples calibrated the model
        for i, batch in enumerate(track(data, "calibrate int8", unit="batches")):
            feeds = parity.validate_feeds(batch, streams, what=f"representative_data batch {i}")
            for j in range(count_examples(feeds)):
                samples.count += 1
                yield {name: v[j : j + 1] for name, v in feeds.items()}
        if samples.count == 0:
            raise ConfigError("representative_data is empty; int8 calibration needs network-input batches")

    samples.count = None
    return samples


def _configure(converter, *, quantize, representative, allow_flex, io_dtype):
    ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        ops.append(tf.lite.OpsSet.TFLITE_BUILTINS_INT8)
        if io_dtype == "int8":
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
    if allow_flex:
        ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
    converter.target_spec.supported_ops = ops


def unsupported_ops(message: str) -> tuple[list[str], list[str]]:
    """(ops that need Flex, ops TFLite has no kernel for at all) named in a converter error."""

    def listed(label):
        found = []
        for line in re.findall(rf"{label}: ([^\n]+)", message):
            found += [op.strip() for op in line.split(",") if op.strip()]
        return found

    flex = listed("TF Select ops")
    flex += re.findall(r"failed to legalize operation 'tf\.(\w+)'", message)  # e.g. TensorList ops not lowered
    return sorted(set(flex)), sorted(set(listed("Custom ops")))


def conversion_error(error: Exception, *, allow_flex: bool) -> ExportError:
    """The ExportError for a failed conversion, naming the ops that builtins cannot express."""
    message = str(error)
    flex, custom = unsupported_ops(message)
    if custom:
        return ExportError(
            f"TFLite has no kernel for {', '.join(custom)}, not even with Flex ops; "
            "replace these operations in the model"
        )
    if flex and not allow_flex:
        hint = ""
        if any(op.startswith("TensorList") for op in flex):
            hint = " (TensorList ops come from recurrent layers: unroll=True over a fixed length avoids them)"
        text = f"TFLite builtin ops cannot express {', '.join(flex)}{hint}; these need Flex (select TF) ops: pass {{}} " \
               "to include them (the app then needs the Flex delegate)"
        return ExportError(text.format("allow_flex=True"), cli=text.format("--allow-flex"))
    errors = [line.strip() for line in message.splitlines() if "error:" in line]
    return ExportError(f"TFLite conversion failed: {errors[-1] if errors else message.strip()[:500]}")


def _while_loops(serve) -> bool:
    graph = serve.get_concrete_function().graph.as_graph_def()
    nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
    return any(n.op in ("While", "StatelessWhile") for n in nodes)


def _convert(saved_model_dir, *, allow_flex, **options) -> bytes:
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, signature_keys=["serving_default"])
    _configure(converter, allow_flex=allow_flex, **options)
    try:
        return converter.convert()
    except ZooError:
        raise
    except Exception as e:
        if not (allow_flex and _TENSOR_LIST_HINT in str(e)):
            raise conversion_error(e, allow_flex=allow_flex) from e
    # The converter's own advice for TensorList ops that do not lower: keep them as Flex ops.
    converter._experimental_lower_tensor_list_ops = False
    try:
        return converter.convert()
    except Exception as e:
        raise conversion_error(e, allow_flex=allow_flex) from e


# ----------------------------------------------------------------------------- running


def tflite_ops(path: str) -> list[str]:
    """Operator names in a .tflite file (builtin names, `Flex...` for select TF ops)."""
    return sorted({d["op_name"] for d in Interpreter(model_path=path)._get_ops_details()} - {"DELEGATE"})


def run_tflite(path: str, feeds: dict) -> list[np.ndarray]:
    """Outputs of the .tflite signature `serving_default` on `feeds` ({signature input name:
    batch}), one batch-1 sample at a time, flattened like the Keras outputs. Inputs are matched
    BY NAME (the interpreter's own input order need not be the Keras model's); int8 inputs and
    outputs are (de)quantised with their parameters."""
    interpreter = Interpreter(model_path=path)
    try:
        interpreter.allocate_tensors()
    except RuntimeError as e:
        if "Select TensorFlow op" in str(e):
            raise _NoFlexRuntime(str(e).splitlines()[0]) from e
        raise ExportError(f"the TFLite model does not load in LiteRT: {e}") from e
    runner = interpreter.get_signature_runner("serving_default")
    in_details = runner.get_input_details()
    if set(in_details) != set(feeds):
        raise ExportError(
            f"the TFLite signature takes inputs {', '.join(sorted(in_details))}; "
            f"the model's are {', '.join(sorted(feeds))}"
        )
    out_details = runner.get_output_details()
    per_sample = []
    for j in track(range(count_examples(feeds)), "verify in LiteRT", unit="inputs"):
        sample = {}
        for name, detail in in_details.items():
            value = feeds[name][j : j + 1]
            if detail["dtype"] == np.int8 and np.issubdtype(value.dtype, np.floating):
                scale, zero = detail["quantization"]
                value = np.clip(np.round(value / scale + zero), -128, 127).astype(np.int8)
            sample[name] = value
        outputs = runner(**sample)
        for name, detail in out_details.items():
            if detail["dtype"] == np.int8:
                scale, zero = detail["quantization"]
                outputs[name] = (outputs[name].astype(np.float32) - zero) * scale
        per_sample.append(parity.ordered_signature_outputs(outputs))
    return [np.concatenate(parts) for parts in zip(*per_sample)]


def _unflatten(outputs: list):
    return outputs[0] if len(outputs) == 1 else outputs


# ----------------------------------------------------------------------------- export


def _check_options(quantize, representative_data, io_dtype):
    if quantize not in QUANTIZE:
        raise ConfigError(f"quantize must be one of {QUANTIZE}; got {quantize!r}")
    if quantize == "int8" and representative_data is None:
        raise ConfigError("int8 quantisation needs representative_data: an iterable of network-input batches")
    if io_dtype not in ("float32", "int8") or (io_dtype == "int8" and quantize != "int8"):
        raise ConfigError(f"io_dtype must be 'float32', or 'int8' with quantize='int8'; got {io_dtype!r}")


def _verify(report, artefact, feeds, expected, names, metric_fn):
    """Run the written file in LiteRT on `feeds` and record its parity with Keras in `report`."""
    try:
        got = run_tflite(artefact, feeds)
    except _NoFlexRuntime as e:
        note = f"not verified: this LiteRT runtime has no Flex delegate ({e})"
        warnings.warn(f"{report.path}: {note}", stacklevel=3)
        report.notes.append(note)
        return
    what = f"TFLite {report.quantize or 'fp32'} model"
    report.outputs = parity.compare(expected, got, names=names, quantize=report.quantize, what=what)
    report.max_abs_diff, _, report.tolerance = parity.summary(report.outputs)
    if metric_fn is not None:
        report.metrics = dict(metric_fn(_unflatten(expected), _unflatten(got)))


def export_tflite(
    model,
    out_path,
    *,
    input_shape=None,
    quantize=None,
    representative_data=None,
    allow_flex=False,
    overwrite=False,
    check_inputs=None,
    metric_fn=None,
    input_contract=None,
    io_dtype="float32",
) -> ExportReport:
    """Write `model` as a .tflite file at `out_path`, verified in LiteRT, atomically.

    - `input_shape`: the fixed network input shape without the batch axis, e.g. (224, 224, 3);
      the file takes batch 1. For a model with several inputs, a dict {input name: shape}
      (inputs left out keep the model's shape, which must then be fixed); the .tflite signature
      `serving_default` takes them by those names, and they are fed by name, never by position.
    - `quantize`: None (float32), "fp16" (float16 weights) or "int8" (full-integer, calibrated on
      `representative_data`, an iterable of network-input float32 batches, dicts by input name
      for several inputs; required for int8).
      `io_dtype="int8"` also makes the int8 model's input and output int8 (default float32).
    - `allow_flex`: allow select TF ops (the app then needs the Flex delegate).
    - `check_inputs`: network-input batches to verify on, a dict by input name for several
      inputs (default: see zoo.export.parity); `input_contract` (with `streams` for several
      inputs) sets their range. Every output is compared; `report.outputs` has one row each.
      `metric_fn(keras_outputs, tflite_outputs) -> dict` (NumPy arrays over all check inputs;
      lists of them for multi-output models) is stored as report.metrics, by convention
      `{"keras": {...}, "tflite_int8": {...}}`.
    The report goes to `report_path(out_path)`. In every failure nothing is left at `out_path`.
    """
    _check_options(quantize, representative_data, io_dtype)
    out_path = os.fspath(out_path)
    atomic.refuse_existing(out_path, overwrite)
    streams = parity.resolve_streams(model, input_shape, input_contract, fixed=True)
    feeds = parity.check_inputs_for(model, streams, check_inputs)
    names, expected = parity.run_keras(model, feeds)

    with atomic.staging_dir(out_path) as tmp:
        saved_model = os.path.join(tmp, "saved_model")
        archive, serve = build_archive(model, streams, 1)
        write_archive(archive, saved_model)
        if quantize == "int8" and _while_loops(serve):
            raise ExportError(
                f"{model.name} has a while loop (a recurrent layer that is not unrolled); int8 calibration "
                "of while loops crashes the TFLite converter: build the recurrent layers with unroll=True"
            )
        representative = _representative(representative_data, streams)
        with stage(f"convert to TFLite {quantize or 'fp32'}"):
            content = _convert(saved_model, quantize=quantize, representative=representative, allow_flex=allow_flex,
                               io_dtype=io_dtype)
        artefact = os.path.join(tmp, "model.tflite")
        with open(artefact, "wb") as f:
            f.write(content)

        report = ExportReport(
            format="tflite",
            path=out_path,
            quantize=quantize,
            input_shape=parity.shapes_of(streams),
            size_bytes=len(content),
            max_abs_diff=None,
            output_scale=parity.output_scale(expected),
            tolerance=None,
            ops=tflite_ops(artefact),
            checked_examples=count_examples(feeds),
            calibration_examples=representative.count if quantize == "int8" else None,
        )
        _verify(report, artefact, feeds, expected, names, metric_fn)
        text = report.to_json()  # fails here, before placing, if metric_fn returned something unserialisable
        atomic.place(artefact, out_path, overwrite=overwrite)
    atomic.write_text(report_path(out_path), text + "\n")
    return report
