"""Occlusion sensitivity (Zeiler & Fergus 2014 §4.2; Laptev slides §A.7.4): "Mask parts of input
with occluding square; monitor output".

A grey square slides over the image; for each of its positions the three maps of the slide:
p(true class), the most probable class, and the total activation of the feature map that is
most active on the unoccluded image (the slide's "most active 5th layer feature map").
"""

from __future__ import annotations

import dataclasses

import numpy as np

from zoo.errors import ConfigError
from zoo.visualize.core import batched, check_images, feature_model, probabilities


@dataclasses.dataclass
class OcclusionMaps:
    """Maps over occluder positions (rows, cols); `corners` are the squares' top-left pixels."""

    p_true: np.ndarray
    most_probable: np.ndarray
    feature_activation: np.ndarray | None
    feature_channel: int | None
    corners_y: np.ndarray
    corners_x: np.ndarray
    size: int


def occluded_batch(image, corners_y, corners_x, size, fill):
    """Copies of `image` (H, W, C), one per (y, x) corner, with a `size` square set to `fill`."""
    out = np.repeat(image[None], len(corners_y) * len(corners_x), axis=0)
    i = 0
    for y in corners_y:
        for x in corners_x:
            out[i, y:y + size, x:x + size] = fill
            i += 1
    return out


def occlusion(model, image, true_class, *, size=None, stride=None, fill=0.0, feature_layer=None,
              batch_size=64) -> OcclusionMaps:
    """Slide a `size` square (default a quarter of the image side) with `stride` (default size/4)
    over `image` (a network input, H x W x C) and record the three maps.

    `fill` is the occluder's value in network-input units (0 = the dataset mean for mean-
    subtracted inputs, Zeiler & Fergus' grey). `feature_layer` names the layer whose strongest map
    is followed (its total activation = the sum over the map).
    """
    image = check_images(image, "image")[0]
    h, w = image.shape[:2]
    size = size or max(1, min(h, w) // 4)
    stride = stride or max(1, size // 4)
    if not 0 < size <= min(h, w):
        raise ConfigError(f"occluder size {size} must be between 1 and the image side {min(h, w)}")
    ys, xs = np.arange(0, h - size + 1, stride), np.arange(0, w - size + 1, stride)
    layers = [feature_layer] if feature_layer else []
    fmodel = feature_model(model, layers, with_output=True)
    run = lambda x: fmodel(x, training=False)  # noqa: E731
    base = batched(run, image[None], 1)
    batch = occluded_batch(image, ys, xs, size, fill)
    outs = batched(run, batch, batch_size)
    probs = probabilities(model, outs[-1])
    if not 0 <= true_class < probs.shape[1]:
        raise ConfigError(f"true_class {true_class} is outside the model's {probs.shape[1]} classes")
    shape = (len(ys), len(xs))
    channel, activation = None, None
    if feature_layer:
        totals = base[0].reshape(-1, base[0].shape[-1]).sum(axis=0)
        channel = int(totals.argmax())
        activation = outs[0][..., channel].reshape(len(batch), -1).sum(axis=1).reshape(shape)
    return OcclusionMaps(probs[:, true_class].reshape(shape), probs.argmax(axis=1).reshape(shape), activation,
                         channel, ys, xs, size)
