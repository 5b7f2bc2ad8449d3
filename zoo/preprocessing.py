"""Preprocessing that turns uint8 RGB pictures into a network's input, as its weights expect.

It is a Keras layer so that it can sit inside an exported signature (`serve_images`) and run
on every backend; it is kept out of the model itself so that the model's input stays the
original network's input (docs/ARCHITECTURE.md, Models).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from zoo.errors import InputError
from zoo.registry import InputContract


class ImagePreprocessing(keras.layers.Layer):
    """uint8 (or float) RGB images (N, H, W, 3) -> float32 network input.

    Reorders channels to `channel_order`, subtracts `mean` and divides by `std` (both given
    in the network's channel order). Extra channels (depth, HHA) are not handled here.
    """

    def __init__(self, channel_order="BGR", mean=None, std=None, **kwargs):
        super().__init__(**kwargs)
        if channel_order not in ("RGB", "BGR"):
            raise InputError(f"channel_order must be 'RGB' or 'BGR', got {channel_order!r}")
        self.channel_order = channel_order
        self.mean = tuple(float(m) for m in mean) if mean is not None else None
        self.std = tuple(float(s) for s in std) if std is not None else None

    @classmethod
    def from_contract(cls, contract: InputContract, **kwargs):
        return cls(channel_order=contract.channel_order or "RGB", mean=contract.mean, std=contract.std, **kwargs)

    def call(self, images):
        x = ops.cast(images, "float32")
        if self.channel_order == "BGR":
            x = ops.flip(x, axis=-1)
        if self.mean is not None:
            x = x - ops.convert_to_tensor(self.mean, dtype="float32")
        if self.std is not None:
            x = x / ops.convert_to_tensor(self.std, dtype="float32")
        return x

    def get_config(self):
        return {**super().get_config(), "channel_order": self.channel_order, "mean": self.mean, "std": self.std}


def check_image_batch(images, contract: InputContract, *, what="input"):
    """Raise InputError unless `images` is a batch (N, H, W, C) the contract accepts."""
    shape = tuple(images.shape)
    want_channels = contract.shape[-1]
    if len(shape) != 4:
        raise InputError(
            f"{what} must be a batch of images of shape (N, H, W, {want_channels}); got rank {len(shape)} shape {shape}"
        )
    if want_channels is not None and shape[-1] != want_channels:
        hint = ""
        if want_channels == 3 and shape[-1] == 1:
            hint = " (grayscale: repeat the channel three times, or convert the image to RGB)"
        elif want_channels == 3 and shape[-1] == 4:
            hint = " (RGBA: drop the alpha channel, or convert the image to RGB)"
        raise InputError(f"{what} has {shape[-1]} channels; the model expects {want_channels}{hint}")
    dtype = getattr(images, "dtype", None)  # (callers may pass a shape-only stand-in)
    if dtype is not None and np.dtype(getattr(dtype, "as_numpy_dtype", dtype)).kind not in ("u", "i", "f"):
        raise InputError(f"{what} has dtype {dtype}; expected uint8 pixels or float32 values")
    for axis, (got, want) in enumerate(zip(shape[1:3], contract.shape[:2]), start=1):
        if want is not None and got is not None and got != want:
            raise InputError(f"{what} has size {got} on axis {axis}; the model expects {want} (input {contract.shape})")
    if contract.min_size and any(s is not None and s < contract.min_size for s in shape[1:3]):
        raise InputError(
            f"{what} is {shape[1]}x{shape[2]}; the model needs at least {contract.min_size}x{contract.min_size}"
        )
