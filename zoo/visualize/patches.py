"""Top-k patches per feature map over a dataset (Zeiler & Fergus 2014; Laptev slides §A.7.1), and
R-CNN's pool5 "unit as detector" view (Donahue thesis §3.1.6.1): one unit at one position, its
top regions ranked over the dataset.

Each activation is located by its unit's receptive field (`zoo.visualize.fields`), so the patch
shown is the whole input region the unit sees.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from zoo.errors import ConfigError
from zoo.visualize.core import batched, check_images, feature_model
from zoo.visualize.fields import field, unit_patch


@dataclasses.dataclass
class TopPatches:
    """For each channel, its k strongest activations: values (C, k), image indices (C, k),
    unit positions (C, k, 2) as (y, x), and the patches (C, k, size_y, size_x, channels)."""

    layer: str
    values: np.ndarray
    images: np.ndarray
    positions: np.ndarray
    patches: np.ndarray


def top_patches(model, layer, images, *, k=9, channels=None, position=None, batch_size=32) -> TopPatches:
    """The `k` input patches (each unit's receptive field) that most activate each channel of `layer`.

    Each (image, channel) contributes its strongest position only, as in Zeiler & Fergus' figures
    (so the k patches come from k different images). `position=(y, x)` ranks one unit per channel
    instead (R-CNN's pool5 view: a fixed cell, its top images). `channels` limits the channels.
    """
    images = check_images(images)
    if k > len(images):
        raise ConfigError(f"k={k} patches need at least {k} images, got {len(images)}")
    fmodel = feature_model(model, layer)
    acts = batched(lambda x: fmodel(x, training=False), images, batch_size)
    if acts.ndim != 4:
        raise ConfigError(f"{layer} outputs shape {acts.shape[1:]}; top patches need a (H, W, C) feature map")
    n, h, w, c = acts.shape
    channels = np.arange(c) if channels is None else np.asarray(channels)
    flat = acts[..., channels].reshape(n, h * w, len(channels))
    if position is not None:
        y, x = position
        if not (0 <= y < h and 0 <= x < w):
            raise ConfigError(f"position {position} is outside {layer}'s {h}x{w} map")
        where = np.full((n, len(channels)), y * w + x)
    else:
        where = flat.argmax(axis=1)  # (n, C): each image's best position per channel
    best = np.take_along_axis(flat, where[:, None, :], axis=1)[:, 0]  # (n, C)
    order = np.argsort(-best, axis=0, kind="stable")[:k].T  # (C, k) image indices
    values = np.take_along_axis(best.T, order, axis=1)
    pos = np.take_along_axis(where.T, order, axis=1)
    positions = np.stack([pos // w, pos % w], axis=-1)
    rf = field(model, layer, images.shape[1:])
    patches = np.stack([np.stack([unit_patch(images[i], rf, tuple(p)) for i, p in zip(order[j], positions[j])])
                        for j in range(len(channels))])
    return TopPatches(layer, values, order, positions, patches)
