"""Architecture arithmetic from Keras layer configs: receptive fields, strides, multiply-accumulates.

Receptive fields use the recurrence of Long's thesis §3.2 (composition f_ks ∘ g_k's' =
(f∘g)_{k'+(k−1)s', ss'}), applied layer by layer from the input:

    rf   += (k − 1) · jump        jump *= s

where k is a layer's (dilated) kernel size and s its stride, per spatial axis. Flatten and
global pooling read their whole input map, i.e. act as a kernel of the map's size (a dense
layer after `Flatten` is then a 1×1 conv: AlexNet's fc6 sees 355 pixels, Long thesis Table 3.1).
Padding, cropping, normalisation and element-wise layers leave rf and jump unchanged; where
branches merge (Inception, ResNet) the largest rf and jump are kept. Boundary effects are
ignored, as in the papers.

Each row also carries the `offset`: the input coordinate of the centre of unit 0's field (pixel
i's centre is at i), so unit c's field is centred at offset + c * stride. It follows
caffe.coord_map's rule: a layer with kernel k and leading padding p moves the centre by
((k − 1) / 2 − p) · jump; padding layers move it back by their padding, crops forward.

Both functions walk the model's graph symbolically for a given input shape, so a model built
for one size can be analysed at another.
"""

from __future__ import annotations

import dataclasses
import math

import keras

from zoo.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class ReceptiveField:
    """One layer's receptive field `size` and `stride` (jump) in input pixels, per spatial axis.

    `offset` is the input coordinate of unit 0's field centre per axis (None where a "same"
    padding's split depends on an input size left free).
    """

    name: str
    size: tuple
    stride: tuple
    output_shape: tuple
    offset: tuple | None = None

    def box(self, index) -> tuple:
        """((start, stop), ...) per axis: the input pixels (stop exclusive) in unit `index`'s field.

        The box may reach outside the image (into the padding); callers clip it.
        """
        if self.offset is None:
            raise ConfigError(f"{self.name}'s field offset is unknown: give receptive_fields an input_shape")
        box = []
        for c, o, s, r in zip(index, self.offset, self.stride, self.size):
            start = o + c * s - (r - 1) / 2
            box.append((int(math.floor(start)), int(math.floor(start)) + r))
        return tuple(box)


_GLOBAL = (
    keras.layers.Flatten,
    keras.layers.GlobalAveragePooling1D,
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalAveragePooling3D,
    keras.layers.GlobalMaxPooling1D,
    keras.layers.GlobalMaxPooling2D,
    keras.layers.GlobalMaxPooling3D,
)
# Layers that change the spatial size without changing rf or jump.
_SIZE_ONLY = (
    keras.layers.ZeroPadding1D,
    keras.layers.ZeroPadding2D,
    keras.layers.ZeroPadding3D,
    keras.layers.Cropping1D,
    keras.layers.Cropping2D,
    keras.layers.Cropping3D,
)


_TRANSPOSED = (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose)
_COUNTED = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D, keras.layers.DepthwiseConv1D,
            keras.layers.DepthwiseConv2D, keras.layers.Dense, *_TRANSPOSED)


def _spatial(shape):
    """The spatial axes of a channels-last shape (batch first); () for vectors."""
    return tuple(shape[1:-1])


def _as_tuple(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def _trace(model, input_shape, visit):
    """Run `model`'s graph on symbolic inputs; `visit(layer, inputs, output)` sees every layer call.

    `inputs` and `output` are lists of KerasTensors; nested functional models are walked into.
    """
    if len(model.inputs) != 1:
        raise ConfigError(f"{model.name} has {len(model.inputs)} inputs; the analysis handles single-input models")
    shape = tuple(model.inputs[0].shape[1:]) if input_shape is None else tuple(input_shape)
    inputs = [keras.KerasTensor((1, *shape), dtype=model.inputs[0].dtype)]

    def run(fn_model, args):
        # Functional._run_through_graph calls operation_fn(op)(*args, **kwargs) per node in
        # topological order; the same walk Keras uses for compute_output_spec.
        def operation_fn(op):
            def call(*a, **kw):
                flat_in = [t for t in keras.tree.flatten((a, kw)) if isinstance(t, keras.KerasTensor)]
                if isinstance(op, keras.Model) and hasattr(op, "_run_through_graph"):
                    out = run(op, flat_in)
                else:
                    out = op.compute_output_spec(*a, **kw)
                    visit(op, flat_in, keras.tree.flatten(out))
                return out

            return call

        return fn_model._run_through_graph(args, operation_fn=operation_fn)

    run(model, inputs)


def _leading_padding(layer, kernel, stride, in_space):
    """Pixels of padding before the first input position, per axis (None where unknown)."""
    pad = getattr(layer, "padding", "valid")
    if isinstance(pad, str):
        if pad == "valid":
            return (0,) * len(kernel)
        if pad == "causal":
            return tuple(k - 1 for k in kernel)
        # "same": TensorFlow's and XLA's split, the extra pixel after (keras.ops.conv / max_pool).
        out = []
        for n, k, s in zip(in_space, kernel, stride):
            if n is None and s != 1:
                return None
            total = k - 1 if n is None else max((-(-n // s) - 1) * s + k - n, 0)
            out.append(total // 2)
        return tuple(out)
    return tuple(int(p) for p in pad)  # Caffe pooling: an explicit pad per axis


def _size_change(layer, n):
    """Leading pixels a padding (negative) or cropping (positive) layer removes, per axis."""
    if isinstance(layer, (keras.layers.ZeroPadding1D, keras.layers.ZeroPadding2D, keras.layers.ZeroPadding3D)):
        amounts, sign = layer.padding, -1
    else:
        amounts, sign = layer.cropping, 1
    pairs = [amounts] if n == 1 and not isinstance(amounts[0], (tuple, list)) else amounts
    return tuple(sign * int(pair[0]) for pair in pairs)


def _move(offset, jump, shift):
    """The centre moved by `shift` input-layer pixels (each `jump` input pixels wide)."""
    if offset is None or shift is None:
        return None
    return tuple(o + d * j for o, d, j in zip(offset, shift, jump))


def receptive_fields(model, input_shape=None) -> list[ReceptiveField]:
    """Receptive field size and stride of every layer's output, in input pixels, in graph order.

    `input_shape` (without batch) defaults to the model's; spatial sizes must be known where
    Flatten or global pooling reads a whole map. Raises ConfigError for a layer that changes
    the spatial size in a way the recurrence does not know (e.g. bilinear up-sampling).
    """
    fields: dict[int, tuple] = {}  # id(KerasTensor) -> (rf, jump, offset, the tensor, kept alive so ids stay unique)
    rows = []

    def visit(layer, inputs, outputs):
        known = [fields[id(t)] for t in inputs if id(t) in fields]
        n = len(known[0][0]) if known else len(_spatial(inputs[0].shape))
        rf = tuple(max(f[0][i] for f in known) for i in range(n)) if known else (1,) * n
        jump = tuple(max(f[1][i] for f in known) for i in range(n)) if known else (1,) * n
        # the centre of the widest branch (merged branches are aligned in the zoo's models)
        offset = max(known, key=lambda f: f[0])[2] if known else (0.0,) * n
        in_space, out_space = _spatial(inputs[0].shape), _spatial(outputs[0].shape)
        kernel = stride = None
        shift = (0,) * n
        if isinstance(layer, _TRANSPOSED):
            raise ConfigError(f"receptive_fields does not handle transposed convolutions ({layer.name})")
        if hasattr(layer, "kernel_size") and hasattr(layer, "strides"):
            dilation = _as_tuple(getattr(layer, "dilation_rate", 1), n)
            kernel = tuple(d * (k - 1) + 1 for k, d in zip(_as_tuple(layer.kernel_size, n), dilation))
            stride = _as_tuple(layer.strides, n)
        elif hasattr(layer, "pool_size") and hasattr(layer, "strides"):  # Keras and Caffe pooling
            kernel = _as_tuple(layer.pool_size, n)
            stride = _as_tuple(layer.strides or layer.pool_size, n)
        elif isinstance(layer, _GLOBAL) and in_space:
            if None in in_space:
                raise ConfigError(f"{layer.name} reads its whole {in_space} map: give receptive_fields an input_shape")
            kernel, stride = in_space, (1,) * n
        elif isinstance(layer, _SIZE_ONLY):
            shift = _size_change(layer, n)
        elif not (in_space == out_space or not in_space):
            raise ConfigError(
                f"receptive_fields does not know how {layer.name} ({type(layer).__name__}) maps "
                f"{in_space} to {out_space}"
            )
        if kernel is not None:
            pad = (0,) * n if isinstance(layer, _GLOBAL) else _leading_padding(layer, kernel, stride, in_space)
            shift = None if pad is None else tuple((k - 1) / 2 - p for k, p in zip(kernel, pad))
            rf = tuple(r + (k - 1) * j for r, k, j in zip(rf, kernel, jump))
        offset = _move(offset, jump, shift)
        if kernel is not None:
            jump = tuple(j * s for j, s in zip(jump, stride))
        for t in outputs:
            fields[id(t)] = (rf, jump, offset, t)
        rows.append(ReceptiveField(layer.name, rf, jump, tuple(outputs[0].shape[1:]), offset))

    _trace(model, input_shape, visit)
    return rows


def count_flops(model, input_shape=None, *, by_layer=False):
    """Multiply-accumulates of the convolution and dense layers for one input of `input_shape`.

    `input_shape` (without batch) defaults to the model's. Grouped and depthwise convolutions
    count their actual connections; biases, activations, pooling and normalisation are not
    counted. Returns the total, or with `by_layer=True` a {layer name: MACs} dict.
    """
    counts: dict[str, int] = {}

    def visit(layer, inputs, outputs):
        out_shape, in_channels = outputs[0].shape, inputs[0].shape[-1]
        if isinstance(layer, _COUNTED) and None in out_shape[1:]:
            raise ConfigError(f"{layer.name} has an unknown output size {out_shape}: give count_flops an input_shape")
        if isinstance(layer, keras.layers.DepthwiseConv1D | keras.layers.DepthwiseConv2D):
            macs = math.prod(out_shape[1:]) * math.prod(_as_tuple(layer.kernel_size, len(out_shape) - 2))
        elif isinstance(layer, _TRANSPOSED):
            # Every input position scatters a k×k×C_out kernel.
            kernel = math.prod(_as_tuple(layer.kernel_size, len(out_shape) - 2))
            macs = math.prod(inputs[0].shape[1:]) * kernel * out_shape[-1]
        elif isinstance(layer, keras.layers.Conv1D | keras.layers.Conv2D | keras.layers.Conv3D):
            kernel = math.prod(_as_tuple(layer.kernel_size, len(out_shape) - 2))
            macs = math.prod(out_shape[1:]) * kernel * in_channels // layer.groups
        elif isinstance(layer, keras.layers.Dense):
            macs = math.prod(out_shape[1:]) * in_channels
        else:
            return
        counts[layer.name] = int(macs)

    _trace(model, input_shape, visit)
    return counts if by_layer else sum(counts.values())
