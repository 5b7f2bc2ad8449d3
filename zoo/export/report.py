"""`ExportReport`: what an export wrote and how well it matched the Keras model."""

from __future__ import annotations

import dataclasses
import json
import os

from zoo.export import atomic


@dataclasses.dataclass
class ExportReport:
    """Written as JSON beside the artefact (see `report_path`) once the export is verified.

    `outputs` has one row per model output (Keras output names; a dict output's keys):
    `{name, shape, max_abs_diff, output_scale, tolerance}`, each output held to the tolerance of
    its own scale (zoo.export.parity). The top-level `max_abs_diff` is the worst of them,
    `output_scale` the largest max |Keras output| and `tolerance` the loosest bound (None for
    int8, which is judged by `metrics` instead). `max_abs_diff` is None only when the artefact
    could not be run here; `notes` then says why. `input_shape` is the network input without the
    batch axis, or {input name: shape} for a model with several inputs. `checked_examples`: how
    many inputs the parity (and `metrics`) were measured on; `calibration_examples` (int8 only):
    how many samples the converter calibrated the quantisation ranges on.
    """

    format: str  # "savedmodel" | "tflite" | "onnx"
    path: str
    quantize: str | None  # None | "fp16" | "int8"
    input_shape: tuple | dict  # without the batch axis, None where the size is free; by name for several inputs
    size_bytes: int
    max_abs_diff: float | None
    output_scale: float | None
    tolerance: float | None
    metrics: dict = dataclasses.field(default_factory=dict)
    ops: list = dataclasses.field(default_factory=list)  # TFLite builtin (or Flex) op names; ONNX op types
    outputs: list = dataclasses.field(default_factory=list)  # per output: name, shape, parity
    notes: list = dataclasses.field(default_factory=list)
    checked_examples: int | None = None
    calibration_examples: int | None = None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=False, default=_jsonable)


def _jsonable(value):
    if hasattr(value, "item"):  # NumPy scalars in metrics
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def count_examples(feeds) -> int:
    """The batch size of network-input feeds ({input name: array}, all the same length)."""
    return len(next(iter(feeds.values())))


def report_path(artefact: str) -> str:
    """Where the report of `artefact` goes: `<dir>/export.json` inside a SavedModel directory,
    `<name>.export.json` beside a file (`fcn8s_int8.tflite` -> `fcn8s_int8.export.json`)."""
    artefact = os.fspath(artefact)
    if os.path.isdir(artefact):
        return os.path.join(artefact, "export.json")
    return os.path.splitext(artefact)[0] + ".export.json"


def write_report(report: ExportReport, path: str) -> None:
    atomic.write_text(path, report.to_json() + "\n")
