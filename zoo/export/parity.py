"""Checking an exported artefact against the Keras model it came from.

Tolerances (absolute, on every element of each output, with that output's own scale =
max(max |Keras output|, 1)):
- fp32 (SavedModel and TFLite): 1e-4 x scale. The floor of 1 keeps the bound meaningful for
  outputs near zero; float32 round-trips measure ~1e-7.
- fp16 TFLite (weights stored in float16, ~3 significant digits): 1e-2 x scale.
- int8 TFLite: no elementwise bound (quantisation error is not small elementwise); outputs must
  have the right shapes and be finite, and a task `metric_fn` is reported when given.

Inputs. A single-input model is fed one array (signature argument `inputs`). A model with
several inputs is fed a dict keyed by its Keras input names, which are also the signature
argument names; each input is a `Stream` with its own shape and its contract from the card's
`input_contract.streams` (matched by name; with no streams, each input is known by its dtype
only: lrcn_video_description, whose CRF input depends on the architecture built).

Check inputs, when the caller gives none, are drawn deterministically per input in the range
the network really sees: for 3-channel images, random uint8 RGB pictures passed through the
input's preprocessing (for Caffe BGR mean-subtracted inputs that is [-123, 152]); for other float
inputs with a mean but no std, uniform [-128, 128]; otherwise standard normal; integer inputs
(token ids) are uniform below the vocabulary of the Embedding that reads them (else the smallest
Embedding in the model). Each input gets its own seed, so two inputs of one shape differ.
"""

from __future__ import annotations

import dataclasses
import re

import keras
import numpy as np

from zoo.errors import ConfigError, ExportError, InputError
from zoo.preprocessing import ImagePreprocessing, check_image_batch
from zoo.registry import InputContract

FP32_RTOL = 1e-4
FP16_RTOL = 1e-2
SCALE_FLOOR = 1.0
CHECK_BATCH = 2  # samples in the default check inputs
FREE_SIZE = 32  # size given to free (None) axes of the default check inputs, at least min_size
SINGLE = "inputs"  # the signature argument of a single-input model


def tolerance(quantize: str | None, output_scale: float) -> float | None:
    scale = max(output_scale, SCALE_FLOOR)
    return {None: FP32_RTOL * scale, "fp16": FP16_RTOL * scale, "int8": None}[quantize]


# ----------------------------------------------------------------------------- inputs


@dataclasses.dataclass(frozen=True)
class Stream:
    """One model input as exported: signature name, shape without the batch axis, dtype, contract."""

    name: str  # SINGLE for a single-input model, else the Keras input's name
    shape: tuple
    dtype: str
    contract: InputContract | None


def is_multi(streams) -> bool:
    return [s.name for s in streams] != [SINGLE]


def as_model_input(feeds: dict):
    """What the Keras model is called with: the array of a single-input model, else the dict."""
    return feeds[SINGLE] if list(feeds) == [SINGLE] else feeds


def model_inputs(model) -> list[tuple[str, tuple | None, str]]:
    """(signature name, shape without batch or None if unknown, dtype) of each model input."""
    inputs = getattr(model, "inputs", None)  # a subclassed model: known only from input_shape
    if not inputs:
        return [(SINGLE, None, "float32")]
    if len(inputs) == 1:
        return [(SINGLE, tuple(inputs[0].shape[1:]), str(inputs[0].dtype))]
    return [(t.name, tuple(t.shape[1:]), str(t.dtype)) for t in inputs]


def _stream_contract(model, name, names, contract):
    """The contract of input `name`: the card's stream of that name (other streams of the card,
    for inputs another configuration of the builder has, are not used). A contract without
    streams says nothing about each of several inputs: they are then checked by dtype only."""
    if contract is None or names == [SINGLE]:
        return contract
    if not contract.streams:
        return None
    by_name = {s.name: s for s in contract.streams}
    if name not in by_name:
        raise ConfigError(
            f"the input contract has no stream for input {name!r} of {model.name} "
            f"(its streams: {', '.join(by_name)})"
        )
    return by_name[name]


class _Shape:  # check_image_batch reads only .shape
    def __init__(self, shape):
        self.shape = shape


def _resolve_shape(model, given, model_shape, contract, *, fixed, label) -> tuple:
    if given is None:
        if model_shape is None:
            raise ConfigError(f"{model.name} does not declare its input shape; pass {label}")
        if fixed and None in model_shape:
            if label == "input_shape":
                raise ConfigError("a TFLite export needs a fixed input_shape, e.g. input_shape=(224, 224, 3)")
            raise ConfigError(f"a TFLite export needs a fixed shape for {label} (the model takes {model_shape})")
        return model_shape
    shape = tuple(None if d is None else int(d) for d in given)
    if any(d is not None and d <= 0 for d in shape):
        raise InputError(f"{label} {shape} has a non-positive size")
    if fixed and None in shape:
        raise InputError(f"{label} {shape} must be fully defined for a TFLite export (no None)")
    if contract is not None and contract.kind == "image" and len(contract.shape) == 3 and len(shape) == 3:
        # The contract says channels (and the least size of a size-free model); the built model
        # says the sizes: a model built at another size than the paper's is exported at its own.
        free = model_shape is None or model_shape[:2] == (None, None)
        relaxed = dataclasses.replace(
            contract, shape=(None, None, contract.shape[-1]), min_size=contract.min_size if free else None, streams=()
        )
        check_image_batch(_Shape((1, *shape)), relaxed, what=f"{label} {shape}")
    if model_shape is not None:
        if len(shape) != len(model_shape):
            raise InputError(
                f"{label} {shape} has rank {len(shape)}; {model.name} takes inputs of shape "
                f"{model_shape} (without the batch axis)"
            )
        for axis, (got, want) in enumerate(zip(shape, model_shape)):
            if want is not None and got != want:
                # axes counted as in a batch (axis 0 = batch), like check_image_batch
                what = f"{got} channels" if axis == len(shape) - 1 else f"size {got} on axis {axis + 1}"
                raise InputError(
                    f"{label} {shape} has {what}; {model.name} expects {want} (its input is {model_shape})"
                )
    return shape


def resolve_streams(model, input_shape, contract, *, fixed: bool) -> list[Stream]:
    """The model's inputs to export, with their shapes checked against model and contract.

    `input_shape` is one shape (no batch axis) for a single-input model; for a model with several
    inputs, None or a dict {input name: shape}, an input left out keeping the model's own shape.
    With `fixed` (TFLite), every shape must be fully defined.
    """
    inputs = model_inputs(model)
    names = [name for name, _, _ in inputs]
    if names == [SINGLE]:
        if isinstance(input_shape, dict):
            raise InputError(f"{model.name} has one input; give input_shape as a tuple, e.g. (224, 224, 3)")
        if input_shape is None and fixed:
            raise ConfigError("a TFLite export needs a fixed input_shape, e.g. input_shape=(224, 224, 3)")
        shapes = {SINGLE: input_shape}
    else:
        if input_shape is not None and not isinstance(input_shape, dict):
            raise InputError(
                f"{model.name} has {len(names)} inputs ({', '.join(names)}); give input_shape as a dict "
                "{input name: shape}"
            )
        shapes = dict(input_shape or {})
        unknown = sorted(set(shapes) - set(names))
        if unknown:
            raise InputError(f"input_shape names {', '.join(unknown)}; {model.name}'s inputs are {', '.join(names)}")
    streams = []
    for name, model_shape, dtype in inputs:
        stream_contract = _stream_contract(model, name, names, contract)
        label = "input_shape" if name == SINGLE else f"input_shape[{name!r}]"
        shape = _resolve_shape(model, shapes.get(name), model_shape, stream_contract, fixed=fixed, label=label)
        streams.append(Stream(name, shape, dtype, stream_contract))
    return streams


def shapes_of(streams):
    """For the report: the shape of a single-input model, else {name: shape}."""
    return streams[0].shape if not is_multi(streams) else {s.name: s.shape for s in streams}


# ----------------------------------------------------------------------------- check inputs


def _concrete(shape, contract) -> tuple:
    free = max(FREE_SIZE, (contract.min_size or 0) if contract is not None else 0)
    return tuple(free if d is None else d for d in shape)


def _has_pixel_preprocessing(contract) -> bool:
    return (
        contract is not None
        and contract.kind in ("image", "clip")
        and contract.channel_order is not None
        and contract.shape[-1] == 3
    )


def random_images(shape, n=CHECK_BATCH, seed=0) -> np.ndarray:
    """Deterministic random uint8 RGB pictures of `shape` (free axes given a size by the caller)."""
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


def _vocabulary(model, input_name) -> int | None:
    """input_dim of the Embedding reading input `input_name` directly, else the smallest Embedding's."""
    embeddings = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.Embedding)]
    inputs = {SINGLE: model.inputs[0]} if len(model.inputs) == 1 else {t.name: t for t in model.inputs}
    tensor = inputs.get(input_name)
    direct = [
        layer
        for layer in embeddings
        if any(any(t is tensor for t in node.input_tensors) for node in layer._inbound_nodes)
    ]
    chosen = direct or embeddings
    return min(layer.input_dim for layer in chosen) if chosen else None


def default_check_inputs(model, shape, dtype, contract, n=CHECK_BATCH, seed=0, input_name=SINGLE) -> np.ndarray:
    shape = _concrete(shape, contract)
    rng = np.random.default_rng(seed)
    if np.issubdtype(np.dtype(dtype), np.integer):
        vocab = _vocabulary(model, input_name)
        if vocab is None:
            raise ConfigError(f"{model.name} takes {dtype} inputs; pass check_inputs to verify the export")
        return rng.integers(0, vocab, size=(n, *shape)).astype(dtype)
    if _has_pixel_preprocessing(contract):
        pictures = random_images(shape, n, seed)
        return keras.ops.convert_to_numpy(ImagePreprocessing.from_contract(contract)(pictures)).astype(dtype)
    if contract is not None and contract.mean is not None and contract.std is None:
        return rng.uniform(-128.0, 128.0, size=(n, *shape)).astype(dtype)
    return rng.standard_normal(size=(n, *shape)).astype(dtype)


def validate_check_inputs(x, shape, dtype, *, what="check_inputs") -> np.ndarray:
    """`x` as an array of `dtype`, or InputError if it is not a batch of network inputs of `shape`."""
    x = np.asarray(x)
    want = (None, *shape)
    if x.ndim != len(want) or any(w is not None and g != w for g, w in zip(x.shape, want)):
        raise InputError(f"{what} has shape {x.shape}; expected a batch of network inputs of shape {want}")
    if np.issubdtype(x.dtype, np.floating) != np.issubdtype(np.dtype(dtype), np.floating):
        hint = " (uint8 pictures go through the model's preprocessing first)" if x.dtype == np.uint8 else ""
        raise InputError(f"{what} are {x.dtype}; the network input is {dtype}{hint}")
    if x.shape[0] == 0:
        raise InputError(f"{what} is an empty batch")
    return x.astype(dtype)


def validate_feeds(x, streams, *, what="check_inputs") -> dict[str, np.ndarray]:
    """{signature name: batch} from one array (single input) or a dict keyed by input names."""
    if not is_multi(streams):
        return {SINGLE: validate_check_inputs(x, streams[0].shape, streams[0].dtype, what=what)}
    names = [s.name for s in streams]
    if not isinstance(x, dict) or set(x) != set(names):
        got = sorted(x) if isinstance(x, dict) else type(x).__name__
        raise InputError(f"{what} must be a dict with the inputs {', '.join(names)}; got {got}")
    feeds = {s.name: validate_check_inputs(x[s.name], s.shape, s.dtype, what=f"{what}[{s.name!r}]") for s in streams}
    sizes = {name: len(v) for name, v in feeds.items()}
    if len(set(sizes.values())) > 1:
        raise InputError(f"{what} inputs disagree on the batch size: {sizes}")
    return feeds


def check_inputs_for(model, streams, check_inputs) -> dict[str, np.ndarray]:
    if check_inputs is not None:
        return validate_feeds(check_inputs, streams)
    return {
        s.name: default_check_inputs(model, s.shape, s.dtype, s.contract, seed=i, input_name=s.name)
        for i, s in enumerate(streams)
    }


# ----------------------------------------------------------------------------- outputs


def run_keras(model, feeds: dict) -> tuple[list[str], list[np.ndarray]]:
    """(names, outputs) of the model on `feeds`, flattened as tf.nest does: a dict output in sorted
    key order (named by its keys), a list in order (named after the output layers)."""
    out = model(as_model_input(feeds), training=False)
    flat = [keras.ops.convert_to_numpy(t) for t in keras.tree.flatten(out)]
    if isinstance(out, dict):
        names = sorted(out)
    else:
        names = list(getattr(model, "output_names", None) or [])
        if len(names) != len(flat):
            names = [f"output_{i}" for i in range(len(flat))]
    return names, flat


def ordered_signature_outputs(outputs: dict) -> list[np.ndarray]:
    """A signature's output dict as the flattened Keras outputs: `output_<i>` by i, else by key."""
    keys = list(outputs)
    if all(re.fullmatch(r"output_\d+", k) for k in keys):
        keys.sort(key=lambda k: int(k.split("_")[1]))
    else:
        keys.sort()
    return [np.asarray(outputs[k]) for k in keys]


def output_scale(outputs: list) -> float:
    return max((float(np.max(np.abs(o))) for o in outputs if o.size), default=0.0)


def compare(expected: list, got: list, *, names: list, quantize=None, what: str) -> list[dict]:
    """One row per output: {name, shape, max_abs_diff, output_scale, tolerance}; ExportError on a
    structure or shape mismatch, a non-finite output, or an output beyond its own tolerance."""
    if len(expected) != len(got):
        raise ExportError(f"{what} returned {len(got)} outputs; the Keras model returns {len(expected)}")
    rows = []
    for name, e, g in zip(names, expected, got):
        label = f"{what} output {name!r}" if len(expected) > 1 else what
        if e.shape != g.shape:
            raise ExportError(f"{label} has shape {g.shape}; the Keras model's has {e.shape}")
        if not np.all(np.isfinite(g)):
            raise ExportError(f"{label} has non-finite values")
        diff = float(np.max(np.abs(e.astype(np.float64) - g.astype(np.float64)))) if e.size else 0.0
        scale = output_scale([e])
        tol = tolerance(quantize, scale)
        if tol is not None and not diff <= tol:
            raise ExportError(
                f"{label} differs from the Keras model by up to {diff:.3g} (outputs up to {scale:.3g}); "
                f"the {quantize or 'fp32'} tolerance is {tol:.3g}"
            )
        rows.append({"name": name, "shape": list(e.shape[1:]), "max_abs_diff": diff, "output_scale": scale,
                     "tolerance": tol})
    return rows


def summary(rows: list[dict]) -> tuple[float, float, float | None]:
    """(max_abs_diff, output_scale, tolerance) over all outputs: the worst difference, the largest
    scale and the loosest bound (each output was held to its own)."""
    tols = [r["tolerance"] for r in rows]
    return (
        max((r["max_abs_diff"] for r in rows), default=0.0),
        max((r["output_scale"] for r in rows), default=0.0),
        None if None in tols or not tols else max(tols),
    )
