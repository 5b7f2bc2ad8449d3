"""Receptive fields by layer name, and the input patch a unit sees (Long thesis §2, Table 2.1).

The arithmetic lives in `zoo.analysis.receptive_fields` (size, stride and offset per layer, from
the layers' own configurations); here a layer's row is looked up by name and a unit's field is
cut out of an image.
"""

from __future__ import annotations

import numpy as np

from zoo.analysis import ReceptiveField, receptive_fields
from zoo.errors import ConfigError


def field_table(model, image_shape=None) -> dict[str, ReceptiveField]:
    """{layer name: its ReceptiveField} for `model` at `image_shape` (H, W, C; default the model's)."""
    return {row.name: row for row in receptive_fields(model, image_shape)}


def field(model, layer: str, image_shape=None) -> ReceptiveField:
    """The receptive field of `layer`'s units at `image_shape`."""
    table = field_table(model, image_shape)
    if layer not in table:
        raise ConfigError(f"{model.name} has no layer {layer!r} on its input's path; layers: {', '.join(table)}")
    return table[layer]


def unit_patch(image, rf: ReceptiveField, index, fill=0.0) -> np.ndarray:
    """The (size_y, size_x, C) input patch of unit `index` = (y, x); pixels outside the image are `fill`."""
    image = np.asarray(image)
    (y0, y1), (x0, x1) = rf.box(index)
    out = np.full((y1 - y0, x1 - x0, image.shape[-1]), fill, dtype=image.dtype)
    h, w = image.shape[:2]
    sy, sx = slice(max(y0, 0), min(y1, h)), slice(max(x0, 0), min(x1, w))
    if sy.start < sy.stop and sx.start < sx.stop:
        out[sy.start - y0:sy.stop - y0, sx.start - x0:sx.stop - x0] = image[sy, sx]
    return out
