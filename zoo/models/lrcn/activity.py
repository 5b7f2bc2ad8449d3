"""LRCN activity recognition (Donahue thesis §4.3) and its single-frame baseline.

A clip of T frames (N, T, H, W, 3) goes through one CNN whose weights are shared over time
(time is folded into the batch, `FoldTime`), fc6 (4096, ReLU, dropout 0.9) feeds an LSTM (256
units for RGB, 1024 for flow), and a linear layer gives class logits at every step: the output
is (N, T, num_classes). The prediction for a clip is the softmax averaged over its frames, for a
video the average over 16-frame clips taken with stride 8 (`zoo.tasks.video_protocol`).

Layer names and sizes are the release's (LisaAnne/lisa-caffe-public, branch lstm_video_deploy,
examples/LRCN_activity_recognition/train_test_lstm_RGB.prototxt), so the
released `.caffemodel` files load by name (`zoo.models.lrcn.convert.load_caffemodel`):

    conv1 96×7×7/2 → pool1 3/2 → norm1 → conv2 384×5×5/2 (group 2) → pool2 → norm2 →
    conv3 512×3×3 → conv4 512×3×3 (group 2) → conv5 384×3×3 (group 2) → pool5 (6×6×384 at 227)
    → fc6 4096 → drop6 0.9 → lstm1 → lstm1-drop 0.5 → fc8-final

This is the thesis's "hybrid of CaffeNet and the Zeiler & Fergus network" (ZF's 7×7/2 first
layer, CaffeNet's pool-then-LRN order, wider layers). `trunk="caffenet"` swaps in CaffeNet's
conv layers (built by `zoo.models.alexnet.caffenet`). The single-frame baseline has fc6, fc7
(4096, dropout 0.5) and fc8-ucf on every frame and no LSTM (train_test_singleFrame_RGB.prototxt).

The Caffe LSTM has no forget-gate bias and is initialised uniform ±0.01 with zero bias; the
Keras LSTM here is set up the same way (`unit_forget_bias=False`). Its gate order differs from
Caffe's (i, f, o, g); `zoo.models.lrcn.convert` reorders released weights.
"""

from __future__ import annotations

import functools

import keras

from zoo.errors import ConfigError
from zoo.layers.lrn import LocalResponseNormalization
from zoo.layers.pooling import CaffeMaxPooling2D
from zoo.models.alexnet.alexnet import caffenet, scaled
from zoo.models.lrcn.cards import CLIP_FRAMES
from zoo.models.lrcn.layers import FoldTime, UnfoldTime


def _hybrid_trunk(x, width):
    """conv1 .. pool5 of the release's CaffeNet/ZF hybrid (train_test_lstm_RGB.prototxt)."""
    w = functools.partial(scaled, width=width)
    x = keras.layers.Conv2D(w(96), 7, strides=2, activation="relu", name="conv1")(x)
    x = CaffeMaxPooling2D(3, 2, name="pool1")(x)
    x = LocalResponseNormalization(5, alpha=1e-4, beta=0.75, name="norm1")(x)
    x = keras.layers.Conv2D(w(384), 5, strides=2, groups=2, activation="relu", name="conv2")(x)
    x = CaffeMaxPooling2D(3, 2, name="pool2")(x)
    x = LocalResponseNormalization(5, alpha=1e-4, beta=0.75, name="norm2")(x)
    x = keras.layers.Conv2D(w(512), 3, padding="same", activation="relu", name="conv3")(x)
    x = keras.layers.Conv2D(w(512), 3, padding="same", groups=2, activation="relu", name="conv4")(x)
    x = keras.layers.Conv2D(w(384), 3, padding="same", groups=2, activation="relu", name="conv5")(x)
    return CaffeMaxPooling2D(3, 2, name="pool5")(x)


def clone_layers(model, x, *, trainable=True):
    """Apply fresh copies (same configs and names, new weights) of a chain model's layers to `x`.

    Reuses a zoo builder's layer definitions (CaffeNet, VGG) inside another model while keeping
    the layer names at the top level, so released weights still load by name.
    """
    for layer in model.layers[1:]:
        clone = layer.__class__.from_config(layer.get_config())
        clone.trainable = trainable
        x = clone(x)
    return x


def frame_trunk(x, trunk, width, frame_shape):
    """pool5 of the per-frame CNN: "hybrid" (the release) or "caffenet"."""
    if trunk == "hybrid":
        return _hybrid_trunk(x, width)
    if trunk == "caffenet":
        return clone_layers(caffenet(include_top=False, input_shape=frame_shape, width=width), x)
    raise ConfigError(f"trunk must be 'hybrid' (the release's CaffeNet/ZF hybrid) or 'caffenet', got {trunk!r}")


def _fc(x, name, units, width, dropout):
    if None in tuple(x.shape[1:]):
        raise ConfigError(f"fc6 reads a flattened pool5 map, so frames need a fixed size; got pool5 {x.shape[1:]}")
    x = keras.layers.Dense(scaled(units, width), activation="relu", name=f"fc{name}")(x)
    return keras.layers.Dropout(dropout, name=f"drop{name}")(x)


def _clip_input(input_shape):
    if len(input_shape) != 4 or input_shape[-1] != 3:
        raise ConfigError(f"input_shape must be (T, H, W, 3) clips (T may be None), got {tuple(input_shape)}")
    return keras.Input(input_shape, name="data")


def caffe_lstm(units, name, *, init=0.01, unroll=False, **kwargs):
    """A Keras LSTM set up like Caffe's: uniform ±init weights, zero bias, no forget-gate offset."""
    uniform = keras.initializers.RandomUniform(-init, init)
    return keras.layers.LSTM(
        units, kernel_initializer=uniform, recurrent_initializer=uniform, bias_initializer="zeros",
        unit_forget_bias=False, unroll=unroll, name=name, **kwargs,
    )


def _lrcn(name, num_classes, input_shape, lstm_units, trunk, width, unroll):
    inputs = _clip_input(input_shape)
    steps = input_shape[0]
    if unroll is None:
        unroll = steps is not None  # a static loop: TFLite builtins and int8 need it (docs/ARCHITECTURE.md)
    if unroll and steps is None:
        raise ConfigError("unroll=True needs a fixed clip length T in input_shape")
    x = FoldTime(name="fold_time")(inputs)
    x = frame_trunk(x, trunk, width, tuple(input_shape[1:]))
    x = keras.layers.Flatten(name="flatten")(x)
    # "end-to-end training needs aggressive dropout (0.9)" (thesis §4.3)
    x = _fc(x, 6, 4096, width, 0.9)
    x = UnfoldTime(name="unfold_time")([x, inputs])
    x = caffe_lstm(lstm_units, "lstm1", return_sequences=True, unroll=unroll)(x)
    x = keras.layers.Dropout(0.5, name="lstm1-drop")(x)
    x = keras.layers.Dense(num_classes, name="fc8-final")(x)
    return keras.Model(inputs, x, name=name)


def _single_frame(name, num_classes, input_shape, trunk, width):
    inputs = _clip_input(input_shape)
    x = FoldTime(name="fold_time")(inputs)
    x = frame_trunk(x, trunk, width, tuple(input_shape[1:]))
    x = keras.layers.Flatten(name="flatten")(x)
    x = _fc(x, 6, 4096, width, 0.5)
    x = _fc(x, 7, 4096, width, 0.5)
    x = keras.layers.Dense(num_classes, name="fc8-ucf")(x)
    x = UnfoldTime(name="unfold_time")([x, inputs])
    return keras.Model(inputs, x, name=name)


def lrcn_activity_rgb(num_classes=101, input_shape=(CLIP_FRAMES, 227, 227, 3), lstm_units=256, trunk="hybrid",
                      width=1, unroll=None):
    """LRCN-fc6 on RGB clips: shared CNN per frame, fc6 into a 256-unit LSTM, logits at every step.

    Donahue thesis §4.3: 68.20% on UCF101 (Table 4.1, 3-split average) vs 67.37% for the
    single-frame model; returns (N, T, num_classes) logits, averaged as probabilities over
    frames and clips by `zoo.tasks.video_protocol`.

    Args:
        num_classes: classes of the per-step softmax (UCF101: 101).
        input_shape: (T, H, W, 3) clips; T may be None (any length); H and W are fixed (fc6
            reads pool5 flattened). 16x227x227 in the release.
        trunk: "hybrid" (the release's CaffeNet/ZF hybrid) or "caffenet".
        width: divides every layer's width (small test configurations); 1 is the paper's net.
        lstm_units: LSTM size; 256 for RGB in the thesis ("little effect" on RGB).
        unroll: unroll the LSTM over T (default: when T is fixed, for TFLite builtins and int8).
    """
    return _lrcn("lrcn_activity_rgb", num_classes, input_shape, lstm_units, trunk, width, unroll)


def lrcn_activity_flow(num_classes=101, input_shape=(CLIP_FRAMES, 227, 227, 3), lstm_units=1024, trunk="hybrid",
                       width=1, unroll=None):
    """LRCN-fc6 on optical-flow clips: as `lrcn_activity_rgb` with a 1024-unit LSTM.

    Donahue thesis §4.3: 77.28% on UCF101 (Table 4.1) vs 74.37% single-frame; 1024 hidden
    units beat 256 by 1.7% on flow. Input: flow images (x, y, magnitude) minus 128.

    Args:
        num_classes: classes of the per-step softmax (UCF101: 101).
        input_shape: (T, H, W, 3) clips; T may be None (any length); H and W are fixed (fc6
            reads pool5 flattened). 16x227x227 in the release.
        trunk: "hybrid" (the release's CaffeNet/ZF hybrid) or "caffenet".
        width: divides every layer's width (small test configurations); 1 is the paper's net.
        lstm_units: LSTM size; 1024 for flow in the thesis.
        unroll: unroll the LSTM over T (default: when T is fixed).
    """
    return _lrcn("lrcn_activity_flow", num_classes, input_shape, lstm_units, trunk, width, unroll)


def lrcn_singleframe_rgb(num_classes=101, input_shape=(CLIP_FRAMES, 227, 227, 3), trunk="hybrid", width=1):
    """Single-frame baseline on RGB: each frame classified alone (fc6, fc7, fc8-ucf), logits per frame.

    Donahue thesis §4.3 baseline, 67.37% on UCF101 (Table 4.1); returns (N, T, num_classes).

    Args:
        num_classes: classes of the per-step softmax (UCF101: 101).
        input_shape: (T, H, W, 3) clips; T may be None (any length); H and W are fixed (fc6
            reads pool5 flattened). 16x227x227 in the release.
        trunk: "hybrid" (the release's CaffeNet/ZF hybrid) or "caffenet".
        width: divides every layer's width (small test configurations); 1 is the paper's net.
    """
    return _single_frame("lrcn_singleframe_rgb", num_classes, input_shape, trunk, width)


def lrcn_singleframe_flow(num_classes=101, input_shape=(CLIP_FRAMES, 227, 227, 3), trunk="hybrid", width=1):
    """Single-frame baseline on optical flow: each flow image classified alone, logits per frame.

    Donahue thesis §4.3 baseline, 74.37% on UCF101 (Table 4.1); returns (N, T, num_classes).

    Args:
        num_classes: classes of the per-step softmax (UCF101: 101).
        input_shape: (T, H, W, 3) clips; T may be None (any length); H and W are fixed (fc6
            reads pool5 flattened). 16x227x227 in the release.
        trunk: "hybrid" (the release's CaffeNet/ZF hybrid) or "caffenet".
        width: divides every layer's width (small test configurations); 1 is the paper's net.
    """
    return _single_frame("lrcn_singleframe_flow", num_classes, input_shape, trunk, width)
