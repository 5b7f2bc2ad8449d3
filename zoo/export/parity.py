"""Checking an exported artefact against the Keras model it came from.

Tolerances (absolute, on every output element):
- fp32 (SavedModel and TFLite): 1e-4 x scale, with scale = max(max |Keras output|, 1). The floor
  of 1 keeps the bound meaningful for outputs near zero; float32 round-trips measure ~1e-7.
- fp16 TFLite (weights stored in float16, ~3 significant digits): 1e-2 x scale.
- int8 TFLite: no elementwise bound (quantisation error is not small elementwise); outputs must
  have the right shapes and be finite, and a task `metric_fn` is reported when given.

Check inputs, when the caller gives none, are drawn deterministically in the range the network
really sees: for 3-channel images, random uint8 RGB pictures passed through the model's
preprocessing (for Caffe BGR mean-subtracted inputs that is [-123, 152]); for other float
inputs with a mean but no std, uniform [-128, 128]; otherwise standard normal; integer inputs
(token ids) are uniform below the smallest Embedding vocabulary in the model.
"""

from __future__ import annotations

import dataclasses
import re

import keras
import numpy as np

from zoo.errors import ConfigError, ExportError, InputError
from zoo.preprocessing import ImagePreprocessing, check_image_batch

FP32_RTOL = 1e-4
FP16_RTOL = 1e-2
SCALE_FLOOR = 1.0
CHECK_BATCH = 2  # samples in the default check inputs
FREE_SIZE = 32  # size given to free (None) axes of the default check inputs, at least min_size


def tolerance(quantize: str | None, output_scale: float) -> float | None:
    scale = max(output_scale, SCALE_FLOOR)
    return {None: FP32_RTOL * scale, "fp16": FP16_RTOL * scale, "int8": None}[quantize]


# ----------------------------------------------------------------------------- input shape


def model_input(model) -> tuple[tuple | None, str]:
    """(shape without batch, dtype) of the model's single input; shape None if not known."""
    try:
        inputs = model.inputs
    except AttributeError:  # a subclassed model: known only from input_shape
        return None, "float32"
    if inputs is None:
        return None, "float32"
    if len(inputs) != 1:
        raise ExportError(
            f"{model.name} has {len(inputs)} inputs; the exporter takes single-input models "
            "(export a wrapper model with one input)"
        )
    return tuple(inputs[0].shape[1:]), str(inputs[0].dtype)


class _Shape:  # check_image_batch reads only .shape
    def __init__(self, shape):
        self.shape = shape


def resolve_input_shape(model, input_shape, contract, *, fixed: bool) -> tuple:
    """The network input shape (no batch axis) to export at, checked against model and contract."""
    model_shape, _ = model_input(model)
    if input_shape is None:
        if fixed:
            raise ConfigError("a TFLite export needs a fixed input_shape, e.g. input_shape=(224, 224, 3)")
        if model_shape is None:
            raise ConfigError(f"{model.name} does not declare its input shape; pass input_shape")
        return model_shape
    shape = tuple(None if d is None else int(d) for d in input_shape)
    if any(d is not None and d <= 0 for d in shape):
        raise InputError(f"input_shape {shape} has a non-positive size")
    if fixed and None in shape:
        raise InputError(f"input_shape {shape} must be fully defined for a TFLite export (no None)")
    if contract is not None and contract.kind == "image" and len(contract.shape) == 3 and len(shape) == 3:
        # The contract says channels (and the least size of a size-free model); the built model
        # says the sizes: a model built at another size than the paper's is exported at its own.
        free = model_shape is None or model_shape[:2] == (None, None)
        relaxed = dataclasses.replace(
            contract, shape=(None, None, contract.shape[-1]), min_size=contract.min_size if free else None
        )
        check_image_batch(_Shape((1, *shape)), relaxed, what=f"input_shape {shape}")
    if model_shape is not None:
        if len(shape) != len(model_shape):
            raise InputError(
                f"input_shape {shape} has rank {len(shape)}; {model.name} takes inputs of shape "
                f"{model_shape} (without the batch axis)"
            )
        for axis, (got, want) in enumerate(zip(shape, model_shape)):
            if want is not None and got != want:
                # axes counted as in a batch (axis 0 = batch), like check_image_batch
                what = f"{got} channels" if axis == len(shape) - 1 else f"size {got} on axis {axis + 1}"
                raise InputError(
                    f"input_shape {shape} has {what}; {model.name} expects {want} (its input is {model_shape})"
                )
    return shape


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


def default_check_inputs(model, shape, dtype, contract, n=CHECK_BATCH, seed=0) -> np.ndarray:
    shape = _concrete(shape, contract)
    rng = np.random.default_rng(seed)
    if np.issubdtype(np.dtype(dtype), np.integer):
        vocab = [layer.input_dim for layer in model._flatten_layers() if isinstance(layer, keras.layers.Embedding)]
        if not vocab:
            raise ConfigError(f"{model.name} takes {dtype} inputs; pass check_inputs to verify the export")
        return rng.integers(0, min(vocab), size=(n, *shape)).astype(dtype)
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


def check_inputs_for(model, shape, dtype, contract, check_inputs) -> np.ndarray:
    if check_inputs is None:
        return default_check_inputs(model, shape, dtype, contract)
    return validate_check_inputs(check_inputs, shape, dtype)


# ----------------------------------------------------------------------------- outputs


def run_keras(model, x) -> list[np.ndarray]:
    """The model's outputs on `x`, flattened (dict outputs in sorted key order, as tf.nest does)."""
    return [keras.ops.convert_to_numpy(t) for t in keras.tree.flatten(model(x, training=False))]


def ordered_signature_outputs(outputs: dict) -> list[np.ndarray]:
    """A signature's output dict as the flattened Keras outputs: `output_<i>` by i, else by key."""
    keys = list(outputs)
    if all(re.fullmatch(r"output_\d+", k) for k in keys):
        keys.sort(key=lambda k: int(k.split("_")[1]))
    else:
        keys.sort()
    return [np.asarray(outputs[k]) for k in keys]


def max_abs_diff(expected: list, got: list, *, what: str) -> float:
    """Largest elementwise difference; ExportError on a structure or shape mismatch or non-finite output."""
    if len(expected) != len(got):
        raise ExportError(f"{what} returned {len(got)} outputs; the Keras model returns {len(expected)}")
    worst = 0.0
    for i, (e, g) in enumerate(zip(expected, got)):
        if e.shape != g.shape:
            raise ExportError(f"{what} output {i} has shape {g.shape}; the Keras model's has {e.shape}")
        if not np.all(np.isfinite(g)):
            raise ExportError(f"{what} output {i} has non-finite values")
        if e.size:
            worst = max(worst, float(np.max(np.abs(e.astype(np.float64) - g.astype(np.float64)))))
    return worst


def output_scale(outputs: list) -> float:
    return max((float(np.max(np.abs(o))) for o in outputs if o.size), default=0.0)


def check_close(expected: list, got: list, *, quantize=None, what: str) -> tuple[float, float, float | None]:
    """(max_abs_diff, output_scale, tolerance); ExportError if the difference exceeds the tolerance."""
    diff = max_abs_diff(expected, got, what=what)
    scale = output_scale(expected)
    tol = tolerance(quantize, scale)
    if tol is not None and not diff <= tol:
        raise ExportError(
            f"{what} differs from the Keras model by up to {diff:.3g} (outputs up to {scale:.3g}); "
            f"the {quantize or 'fp32'} tolerance is {tol:.3g}"
        )
    return diff, scale, tol
