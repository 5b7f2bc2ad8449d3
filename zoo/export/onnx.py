"""ONNX export through Keras's own exporter (`model.export(format="onnx")`, tf2onnx underneath on
the TensorFlow backend), verified in ONNX Runtime against Keras at the fp32 tolerance of
zoo.export.parity, written into a temporary sibling of the target and renamed into place.

The file takes the model's inputs by their signature names (`inputs` for a single-input model,
the Keras input names otherwise) with a free batch axis and the model's free H/W kept free, and
returns its outputs in the order of the flattened Keras outputs. Needs the `onnx` extra
(`pip install 'zoo[onnx]'`: tf2onnx, onnx, onnxruntime).
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings

import numpy as np

from zoo.errors import ConfigError, ExportError
from zoo.export import atomic, parity
from zoo.export.report import ExportReport, report_path

INSTALL_HINT = "pip install 'zoo[onnx]' (tf2onnx, onnx and onnxruntime)"


def _require(module: str):
    try:
        return __import__(module)
    except ImportError as e:
        raise ConfigError(f"ONNX export needs {module}, which is not installed: {INSTALL_HINT}") from e


def session(path: str):
    """An ONNX Runtime CPU inference session of the file at `path`."""
    ort = _require("onnxruntime")
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    try:
        return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own Fail / InvalidGraph types
        raise ExportError(f"the ONNX model does not load in ONNX Runtime: {e}") from e


def run_onnx(path_or_session, feeds: dict) -> list[np.ndarray]:
    """Outputs of the ONNX model on `feeds` ({signature input name: batch}), matched by name."""
    sess = session(path_or_session) if isinstance(path_or_session, str) else path_or_session
    names = [i.name for i in sess.get_inputs()]
    if set(names) != set(feeds):
        raise ExportError(f"the ONNX model takes inputs {', '.join(sorted(names))}; the model's are "
                          f"{', '.join(sorted(feeds))}")
    return [np.asarray(o) for o in sess.run(None, {name: feeds[name] for name in names})]


def _signature(streams):
    import tensorflow as tf

    specs = [tf.TensorSpec((None, *s.shape), s.dtype, name=s.name) for s in streams]
    if not parity.is_multi(streams):
        return specs
    return [{s.name: spec for s, spec in zip(streams, specs)}]


def _split_convolution(layer, inputs, kernel):
    """A grouped convolution as one convolution per group, concatenated (the same arithmetic)."""
    from keras import ops

    xs = ops.split(inputs, layer.groups, axis=-1)
    ks = ops.split(kernel, layer.groups, axis=-1)
    return ops.concatenate([ops.conv(x, k, strides=list(layer.strides), padding=layer.padding,
                                     dilation_rate=layer.dilation_rate, data_format=layer.data_format)
                            for x, k in zip(xs, ks)], axis=-1)


@contextlib.contextmanager
def _grouped_convolutions_split(model):
    """Keras's TensorFlow backend runs a grouped convolution (AlexNet's conv2/4/5) as an XLA-compiled
    function on CPU, a call tf2onnx cannot look into; while exporting, such layers convolve group by
    group instead (their weights untouched)."""
    import keras

    patched = [layer for layer in model._flatten_layers(include_self=False)
               if isinstance(layer, keras.layers.Conv2D) and layer.groups > 1 and layer.data_format == "channels_last"]
    for layer in patched:
        object.__setattr__(layer, "convolution_op", lambda x, k, layer=layer: _split_convolution(layer, x, k))
    try:
        yield
    finally:
        for layer in patched:
            object.__delattr__(layer, "convolution_op")


def _convert(model, streams, path, opset):
    _require("tf2onnx")
    quiet = io.StringIO()
    try:
        # tf2onnx prints its progress on stdout and stderr; the report says what was written
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet), warnings.catch_warnings(), \
                _grouped_convolutions_split(model):
            warnings.simplefilter("ignore", FutureWarning)  # Keras's tf2onnx patch probes np.object
            model.export(path, format="onnx", input_signature=_signature(streams), opset_version=opset,
                         verbose=False)
    except Exception as e:  # tf2onnx raises ValueError, KeyError, RuntimeError, ... for unsupported graphs
        raise ExportError(f"converting {model.name} to ONNX failed: {type(e).__name__}: {e}") from e


def export_onnx(model, out_path, *, input_contract=None, input_shape=None, overwrite=False,
                check_inputs=None, opset=None) -> ExportReport:
    """Write `model` as an ONNX file at `out_path`, verified in ONNX Runtime, atomically.

    `input_shape` (no batch axis; a dict by input name for several inputs) fixes the input shape,
    else the model's own (free H/W stay free); `check_inputs` as for export_savedmodel; `opset`:
    the ONNX opset (default: tf2onnx's). Every output is compared with Keras at the fp32
    tolerance; the report goes to `report_path(out_path)` (`<name>.export.json`). In every
    failure nothing is left at `out_path`.
    """
    out_path = os.fspath(out_path)
    atomic.refuse_existing(out_path, overwrite)
    streams = parity.resolve_streams(model, input_shape, input_contract, fixed=False)
    feeds = parity.check_inputs_for(model, streams, check_inputs)
    names, expected = parity.run_keras(model, feeds)

    with atomic.staging_dir(out_path) as tmp:
        artefact = os.path.join(tmp, "model.onnx")
        _convert(model, streams, artefact, opset)
        got = run_onnx(artefact, feeds)
        outputs = parity.compare(expected, got, names=names, what="ONNX model")
        diff, scale, tol = parity.summary(outputs)
        onnx = _require("onnx")
        graph = onnx.load(artefact, load_external_data=False)
        report = ExportReport(
            format="onnx",
            path=out_path,
            quantize=None,
            input_shape=parity.shapes_of(streams),
            size_bytes=os.path.getsize(artefact),
            max_abs_diff=diff,
            output_scale=scale,
            tolerance=tol,
            ops=sorted({node.op_type for node in graph.graph.node}),
            outputs=outputs,
            notes=[f"opset {max(o.version for o in graph.opset_import if o.domain in ('', 'ai.onnx'))}"],
        )
        text = report.to_json()
        atomic.place(artefact, out_path, overwrite=overwrite)
    atomic.write_text(report_path(out_path), text + "\n")
    return report
